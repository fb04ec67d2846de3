//! The coordinator's timers and clock, both on `tokio::time` so that tests can pause time and
//! let it jump straight to the next deadline.
//!
//! Timers live in one ordered map owned by the coordinator task; its loop sleeps until the
//! earliest deadline. Scheduling returns a [`TimerId`] that the owner (a group or a member)
//! keeps, and replacing a timer cancels the old entry, so the map holds one entry per live
//! timer and a heartbeat costs one removal and one insertion.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

/// Why a timer was set. Each names its group; what it means is decided when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// A member sent no heartbeat (or, if new, did not complete its join) in time.
    Session { group: String, member_id: String },
    /// A member id handed out with MEMBER_ID_REQUIRED was not used to join in time.
    PendingMember { group: String, member_id: String },
    /// The join phase ends: the rebalance timeout.
    Join { group: String },
    /// The join phase of a new group ends unless more members keep arriving
    /// (`group.initial.rebalance.delay.ms`); `delay` and `remaining` as in Kafka's
    /// `tryCompleteInitialRebalanceElseSchedule`.
    InitialJoin {
        group: String,
        delay: Duration,
        remaining: Duration,
    },
    /// Members that got their JoinGroup answer but sent no SyncGroup for `generation`.
    Sync { group: String, generation: i32 },
    /// A member of a consumer group (KIP-848) sent no heartbeat within its session.
    ConsumerSession { group: String, member_id: String },
    /// A member of a consumer group did not give up its revoked partitions within its
    /// rebalance timeout, at member epoch `epoch`.
    ConsumerRebalance {
        group: String,
        member_id: String,
        epoch: i32,
    },
}

/// Identifies one scheduled timer, for cancelling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId(Instant, u64);

#[derive(Debug, Default)]
pub struct Timers {
    entries: BTreeMap<TimerId, Timer>,
    next: u64,
}

impl Timers {
    pub fn schedule(&mut self, after: Duration, timer: Timer) -> TimerId {
        self.next += 1;
        let id = TimerId(Instant::now() + after, self.next);
        self.entries.insert(id, timer);
        id
    }

    /// Cancels `id` (if it has not fired) and schedules `timer` in its place.
    pub fn replace(&mut self, id: &mut Option<TimerId>, after: Duration, timer: Timer) {
        self.cancel(id);
        *id = Some(self.schedule(after, timer));
    }

    pub fn cancel(&mut self, id: &mut Option<TimerId>) {
        if let Some(id) = id.take() {
            self.entries.remove(&id);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries.keys().next().map(|id| id.0)
    }

    /// Removes and returns the earliest timer that is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerId, Timer)> {
        match self.entries.first_key_value() {
            Some((id, _)) if id.0 <= now => self.entries.pop_first(),
            _ => None,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Wall-clock milliseconds that advance with tokio's clock: commit timestamps and offset expiry
/// follow `tokio::time::pause()`/`advance()` in tests, and the real clock otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
    wall_ms_at_start: i64,
}

impl Clock {
    pub fn new(wall_ms_now: i64) -> Clock {
        Clock {
            started: Instant::now(),
            wall_ms_at_start: wall_ms_now,
        }
    }

    pub fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.wall_ms_at_start.saturating_add(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(group: &str) -> Timer {
        Timer::Join { group: group.into() }
    }

    #[tokio::test(start_paused = true)]
    async fn timers_fire_in_deadline_order_and_cancelled_ones_never() {
        let mut t = Timers::default();
        let mut b = Some(t.schedule(Duration::from_secs(2), join("b")));
        t.schedule(Duration::from_secs(1), join("a"));
        t.schedule(Duration::from_secs(3), join("c"));
        t.cancel(&mut b);
        assert_eq!(b, None);
        assert!(t.pop_due(Instant::now()).is_none());
        tokio::time::advance(Duration::from_secs(5)).await;
        let fired: Vec<Timer> = std::iter::from_fn(|| t.pop_due(Instant::now()).map(|(_, x)| x)).collect();
        assert_eq!(fired, vec![join("a"), join("c")]);
        assert_eq!(t.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn replacing_a_timer_leaves_one_entry() {
        let mut t = Timers::default();
        let mut id = None;
        for _ in 0..10 {
            t.replace(&mut id, Duration::from_secs(6), join("g"));
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_deadline(), Some(Instant::now() + Duration::from_secs(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_follows_paused_time() {
        let clock = Clock::new(1_000);
        tokio::time::advance(Duration::from_millis(2_500)).await;
        assert_eq!(clock.now_ms(), 3_500);
    }
}
