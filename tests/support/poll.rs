//! Waiting in a test for an event: a check polled until it holds or its time runs out. The one
//! poller of the workspace's end-to-end tests (`support::wait_for` and
//! `workers_support::eventually` are built on it), and [`until_async`] for checks that await.

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

/// [`until`] for a check that awaits (an HTTP query, a scrape): polls it every `every` without
/// blocking the runtime, until it holds or `limit` passes (checked once more at the deadline).
#[allow(dead_code)] // not every test crate that includes `support` polls asynchronously
pub async fn until_async(limit: Duration, every: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(every).await;
    }
    check().await
}
