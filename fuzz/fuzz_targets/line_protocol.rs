//! Influx line protocol as the workers read it from the topic (`model::line_protocol::parse`);
//! what parses must encode again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::line_protocol::{self, Options};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(metrics) = line_protocol::parse(text) {
        for metric in &metrics {
            let _ = line_protocol::encode(metric, Options::default());
        }
    }
});
