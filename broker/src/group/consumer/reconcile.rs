//! One member's next step towards its target (Kafka's `CurrentAssignmentBuilder`).
//!
//! A member first gives up what its target no longer holds, keeping its epoch, and says so
//! by leaving those partitions out of the partitions it reports as owned; only then does it
//! move to the assignment epoch and receive new partitions, and of those only the ones no
//! other member still holds. The rest follow on later heartbeats, once released.

use super::{Assignment, ConsumerGroup, ConsumerMember, MemberState};

/// Where `member` goes next given the target at `target_epoch`. `owned` is what the member
/// reported holding (`None`: it did not say). The group answers who holds what else.
pub fn next(
    group: &ConsumerGroup,
    member: &ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.epoch == target_epoch => member.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => {
            step(group, member, member.epoch, target_epoch, target, owned)
        }
        MemberState::UnrevokedPartitions => {
            if still_owns(owned, &member.pending_revocation) {
                return member.clone();
            }
            step(group, member, member.epoch + 1, target_epoch, target, owned)
        }
    }
}

/// Whether the member still reports holding any of `revoking`; not reporting counts as yes.
fn still_owns(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else { return true };
    owned
        .iter()
        .any(|(t, ps)| revoking.get(t).is_some_and(|r| !r.is_disjoint(ps)))
}

fn step(
    group: &ConsumerGroup,
    member: &ConsumerMember,
    epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    let mut keep = Assignment::new();
    let mut revoke = Assignment::new();
    let mut add = Assignment::new();
    let mut unreleased = false;
    let topics = target.keys().chain(member.assigned.keys());
    for topic in topics.collect::<std::collections::BTreeSet<_>>() {
        let want = target.get(topic).cloned().unwrap_or_default();
        let have = member.assigned.get(topic).cloned().unwrap_or_default();
        let kept: std::collections::BTreeSet<i32> = have.intersection(&want).copied().collect();
        let gone: std::collections::BTreeSet<i32> = have.difference(&kept).copied().collect();
        let mut free = std::collections::BTreeSet::new();
        for p in want.difference(&kept) {
            if group.owner_epoch(topic, *p).is_some() {
                unreleased = true;
            } else {
                free.insert(*p);
            }
        }
        for (into, set) in [(&mut keep, kept), (&mut revoke, gone), (&mut add, free)] {
            if !set.is_empty() {
                into.insert(topic.clone(), set);
            }
        }
    }
    let mut next = member.clone();
    next.pending_revocation = Assignment::new();
    if !revoke.is_empty() && still_owns(owned, &revoke) {
        next.state = MemberState::UnrevokedPartitions;
        set_epoch(&mut next, epoch);
        next.assigned = keep;
        next.pending_revocation = revoke;
        return next;
    }
    for (topic, ps) in add {
        keep.entry(topic).or_default().extend(ps);
    }
    next.state = match unreleased {
        true => MemberState::UnreleasedPartitions,
        false => MemberState::Stable,
    };
    set_epoch(&mut next, target_epoch);
    next.assigned = keep;
    next
}

/// Kafka's `updateMemberEpoch`: the old epoch becomes the previous one when it changes.
fn set_epoch(m: &mut ConsumerMember, epoch: i32) {
    if m.epoch != epoch {
        m.previous_epoch = m.epoch;
        m.epoch = epoch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(list: &[(&str, &[i32])]) -> Assignment {
        list.iter()
            .map(|(t, ps)| (t.to_string(), ps.iter().copied().collect()))
            .collect()
    }

    fn member(id: &str, epoch: i32, assigned: Assignment) -> ConsumerMember {
        let mut m = ConsumerMember::new(id);
        m.epoch = epoch;
        m.assigned = assigned;
        m
    }

    #[test]
    fn a_new_member_gets_its_free_partitions_at_once() {
        let g = ConsumerGroup::default();
        let m = member("a", 0, Assignment::new());
        let n = next(&g, &m, 1, &a(&[("t", &[0, 1])]), Some(&Assignment::new()));
        assert_eq!((n.epoch, n.previous_epoch, n.state), (1, 0, MemberState::Stable));
        assert_eq!(n.assigned, a(&[("t", &[0, 1])]));
    }

    #[test]
    fn partitions_move_only_after_their_owner_lets_go() {
        let mut g = ConsumerGroup::default();
        g.put(member("a", 1, a(&[("t", &[0, 1])])));
        g.put(member("b", 0, Assignment::new()));
        // Target at epoch 2: a keeps 0, b gets 1.
        let b = next(&g, &g.members["b"], 2, &a(&[("t", &[1])]), Some(&Assignment::new()));
        assert_eq!((b.epoch, b.state), (2, MemberState::UnreleasedPartitions));
        assert!(b.assigned.is_empty(), "t-1 is still a's");
        g.put(b);

        // a is asked to revoke t-1 and stays at epoch 1 while it reports holding it.
        let owned = a(&[("t", &[0, 1])]);
        let a1 = next(&g, &g.members["a"], 2, &a(&[("t", &[0])]), Some(&owned));
        assert_eq!((a1.epoch, a1.state), (1, MemberState::UnrevokedPartitions));
        assert_eq!(a1.assigned, a(&[("t", &[0])]));
        assert_eq!(a1.pending_revocation, a(&[("t", &[1])]));
        g.put(a1);
        let same = next(&g, &g.members["a"], 2, &a(&[("t", &[0])]), None);
        assert_eq!(
            same.state,
            MemberState::UnrevokedPartitions,
            "not reporting is not letting go"
        );
        assert_eq!(g.owner_epoch("t", 1), Some(1));

        // It lets go: epoch 2, and t-1 is free for b.
        let a2 = next(&g, &g.members["a"], 2, &a(&[("t", &[0])]), Some(&a(&[("t", &[0])])));
        assert_eq!((a2.epoch, a2.previous_epoch, a2.state), (2, 1, MemberState::Stable));
        g.put(a2);
        assert_eq!(g.owner_epoch("t", 1), None);
        let b2 = next(&g, &g.members["b"], 2, &a(&[("t", &[1])]), Some(&Assignment::new()));
        assert_eq!((b2.epoch, b2.state), (2, MemberState::Stable));
        assert_eq!(b2.assigned, a(&[("t", &[1])]));
    }

    #[test]
    fn a_member_that_already_dropped_what_it_loses_skips_the_revocation() {
        let mut g = ConsumerGroup::default();
        g.put(member("a", 3, a(&[("t", &[0, 1])])));
        let n = next(&g, &g.members["a"], 4, &a(&[("t", &[0])]), Some(&a(&[("t", &[0])])));
        assert_eq!((n.epoch, n.state), (4, MemberState::Stable));
        assert!(n.pending_revocation.is_empty());
    }
}
