//! The server-side assignors a member may ask for by name (`group.consumer.assignors`, the
//! first being the default), as Kafka 4 ships them:
//!
//! - `uniform`: spreads every subscribed partition so that no member eligible for a partition
//!   holds two more than another, keeping each partition where the previous target had it
//!   whenever that stays within the bound (sticky), so a joining member takes partitions from
//!   the others without moving the rest.
//! - `range`: per topic, the members subscribed to it in member-id order take consecutive
//!   ranges, the first ones one more when the count does not divide; members subscribed to
//!   the same topics therefore get the same partition numbers of each (co-partitioning).

use std::collections::{BTreeMap, BTreeSet};

use super::Assignment;

pub const UNIFORM: &str = "uniform";
pub const RANGE: &str = "range";
/// Every assignor this broker implements.
pub const KNOWN: [&str; 2] = [UNIFORM, RANGE];

/// What an assignor sees: each member's subscribed topics (those that exist), the partition
/// counts, and the previous target.
pub struct Input<'a> {
    pub members: &'a BTreeMap<String, BTreeSet<String>>,
    pub topics: &'a BTreeMap<String, i32>,
    pub previous: &'a BTreeMap<String, Assignment>,
}

/// Runs the named assignor; `None` for a name it does not know.
pub fn assign(name: &str, input: &Input) -> Option<BTreeMap<String, Assignment>> {
    match name {
        UNIFORM => Some(uniform(input)),
        RANGE => Some(range(input)),
        _ => None,
    }
}

fn empty(input: &Input) -> BTreeMap<String, Assignment> {
    input.members.keys().map(|m| (m.clone(), Assignment::new())).collect()
}

fn range(input: &Input) -> BTreeMap<String, Assignment> {
    let mut out = empty(input);
    for (topic, &partitions) in input.topics {
        let subscribers: Vec<&String> = input
            .members
            .iter()
            .filter(|(_, subs)| subs.contains(topic))
            .map(|(m, _)| m)
            .collect();
        let Some(n) = i32::try_from(subscribers.len()).ok().filter(|n| *n > 0) else {
            continue;
        };
        let (each, extra) = (partitions / n, partitions % n);
        let mut start = 0;
        for (i, m) in (0..).zip(subscribers) {
            let len = each + i32::from(i < extra);
            if len > 0 {
                if let Some(a) = out.get_mut(m) {
                    a.entry(topic.clone()).or_default().extend(start..start + len);
                }
            }
            start += len;
        }
    }
    out
}

fn uniform(input: &Input) -> BTreeMap<String, Assignment> {
    let eligible = |topic: &str| -> Vec<&String> {
        input
            .members
            .iter()
            .filter(|(_, subs)| subs.contains(topic))
            .map(|(m, _)| m)
            .collect()
    };
    // Each partition's owner, starting from the previous target where it is still valid.
    let mut owner: BTreeMap<(&String, i32), &String> = BTreeMap::new();
    let mut load: BTreeMap<&String, usize> = input.members.keys().map(|m| (m, 0)).collect();
    for (topic, &n) in input.topics {
        for (m, subs) in input.members {
            if !subs.contains(topic) {
                continue;
            }
            let kept = input.previous.get(m).and_then(|a| a.get(topic));
            for &p in kept.into_iter().flatten().filter(|&&p| p < n) {
                if let std::collections::btree_map::Entry::Vacant(e) = owner.entry((topic, p)) {
                    e.insert(m);
                    *load.entry(m).or_default() += 1;
                }
            }
        }
    }
    // Partitions without an owner go to the least loaded member that may take them.
    for (topic, &n) in input.topics {
        let candidates = eligible(topic);
        for p in 0..n {
            if owner.contains_key(&(topic, p)) {
                continue;
            }
            if let Some(m) = least_loaded(&candidates, &load) {
                owner.insert((topic, p), m);
                *load.entry(m).or_default() += 1;
            }
        }
    }
    // Moves a partition from a member to an eligible one holding two or more fewer, until
    // none can move: each move shrinks the sum of squared loads, so this ends.
    loop {
        let mut moved = false;
        let keys: Vec<(&String, i32)> = owner.keys().rev().copied().collect();
        for key in keys {
            let from = owner[&key];
            let candidates = eligible(key.0);
            let Some(to) = least_loaded(&candidates, &load) else {
                continue;
            };
            if load[to] + 1 < load[from] {
                owner.insert(key, to);
                *load.entry(from).or_default() -= 1;
                *load.entry(to).or_default() += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let mut out = empty(input);
    for ((topic, p), m) in owner {
        if let Some(a) = out.get_mut(m) {
            a.entry(topic.clone()).or_default().insert(p);
        }
    }
    out
}

fn least_loaded<'a>(candidates: &[&'a String], load: &BTreeMap<&String, usize>) -> Option<&'a String> {
    candidates
        .iter()
        .copied()
        .min_by_key(|m| (load.get(m).copied().unwrap_or(0), *m))
}

