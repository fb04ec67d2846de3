//! What every request handler shares: config, identity, topics, producer ids, append wake-ups.

use std::path::Path;

use base64::Engine;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::auth::users::Users;
use crate::cluster::acls::AclStore;
use crate::cluster::broker_configs::BrokerConfigs;
use crate::cluster::topics::{RegistryError, Topics};
use crate::config::{BrokerConfig, Listener};
use crate::group::Coordinator;
use crate::log::write_atomically;
use crate::metrics::Metrics;

/// The only node id a single-node broker has.
pub const NODE_ID: i32 = 0;

/// Producer ids are handed out from blocks whose end is persisted before the first id of the
/// block is used, so an id is never reused after a restart, at one fsync per block.
const PRODUCER_ID_BLOCK: i64 = 1000;

pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    /// What clients are told to connect to, one per listener of `config.listeners` in its
    /// order: a client is always answered with the address of the listener it came in on.
    pub advertised: Vec<Listener>,
    pub topics: Topics,
    /// The group coordinator's handle (its state lives in its own task).
    pub groups: Coordinator,
    /// The transaction coordinator.
    pub txns: crate::txn::Transactions,
    pub metrics: Metrics,
    /// The users SASL checks against (`users.toml` in the data directory).
    pub users: Users,
    /// The ACL bindings clients created (`acls.json` in the data directory).
    pub acls: AclStore,
    /// Settings changed while the broker runs (`broker_configs.json` in the data directory);
    /// `config` stays what broker.toml says.
    pub dynamic: BrokerConfigs,
    producer_ids: Mutex<ProducerIds>,
    /// Authorization failures already logged, so each is logged once (principal, what, on what).
    denials: Mutex<std::collections::HashSet<String>>,
    /// Bumped after every append; waiting fetches watch it.
    appended: watch::Sender<u64>,
}

struct ProducerIds {
    next: i64,
    block_end: i64,
}

impl Broker {
    pub fn new(
        config: BrokerConfig,
        advertised: Vec<Listener>,
        topics: Topics,
        groups: Coordinator,
        txns: crate::txn::Transactions,
        dynamic: BrokerConfigs,
    ) -> Result<Broker, RegistryError> {
        let cluster_id = load_or_create_cluster_id(&config.data_dir)?;
        let users = Users::open(&config.data_dir);
        let acls = AclStore::open(&config.data_dir)?;
        let block_start = read_i64(&config.data_dir.join("producer_id_block"))?.unwrap_or(0);
        let (appended, _) = watch::channel(0);
        Ok(Broker {
            config,
            cluster_id,
            advertised,
            topics,
            groups,
            txns,
            metrics: Metrics::new(crate::codec::APIS.iter().map(|api| api.key)),
            users,
            acls,
            dynamic,
            producer_ids: Mutex::new(ProducerIds {
                next: block_start,
                block_end: block_start,
            }),
            denials: Mutex::new(std::collections::HashSet::new()),
            appended,
        })
    }

    /// Logs an authorization failure the first time it happens (and counts every one); true
    /// when this was the first time.
    pub fn denied(&self, principal: &str, peer: std::net::SocketAddr, what: &str) -> bool {
        self.metrics.bad_request(crate::metrics::BadRequest::Authorization);
        // Bounded: a client cycling through names cannot grow this without limit.
        const REMEMBERED: usize = 10_000;
        let key = format!("{principal}\0{what}");
        let first = self
            .denials
            .lock()
            .map(|mut d| d.len() < REMEMBERED && d.insert(key))
            .unwrap_or(false);
        if first {
            tracing::warn!(principal = %format!("User:{principal}"), %peer, "authorization failed: {what} (logged once)");
        }
        first
    }

    /// A producer id never handed out before, even across restarts.
    pub fn next_producer_id(&self) -> Result<i64, RegistryError> {
        let mut ids = self.producer_ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.next >= ids.block_end {
            let end = ids.next + PRODUCER_ID_BLOCK;
            write_atomically(&self.config.data_dir, "producer_id_block", end.to_string().as_bytes())?;
            ids.block_end = end;
        }
        ids.next += 1;
        Ok(ids.next - 1)
    }

    pub fn notify_appended(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn watch_appends(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }
}

impl crate::txn::Env for Broker {
    fn topics(&self) -> &Topics {
        &self.topics
    }

    fn next_producer_id(&self) -> Result<i64, kafka_protocol::error::ResponseError> {
        Broker::next_producer_id(self).map_err(|e| {
            tracing::error!(error = %e, "could not persist the producer id block");
            kafka_protocol::error::ResponseError::KafkaStorageError
        })
    }

    fn appended(&self) {
        self.notify_appended();
    }

    fn groups(&self) -> &Coordinator {
        &self.groups
    }

    fn transaction_ended(&self, outcome: &'static str) {
        self.metrics.transaction_ended(outcome);
    }

    fn id_expiration_ms(&self) -> i64 {
        self.config.transactional_id_expiration.as_millis() as i64
    }
}

fn read_i64(path: &Path) -> Result<Option<i64>, RegistryError> {
    match std::fs::read_to_string(path) {
        Ok(s) => s.trim().parse().map(Some).map_err(|_| RegistryError::Corrupt {
            path: path.into(),
            message: format!("expected a number, found {s:?}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io {
            path: path.into(),
            source,
        }),
    }
}

/// Kafka keeps the cluster id in `meta.properties`; so do we, in the same format.
fn load_or_create_cluster_id(dir: &Path) -> Result<String, RegistryError> {
    let path = dir.join("meta.properties");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .find_map(|l| l.strip_prefix("cluster.id="))
            .map(|id| id.trim().to_string())
            .ok_or(RegistryError::Corrupt {
                path,
                message: "no cluster.id line".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Kafka's form (`Uuid.toString()`): 16 random bytes in URL-safe base64, unpadded.
            let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
            let text = format!("# written by sluice broker\nversion=1\nnode.id={NODE_ID}\ncluster.id={id}\n");
            write_atomically(dir, "meta.properties", text.as_bytes())?;
            Ok(id)
        }
        Err(source) => Err(RegistryError::Io { path, source }),
    }
}
