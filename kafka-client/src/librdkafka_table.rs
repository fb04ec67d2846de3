//! A component's `[librdkafka]` table: librdkafka properties passed through as written, for what
//! sluice has no option of its own (Telegraf's kafka plugins have no such table; librdkafka's
//! property names are documented in its CONFIGURATION.md). librdkafka takes every value as a
//! string, so a TOML number or boolean is written out; a table or an array is a mistake.

use std::collections::BTreeMap;

use rdkafka::config::ClientConfig;
use serde::Deserialize;

use crate::ConfigError;

/// The `[librdkafka]` table of the agent's `[[outputs.kafka]]`, of the workers and of the lag
/// exporter: property name → value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Librdkafka(BTreeMap<String, toml::Value>);

impl Librdkafka {
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    /// Sets `key` (tests and embedders; a config file sets it in its table).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<toml::Value>) {
        self.0.insert(key.into(), value.into());
    }

    /// Refuses a value librdkafka could not take, naming it `{prefix}librdkafka."key"`.
    pub fn check(&self, prefix: &str) -> Result<(), ConfigError> {
        match self.0.iter().find(|(_, v)| as_setting(v).is_none()) {
            Some((key, value)) => Err(ConfigError::invalid(
                format!("{prefix}librdkafka.\"{key}\""),
                "a string, number or boolean",
                value.type_str(),
            )),
            None => Ok(()),
        }
    }

    /// Each property as librdkafka reads it.
    pub fn settings(&self) -> impl Iterator<Item = (&str, String)> {
        self.0.iter().filter_map(|(k, v)| Some((k.as_str(), as_setting(v)?)))
    }

    /// Sets every property on `config`, over what was set before.
    pub fn apply(&self, config: &mut ClientConfig) {
        for (key, value) in self.settings() {
            config.set(key, value);
        }
    }
}

fn as_setting(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_become_librdkafka_strings_and_other_values_are_refused_by_name() {
        let table: Librdkafka = toml::from_str(
            "\"session.timeout.ms\" = 6000\n\"enable.partition.eof\" = false\n\"client.rack\" = \"a\"\n",
        )
        .unwrap();
        table.check("").unwrap();
        let settings: Vec<(&str, String)> = table.settings().collect();
        assert_eq!(
            settings,
            [
                ("client.rack", "a".to_string()),
                ("enable.partition.eof", "false".to_string()),
                ("session.timeout.ms", "6000".to_string()),
            ]
        );
        let bad: Librdkafka = toml::from_str("\"debug\" = [\"all\"]\n").unwrap();
        let e = bad.check("outputs.kafka.").unwrap_err().to_string();
        assert!(
            e.contains("outputs.kafka.librdkafka.\"debug\"") && e.contains("array"),
            "{e}"
        );
    }
}