#[cfg(test)]
mod tests {
    use super::super::count;
    use super::*;

    fn members(list: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        list.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn parts(a: &Assignment, topic: &str) -> Vec<i32> {
        a.get(topic).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    #[test]
    fn range_gives_consecutive_partitions_the_first_members_one_more() {
        let m = members(&[("a", &["t", "u"]), ("b", &["t", "u"]), ("c", &["t"])]);
        let t = topics(&[("t", 7), ("u", 2)]);
        let previous = BTreeMap::new();
        let out = assign(
            RANGE,
            &Input {
                members: &m,
                topics: &t,
                previous: &previous,
            },
        )
        .unwrap();
        assert_eq!(parts(&out["a"], "t"), [0, 1, 2]);
        assert_eq!(parts(&out["b"], "t"), [3, 4]);
        assert_eq!(parts(&out["c"], "t"), [5, 6]);
        assert_eq!(parts(&out["a"], "u"), [0]);
        assert_eq!(parts(&out["b"], "u"), [1]);
        assert!(parts(&out["c"], "u").is_empty(), "c does not subscribe to u");
    }

    #[test]
    fn uniform_balances_and_a_new_member_takes_only_what_it_needs() {
        let t = topics(&[("t", 6), ("u", 3)]);
        let two = members(&[("a", &["t", "u"]), ("b", &["t", "u"])]);
        let none = BTreeMap::new();
        let first = assign(
            UNIFORM,
            &Input {
                members: &two,
                topics: &t,
                previous: &none,
            },
        )
        .unwrap();
        let loads: Vec<usize> = first.values().map(count).collect();
        assert_eq!(loads.iter().sum::<usize>(), 9);
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{loads:?}"
        );

        let three = members(&[("a", &["t", "u"]), ("b", &["t", "u"]), ("c", &["t", "u"])]);
        let second = assign(
            UNIFORM,
            &Input {
                members: &three,
                topics: &t,
                previous: &first,
            },
        )
        .unwrap();
        assert_eq!(second.values().map(count).collect::<Vec<_>>(), [3, 3, 3]);
        // Nothing moved between a and b: each kept a subset of what it had.
        for m in ["a", "b"] {
            for (topic, ps) in &second[m] {
                assert!(
                    ps.is_subset(&first[m][topic]),
                    "{m} {topic}: {ps:?} not within {:?}",
                    first[m]
                );
            }
        }
    }

    #[test]
    fn uniform_respects_subscriptions_when_they_differ() {
        let m = members(&[("a", &["t"]), ("b", &["t", "u"])]);
        let t = topics(&[("t", 2), ("u", 4)]);
        let none = BTreeMap::new();
        let out = assign(
            UNIFORM,
            &Input {
                members: &m,
                topics: &t,
                previous: &none,
            },
        )
        .unwrap();
        assert!(!out["a"].contains_key("u"));
        assert_eq!(parts(&out["b"], "u"), [0, 1, 2, 3]);
        assert_eq!(
            parts(&out["a"], "t"),
            [0, 1],
            "a can only take t, and b is loaded with u"
        );
        assert_eq!(
            assign(
                "sticky",
                &Input {
                    members: &m,
                    topics: &t,
                    previous: &none
                }
            ),
            None
        );
    }
}
