//! Group configs: settings of one consumer group that override the broker's for it, as Kafka 4
//! keeps them (KIP-848; `kafka-configs --entity-type groups --entity-name G --alter
//! --add-config consumer.session.timeout.ms=50000`). DescribeConfigs and the two AlterConfigs
//! APIs reach them as resource type GROUP (32); the coordinator reads them on every KIP-848
//! heartbeat, so a change applies from each member's next heartbeat.
//!
//! A group's configs do not need the group to exist, and they outlive its deletion, as in Kafka.
//! They are kept in `<data-dir>/group_configs.json` (`{"group": {"key": "value"}}`), rewritten
//! atomically on every change.
//!
//! Only the keys of KIP-848 consumer groups are kept. Kafka also takes `share.*` and
//! `streams.*` keys for its share and streams groups; this broker has neither kind and refuses
//! those keys rather than store settings nothing reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use kafka_protocol::error::ResponseError;

use crate::cluster::topics::{read_json, RegistryError};
use crate::config::{BrokerConfig, ConfigEntry, ConfigSource, ConfigType, Fallback, GroupConfig};
use crate::log::write_atomically;

const FILE: &str = "group_configs.json";

/// One group config key: the broker setting it overrides and the settings that bound it.
pub struct GroupKey {
    pub name: &'static str,
    /// The broker setting that applies when the group does not set this key.
    pub setting: &'static str,
    default: fn(&GroupConfig) -> Duration,
    /// The lowest and highest value a group may set (`group.consumer.min/max.…`).
    range: fn(&GroupConfig) -> (Duration, Duration),
}

pub const GROUP_KEYS: &[GroupKey] = &[
    GroupKey {
        name: SESSION_TIMEOUT,
        setting: "group.consumer.session.timeout.ms",
        default: |g| g.consumer_session_timeout,
        range: |g| g.consumer_session_range,
    },
    GroupKey {
        name: HEARTBEAT_INTERVAL,
        setting: "group.consumer.heartbeat.interval.ms",
        default: |g| g.consumer_heartbeat_interval,
        range: |g| g.consumer_heartbeat_range,
    },
];

const SESSION_TIMEOUT: &str = "consumer.session.timeout.ms";
const HEARTBEAT_INTERVAL: &str = "consumer.heartbeat.interval.ms";

/// A refusal: Kafka's error code and a message for the client.
pub type Refusal = (ResponseError, String);

/// What a KIP-848 group's members are held to: its own configs over the broker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
}

/// Every group's configs: read by the coordinator, changed one edit at a time.
#[derive(Debug)]
pub struct GroupConfigs {
    dir: PathBuf,
    groups: RwLock<BTreeMap<String, BTreeMap<String, String>>>,
    edits: Mutex<()>,
}

impl GroupConfigs {
    /// Reads `group_configs.json` of `dir` (none yet is no configs). A file that does not read,
    /// or holds a key this broker does not keep, stops start-up rather than drop a setting.
    pub fn open(dir: &Path) -> Result<GroupConfigs, RegistryError> {
        let path = dir.join(FILE);
        let groups: BTreeMap<String, BTreeMap<String, String>> = read_json(&path)?;
        for (group, configs) in &groups {
            for (key, value) in configs {
                if key_of(key).is_none() || value.parse::<u64>().is_err() {
                    return Err(RegistryError::Corrupt {
                        path,
                        message: format!("group '{group}': '{key}={value}' is not a group config this broker keeps"),
                    });
                }
            }
        }
        Ok(GroupConfigs {
            dir: dir.to_path_buf(),
            groups: RwLock::new(groups),
            edits: Mutex::new(()),
        })
    }

    /// The configs set for `group` (empty if none).
    pub fn overrides(&self, group: &str) -> BTreeMap<String, String> {
        self.read().get(group).cloned().unwrap_or_default()
    }

