//! Loss and duplicate accounting from the agent's `sluice-agent` / `sluice-seq` headers.
//!
//! An agent numbers its records 0, 1, 2, … and keys them by host, so one agent's records
//! arrive in order from one partition. The first number seen from an agent is the baseline;
//! after it, a jump forward is loss and a number at or below the last is a duplicate (a
//! redelivery after a crash or rebalance).

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct SequenceTracker {
    next: HashMap<String, u64>,
}

/// What one record says about its agent's sequence.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    InOrder,
    Lost(u64),
    Duplicate,
}

impl SequenceTracker {
    pub fn observe(&mut self, agent: &str, seq: u64) -> Seen {
        let Some(next) = self.next.get_mut(agent) else {
            self.next.insert(agent.to_string(), seq + 1);
            return Seen::InOrder;
        };
        if seq < *next {
            return Seen::Duplicate;
        }
        let lost = seq - *next;
        *next = seq + 1;
        if lost == 0 {
            Seen::InOrder
        } else {
            Seen::Lost(lost)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_loss_and_repeats_are_duplicates() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.observe("a", 5), Seen::InOrder);
        assert_eq!(t.observe("a", 6), Seen::InOrder);
        assert_eq!(t.observe("a", 9), Seen::Lost(2));
        assert_eq!(t.observe("a", 9), Seen::Duplicate);
        assert_eq!(t.observe("b", 0), Seen::InOrder);
    }
}
