//! Dynamic broker configs as kept: `<data-dir>/broker_configs.json`, the two layers of
//! `config::dynamic` (`{"cluster_default": {...}, "broker": {...}}`), rewritten atomically on
//! every change and laid over broker.toml when the broker starts, as Kafka keeps them in its
//! metadata log. A change is checked, stored, and then applied to every topic at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use kafka_protocol::error::ResponseError;

use super::topics::{read_json, RegistryError, Topics};
use crate::config::dynamic::{DynamicSettings, Layer};
use crate::config::{BrokerConfig, ConfigEntry};
use crate::log::write_atomically;

const FILE: &str = "broker_configs.json";

/// A refusal: Kafka's error code and a message for the client.
pub type Refusal = (ResponseError, String);

#[derive(Debug)]
pub struct BrokerConfigs {
    dir: PathBuf,
    settings: RwLock<DynamicSettings>,
    edits: Mutex<()>,
}

impl BrokerConfigs {
    /// Reads `broker_configs.json` of `dir` (none yet: no dynamic settings) and returns it with
    /// `file` (broker.toml's settings) under its layers. A file that does not read, or whose
    /// values no longer hold over broker.toml, stops start-up rather than drop a setting.
    pub fn open(dir: &Path, file: &BrokerConfig) -> Result<(BrokerConfigs, BrokerConfig), RegistryError> {
        let path = dir.join(FILE);
        let settings: DynamicSettings = read_json(&path)?;
        let effective = settings
            .apply(file)
            .map_err(|message| RegistryError::Corrupt { path, message })?;
        let store = BrokerConfigs {
            dir: dir.to_path_buf(),
            settings: RwLock::new(settings),
            edits: Mutex::new(()),
        };
        Ok((store, effective))
    }

    /// The broker's settings as DescribeConfigs reports them for `layer` (see
    /// `DynamicSettings::describe`).
    pub fn describe(&self, file: &BrokerConfig, layer: Layer) -> Vec<ConfigEntry> {
        self.read().describe(file, layer)
    }

    /// Replaces `layer` with what `change` makes of it, if the result holds over `file`; stores
    /// it and applies it to the topics unless `validate_only`. Refusals are INVALID_REQUEST, as
    /// Kafka answers them.
    pub fn alter(
        &self,
        layer: Layer,
        change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal>,
        file: &BrokerConfig,
        topics: &Topics,
        validate_only: bool,
    ) -> Result<(), Refusal> {
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = self.read().clone();
        *next.layer_mut(layer) = change(next.layer(layer))?;
        let effective = next.apply(file).map_err(|m| (ResponseError::InvalidRequest, m))?;
        if validate_only {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&next).unwrap_or_default();
        write_atomically(&self.dir, FILE, &bytes).map_err(|e| {
            (
                ResponseError::KafkaStorageError,
                format!("cannot store the dynamic broker configs: {e}"),
            )
        })?;
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = next;
        topics.set_defaults(effective.log).map_err(|e| (e.code, e.message))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, DynamicSettings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        pairs: &[(&str, &str)],
    ) -> impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Refusal> {
        let next: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |_| Ok(next)
    }

    #[test]
    fn a_change_reaches_every_topic_at_once_and_is_laid_over_the_file_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = BrokerConfig::default();
        let (store, effective) = BrokerConfigs::open(dir.path(), &file).unwrap();
        assert_eq!(effective.log, file.log);
        let (topics, _) = Topics::open(&dir.path().join("data"), effective.log).unwrap();
        topics.create("kept", 1, BTreeMap::new(), false).unwrap();
        let own = [("retention.ms".to_string(), "60000".to_string())].into();
        topics.create("own", 1, own, false).unwrap();

        store
            .alter(
                Layer::ClusterDefault,
                set(&[("log.retention.ms", "7200000")]),
                &file,
                &topics,
                false,
            )
            .unwrap();
        store
            .alter(
                Layer::Broker,
                set(&[("log.retention.hours", "1")]),
                &file,
                &topics,
                false,
            )
            .unwrap();
        assert_eq!(topics.get("kept").unwrap().config.retention_ms, Some(3_600_000));
        assert_eq!(
            topics.get("own").unwrap().config.retention_ms,
            Some(60_000),
            "an override stays"
        );

        let (_, reopened) = BrokerConfigs::open(dir.path(), &file).unwrap();
        assert_eq!(reopened.log.retention_ms, Some(3_600_000));
    }

    #[test]
    fn a_refused_or_validate_only_change_stores_and_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = BrokerConfig::default();
        let (store, effective) = BrokerConfigs::open(dir.path(), &file).unwrap();
        let (topics, _) = Topics::open(&dir.path().join("data"), effective.log).unwrap();
        topics.create("t", 1, BTreeMap::new(), false).unwrap();
        let before = topics.get("t").unwrap().config.clone();
        let (code, message) = store
            .alter(
                Layer::Broker,
                set(&[("listeners", "PLAINTEXT://:1")]),
                &file,
                &topics,
                false,
            )
            .unwrap_err();
        assert_eq!(code, ResponseError::InvalidRequest);
        assert!(message.contains("listeners"), "{message}");
        store
            .alter(
                Layer::Broker,
                set(&[("log.segment.bytes", "2097152")]),
                &file,
                &topics,
                true,
            )
            .unwrap();
        assert_eq!(topics.get("t").unwrap().config, before);
        assert!(!dir.path().join(FILE).exists());
    }
}