    /// Groups that have configs set, by name.
    pub fn groups(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The session timeout and heartbeat interval of `group`'s members.
    pub fn effective(&self, group: &str, config: &GroupConfig) -> Effective {
        effective(self.read().get(group), config)
    }

    /// Replaces `group`'s configs with what `change` makes of them, if all of it is valid
    /// against `config`, and stores that unless `validate_only`. The change is made under the
    /// edit lock, so two concurrent changes of one group cannot lose either.
    pub fn alter(
        &self,
        group: &str,
        change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal>,
        config: &GroupConfig,
        validate_only: bool,
    ) -> Result<(), Refusal> {
        if group.is_empty() {
            return Err((ResponseError::InvalidRequest, "a group name must not be empty".into()));
        }
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        let next = validate(&change(&self.overrides(group))?, config)?;
        if validate_only {
            return Ok(());
        }
        let mut all = self.read().clone();
        if next.is_empty() {
            all.remove(group);
        } else {
            all.insert(group.to_string(), next);
        }
        let bytes = serde_json::to_vec_pretty(&all).unwrap_or_default();
        write_atomically(&self.dir, FILE, &bytes).map_err(|e| {
            (
                ResponseError::KafkaStorageError,
                format!("cannot store the configs of group '{group}': {e}"),
            )
        })?;
        *self.groups.write().unwrap_or_else(|e| e.into_inner()) = all;
        Ok(())
    }

    /// Every key of `group` as DescribeConfigs shows it: its value, where it was set, and the
    /// broker setting it falls back to.
    pub fn describe(&self, group: &str, config: &BrokerConfig) -> Vec<ConfigEntry> {
        let overrides = self.overrides(group);
        let settings = crate::config::describe(config);
        GROUP_KEYS
            .iter()
            .map(|key| {
                let broker = settings.iter().find(|s| s.name == key.setting);
                let default = millis((key.default)(&config.groups));
                let given = overrides.get(key.name);
                ConfigEntry {
                    name: key.name,
                    value: given.cloned().unwrap_or_else(|| default.clone()),
                    source: match given {
                        Some(_) => ConfigSource::GroupOverride,
                        None => ConfigSource::Default,
                    },
                    config_type: ConfigType::Int,
                    fallbacks: vec![Fallback {
                        name: key.setting,
                        value: default,
                        source: broker.map_or(ConfigSource::Default, |b| b.source),
                    }],
                }
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, BTreeMap<String, String>>> {
        self.groups.read().unwrap_or_else(|e| e.into_inner())
    }
}

fn key_of(name: &str) -> Option<&'static GroupKey> {
    GROUP_KEYS.iter().find(|k| k.name == name)
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

fn effective(overrides: Option<&BTreeMap<String, String>>, config: &GroupConfig) -> Effective {
    // The group's own value if it set one (stored values were checked), the broker's otherwise.
    let get = |name: &str, broker: Duration| {
        overrides
            .and_then(|o| o.get(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(broker, Duration::from_millis)
    };
    Effective {
        session_timeout: get(SESSION_TIMEOUT, config.consumer_session_timeout),
        heartbeat_interval: get(HEARTBEAT_INTERVAL, config.consumer_heartbeat_interval),
    }
}

/// Kafka's checks of a group's configs: known keys, whole numbers, within the broker's
/// bounds, and a session longer than the heartbeat interval. The messages are Kafka's, word for
/// word, so that tools print the same refusal from either broker. Returns the configs with each
/// value as its number of milliseconds, as they are stored.
fn validate(next: &BTreeMap<String, String>, config: &GroupConfig) -> Result<BTreeMap<String, String>, Refusal> {
    let invalid = |message: String| (ResponseError::InvalidConfig, message);
    let mut normalised = BTreeMap::new();
    for (name, value) in next {
        let Some(key) = key_of(name) else {
            if name.starts_with("share.") || name.starts_with("streams.") {
                return Err(invalid(format!(
                    "'{name}' configures share or streams groups, which this broker does not have"
                )));
            }
            return Err(invalid(format!("Unknown group config name: {name}")));
        };
        let ms: u64 = value.trim().parse().map_err(|_| {
            invalid(format!(
                "Invalid value {value} for configuration {name}: Not a number of type INT"
            ))
        })?;
        let (min, max) = (key.range)(config);
        if !(min..=max).contains(&Duration::from_millis(ms)) {
            return Err(invalid(format!(
                "{name} must be in the range {} to {} inclusive.",
                min.as_millis(),
                max.as_millis()
            )));
        }
        normalised.insert(name.clone(), ms.to_string());
    }
    let e = effective(Some(&normalised), config);
    if e.session_timeout <= e.heartbeat_interval {
        return Err(invalid(format!(
            "{SESSION_TIMEOUT} ({} ms) must be longer than {HEARTBEAT_INTERVAL} ({} ms)",
            e.session_timeout.as_millis(),
            e.heartbeat_interval.as_millis()
        )));
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A change that replaces a group's configs with `pairs`.
    fn to(
        pairs: &[(&str, &str)],
    ) -> impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal> {
        let next = set(pairs);
        move |_| Ok(next)
    }

    #[test]
    fn a_group_config_overrides_the_broker_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = GroupConfig::default();
        let store = GroupConfigs::open(dir.path()).unwrap();
        let broker = store.effective("g", &config);
        assert_eq!(broker.session_timeout, config.consumer_session_timeout);
        store
            .alter("g", to(&[(SESSION_TIMEOUT, " 50000")]), &config, false)
            .unwrap();
        let reopened = GroupConfigs::open(dir.path()).unwrap();
        let e = reopened.effective("g", &config);
        assert_eq!(e.session_timeout, Duration::from_millis(50_000));
        assert_eq!(e.heartbeat_interval, config.consumer_heartbeat_interval);
        assert_eq!(reopened.effective("other", &config), broker);
        assert_eq!(reopened.groups(), vec!["g".to_string()]);
        // Removing the last key removes the group from the file.
        reopened.alter("g", to(&[]), &config, false).unwrap();
        assert!(GroupConfigs::open(dir.path()).unwrap().groups().is_empty());
    }

    #[test]
    fn validate_only_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = GroupConfigs::open(dir.path()).unwrap();
        let config = GroupConfig::default();
        store
            .alter("g", to(&[(HEARTBEAT_INTERVAL, "6000")]), &config, true)
            .unwrap();
        assert!(store.overrides("g").is_empty());
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn values_are_checked_as_kafka_checks_them() {
        let config = GroupConfig::default();
        let refused = |pairs: &[(&str, &str)]| validate(&set(pairs), &config).unwrap_err();
        for pairs in [
            &[(SESSION_TIMEOUT, "10000")][..],
            &[(SESSION_TIMEOUT, "70000")],
            &[(HEARTBEAT_INTERVAL, "1000")],
            &[(HEARTBEAT_INTERVAL, "abc")],
            &[("foo.bar", "1")],
            &[("share.session.timeout.ms", "50000")],
        ] {
            let (code, message) = refused(pairs);
            assert_eq!(code, ResponseError::InvalidConfig, "{pairs:?}: {message}");
            assert!(message.contains(pairs[0].0), "{message}");
        }
        // The session must outlast the heartbeat interval, the broker's values filling in.
        let mut wide = config.clone();
        wide.consumer_heartbeat_range.1 = Duration::from_secs(60);
        let (_, message) = validate(&set(&[(HEARTBEAT_INTERVAL, "50000")]), &wide).unwrap_err();
        assert!(message.contains("must be longer"), "{message}");
        validate(
            &set(&[(SESSION_TIMEOUT, "60000"), (HEARTBEAT_INTERVAL, "15000")]),
            &config,
        )
        .unwrap();
    }

    #[test]
    fn a_file_with_a_key_it_does_not_keep_stops_start_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), r#"{"g": {"share.session.timeout.ms": "1"}}"#).unwrap();
        let err = GroupConfigs::open(dir.path()).expect_err("refused").to_string();
        assert!(err.contains(FILE) && err.contains("share.session.timeout.ms"), "{err}");
    }

    #[test]
    fn describe_names_the_source_and_the_broker_setting() {
        let dir = tempfile::tempdir().unwrap();
        let store = GroupConfigs::open(dir.path()).unwrap();
        let broker = BrokerConfig::default();
        store
            .alter("g", to(&[(SESSION_TIMEOUT, "50000")]), &broker.groups, false)
            .unwrap();
        let entries = store.describe("g", &broker);
        let session = entries.iter().find(|e| e.name == SESSION_TIMEOUT).unwrap();
        assert_eq!(
            (session.value.as_str(), session.source),
            ("50000", ConfigSource::GroupOverride)
        );
        let fallback = &session.fallbacks[0];
        assert_eq!(
            (fallback.name, fallback.value.as_str(), fallback.source),
            ("group.consumer.session.timeout.ms", "45000", ConfigSource::Default)
        );
        let heartbeat = entries.iter().find(|e| e.name == HEARTBEAT_INTERVAL).unwrap();
        assert_eq!(
            (heartbeat.value.as_str(), heartbeat.source),
            ("5000", ConfigSource::Default)
        );
    }
}
