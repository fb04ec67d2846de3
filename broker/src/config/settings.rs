//! The one table of the broker's settings ([`SETTINGS`]): each row is a Kafka setting name,
//! the names Kafka accepts for it as well, how broker.toml's value is read into the
//! [`BrokerConfig`], and how DescribeConfigs shows it (Kafka's type and the value). Reading a
//! file, DescribeConfigs for the broker and the settings table of docs/broker.md (checked by a test) all
//! follow it. The security settings (`ssl.*`, `sasl.enabled.mechanisms`, `super.users`,
//! `[acls.<user>]`) are families read together in `security.rs`; they are not described.

use super::reader::Reader;
pub use super::table::SETTINGS;
use super::{BrokerConfig, ConfigError};

/// Kafka's `ConfigSource` as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    TopicOverride = 1,
    /// Set for this broker while it runs (`kafka-configs --entity-name 0`).
    DynamicBroker = 2,
    /// Set for every broker of the cluster while they run (`--entity-default`).
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
    /// Set for one consumer group (`kafka-configs --entity-type groups`).
    GroupOverride = 8,
}

/// Kafka's `ConfigResource.Type` codes of what the config APIs describe and alter here.
pub mod resource_type {
    pub const TOPIC: i8 = 2;
    pub const BROKER: i8 = 4;
    /// Kafka's per-broker log levels and client-metrics subscriptions: no configs of these here.
    pub const BROKER_LOGGER: i8 = 8;
    pub const CLIENT_METRICS: i8 = 16;
    pub const GROUP: i8 = 32;
    /// Every type Kafka defines, in its order.
    pub const ALL: [i8; 5] = [TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP];
}

/// Kafka's `ConfigType` (DescribeConfigs v3+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One described config entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
    pub config_type: ConfigType,
    /// What this config falls back to when it is not set where `source` says, nearest first:
    /// listed after it among DescribeConfigs' synonyms, as Kafka lists them.
    pub fallbacks: Vec<Fallback>,
}

/// A value beneath a config's own: a broker setting, a layer of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
}

pub(super) type Read = fn(&mut Reader<'_>, &'static str, &mut BrokerConfig) -> Result<(), ConfigError>;
pub(super) type Show = fn(&BrokerConfig) -> String;

/// One broker setting.
pub struct Setting {
    /// Kafka's name, which DescribeConfigs reports.
    pub name: &'static str,
    /// Other names Kafka reads for it, in a unit of their own (`log.retention.hours`); the
    /// setting's own name wins when both are given.
    pub synonyms: &'static [&'static str],
    pub(super) read: Read,
    /// How DescribeConfigs shows it; None for what it does not list.
    pub(super) describe: Option<(ConfigType, Show)>,
}

/// Reads every setting of a file into the defaults, then checks what spans settings.
pub(super) fn resolve(r: &mut Reader<'_>) -> Result<BrokerConfig, ConfigError> {
    let mut c = BrokerConfig::default();
    for setting in SETTINGS {
        (setting.read)(r, setting.name, &mut c)?;
    }
    r.check_listener_names(&c)?;
    r.security(&mut c)?;
    r.acls(&mut c)?;
    Ok(c)
}

/// The broker's settings as DescribeConfigs reports them: a value equal to the default is
/// reported as such, anything else as set in the broker's file.
pub fn describe(config: &BrokerConfig) -> Vec<ConfigEntry> {
    let defaults = BrokerConfig::default();
    SETTINGS
        .iter()
        .filter_map(|s| {
            let (config_type, show) = s.describe?;
            let value = show(config);
            let source = if value == show(&defaults) {
                ConfigSource::Default
            } else {
                ConfigSource::StaticBroker
            };
            Some(ConfigEntry {
                name: s.name,
                value,
                source,
                config_type,
                fallbacks: Vec::new(),
            })
        })
        .collect()
}
