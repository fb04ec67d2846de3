//! The TOML config loaders: `${VAR}` expansion, then the agent's, the workers', the lag
//! exporter's and the broker's config files parsed and checked as each component does.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let _ = kafka_client::expand_env(text, |name| (name == "SECRET").then(|| "s3cret".to_string()));
    let _ = agent::Config::parse(text);
    let _ = workers::Config::parse(text);
    let _ = lag_exporter::Config::parse(text);
    let _ = broker::BrokerConfig::parse(text, Path::new("broker.toml"));
});
