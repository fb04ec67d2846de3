//! The broker's request path: the input is what a client sent on one connection before closing
//! it (size-prefixed frames), served by an in-process broker with a temporary data directory
//! through the same connection loop as a socket's: framing, decoding and every API's handler.
//! One broker serves every input, so state (topics, groups, producers) builds up as it would
//! under a long-lived hostile client. Its clock is tokio's paused one: a fetch's `max_wait_ms`
//! or a rebalance's timeout passes at once instead of stalling the fuzzer. Each input gets
//! [`CLIENT_PATIENCE`] of that clock and is then dropped, as a client that gives up: without a
//! bound a fetch asking for `max_wait_ms` = i32::MAX makes the broker's periodic loops (cleaner,
//! retention, transaction timeouts) run for 24 virtual days, which is minutes of real CPU.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

const CLIENT_PATIENCE: Duration = Duration::from_secs(60);

struct Harness {
    runtime: Runtime,
    broker: broker::RunningBroker,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime");
        // Kept for the process' life; fuzz/run.sh points TMPDIR at a directory it removes.
        let dir = tempfile::tempdir().expect("a temporary data dir").keep();
        let mut config = broker::BrokerConfig::ephemeral(&dir);
        config.http_listen = None;
        // Random topic names would otherwise create partitions without end (issue #20 part 5).
        config.max_partitions = 200;
        let broker = runtime.block_on(broker::start(config)).expect("the broker starts");
        Harness { runtime, broker }
    })
}

fuzz_target!(|input: &[u8]| {
    let h = harness();
    // The timer is made inside the runtime: its clock is the runtime's paused one.
    let _ = h
        .runtime
        .block_on(async { tokio::time::timeout(CLIENT_PATIENCE, h.broker.serve_bytes(input, false)).await });
});
