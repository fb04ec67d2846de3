//! The JSON data format as the workers read it from the topic (`model::json::parse`), with the
//! timestamp's units given and guessed; what parses must encode again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    for units in [None, Some(1), Some(1_000_000_000)] {
        if let Ok(metric) = model::json::parse(text, units) {
            let _ = model::json::encode(&metric, units.unwrap_or(1));
        }
    }
});
