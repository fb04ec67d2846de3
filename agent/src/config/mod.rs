//! `config/agent.toml`: a subset of Telegraf's config, with Telegraf's names and defaults.
//!
//! Every struct denies unknown keys, so a Telegraf setting sluice does not implement stops
//! start-up with a message naming the file, the line, the table and the key, instead of being
//! silently ignored. [`Config::load`] reads and checks a file; [`Config::validate`] checks what
//! serde cannot (non-empty brokers, librdkafka keys that clash with first-class options); it
//! runs again after command-line flags override the file.

mod agent;
mod error;
mod inputs;
mod kafka;
mod value;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use agent::AgentConfig;
pub use error::ConfigError;
pub use inputs::{CpuConfig, MemConfig};
pub use kafka::{Compression, DataFormat, KafkaConfig};
pub use value::Duration;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub agent: AgentConfig,
    /// Tags added to every metric (Telegraf's `[global_tags]`).
    #[serde(default)]
    pub global_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub inputs: Inputs,
    #[serde(default)]
    pub outputs: Outputs,
}

/// `[[inputs.*]]`: the inputs sluice implements.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    #[serde(default)]
    pub cpu: Vec<CpuConfig>,
    #[serde(default)]
    pub mem: Vec<MemConfig>,
}

/// `[[outputs.*]]`: Kafka only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    #[serde(default)]
    pub kafka: Vec<KafkaConfig>,
}

impl Config {
    /// Reads `path`, expands `${VAR}` from the environment (outside comments, as Telegraf
    /// does), parses and validates it. No error shows a value that came from the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        kafka_client::load_toml(path, Config::validate)
    }

    /// Parses TOML text without validating it (flags may still fill in what is missing).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        kafka_client::parse_toml(text)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.agent.validate()?;
        for c in &self.inputs.cpu {
            c.field_filter()?;
        }
        for m in &self.inputs.mem {
            m.field_filter()?;
        }
        match self.outputs.kafka.as_slice() {
            [] => Ok(()),
            [kafka] => kafka.validate(),
            _ => Err(ConfigError::invalid(
                "outputs.kafka",
                "one [[outputs.kafka]] table",
                format!("{} of them", self.outputs.kafka.len()),
            )),
        }
    }

    /// The Kafka output, if the file has one.
    pub fn kafka(&self) -> Option<&KafkaConfig> {
        self.outputs.kafka.first()
    }
}

#[cfg(test)]
mod tests;
