//! Kafka client properties files (`--command-config`, `kafka-client::Properties`), with
//! `${VAR}` expansion from a fixed environment.
#![no_main]

use std::path::Path;

use kafka_client::Properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let lookup = |name: &str| (name == "SECRET").then(|| "s3cret".to_string());
    if let Ok(properties) = Properties::parse(text, Path::new("client.properties"), lookup) {
        let _ = properties.redact("a message naming s3cret");
    }
});
