//! Waiting in a test for an event: a check polled until it holds or its time runs out. The one
//! poller of the workspace's end-to-end tests (`support::wait_for` and
//! `workers_support::eventually` are built on it).

use std::time::{Duration, Instant};

/// Polls `check` every `every` until it holds or `limit` passes; returns whether it held (it is
/// checked once more at the deadline). Sleeps the calling thread: the body of a multi-thread
/// tokio test does not run on a runtime worker.
pub fn until(limit: Duration, every: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(every);
    }
    check()
}
