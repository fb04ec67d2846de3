//! Kafka's command-line tools under their usual option names, for the bundled broker and any
//! Kafka cluster: `sluice topics` (kafka-topics.sh), `sluice groups` (kafka-consumer-groups.sh),
//! `sluice configs` (kafka-configs.sh), `sluice produce` / `sluice consume`
//! (the console producer and consumer). They are ordinary Kafka clients (librdkafka).

pub mod configs;
pub mod console;
pub mod groups;
pub mod topics;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use kafka_client::Properties;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;
use rdkafka::types::RDKafkaErrorCode;

/// How long a tool waits for the cluster before saying it cannot be reached.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the cluster is and how to connect to it: the options every tool shares.
#[derive(Args)]
pub struct Cluster {
    /// The Kafka cluster to talk to, HOST:PORT[,HOST:PORT…].
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap_server: String,
    /// A Kafka client properties file for TLS and SASL (security.protocol, sasl.mechanism,
    /// sasl.jaas.config, ssl.truststore.location, … or librdkafka's names; ${VAR} is read from
    /// the environment). The console tools also take it as --producer.config / --consumer.config.
    #[arg(
        long = "command-config",
        visible_alias = "producer.config",
        visible_alias = "consumer.config",
        value_name = "FILE"
    )]
    command_config: Option<PathBuf>,
    /// The client config once built (the properties file read and checked once): every client
    /// the tool makes starts from it.
    #[arg(skip)]
    base: std::sync::OnceLock<ClientConfig>,
    /// What librdkafka last reported about the connection, to tell a refusal from silence.
    #[arg(skip)]
    failure: Arc<Mutex<Option<RDKafkaErrorCode>>>,
}

/// The tools' client context: keeps librdkafka's authentication and TLS errors for
/// [`Cluster::error`] and prints nothing itself.
#[derive(Clone)]
pub struct ToolContext {
    failure: Arc<Mutex<Option<RDKafkaErrorCode>>>,
}

impl ClientContext for ToolContext {
    /// librdkafka reports a refused login or a failed TLS handshake only as a log line (`FAIL`)
    /// of the broker thread; the request itself just times out.
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, message: &str) {
        if fac != "FAIL" {
            return;
        }
        if message.contains("SASL authentication error") || message.contains("SASL authentication failed") {
            self.note(RDKafkaErrorCode::Authentication);
        } else if message.contains("SSL handshake failed") || message.contains("certificate verify failed") {
            self.note(RDKafkaErrorCode::SSL);
        }
    }

    fn error(&self, error: KafkaError, _reason: &str) {
        if let Some(c @ (RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)) = error.rdkafka_error_code() {
            self.note(c);
        }
    }
}

impl ToolContext {
    fn note(&self, code: RDKafkaErrorCode) {
        if let Ok(mut failure) = self.failure.lock() {
            *failure = Some(code);
        }
    }
}

impl ConsumerContext for ToolContext {}

impl ProducerContext for ToolContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

impl Cluster {
    /// A client config for the cluster, failing fast and quietly when it is down.
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        if let Some(c) = self.base.get() {
            return Ok(c.clone());
        }
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_server)
            .set("socket.connection.setup.timeout.ms", "10000")
            // Errors only, and to ToolContext, which prints nothing: the tool reports one clear
            // error instead of a line per failed connection attempt.
            .set("log_level", "3");
        if let Some(path) = &self.command_config {
            let properties = Properties::load(path)?;
            properties.apply(&mut c);
            // librdkafka checks each setting when a client is made and its error quotes the
            // value; check here to name the file and the key, never the value.
            if let Err(KafkaError::ClientConfig(_, description, key, _)) = c.create_native_config() {
                let description = properties.redact(&description);
                anyhow::bail!("{}: {key}: {description}", path.display());
            }
        }
        Ok(self.base.get_or_init(|| c).clone())
    }

    /// The context to create clients with, so [`Cluster::error`] learns why a request failed.
    pub fn context(&self) -> ToolContext {
        ToolContext {
            failure: self.failure.clone(),
        }
    }

    /// [`Cluster::error`] for a request `consumer` made: its queued events are served first,
    /// since librdkafka reports a refused login there and not in the request's error.
    pub fn failed(&self, consumer: &BaseConsumer<ToolContext>, e: KafkaError) -> anyhow::Error {
        let _ = consumer.poll(Duration::ZERO);
        self.error(e)
    }

    /// One line a person can act on for a request that failed: refused credentials, a failed
    /// TLS handshake, or a cluster that did not answer in time.
    pub fn error(&self, e: KafkaError) -> anyhow::Error {
        let seen = self.failure.lock().ok().and_then(|f| *f);
        match seen.or(e.rdkafka_error_code()) {
            Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed) => anyhow::anyhow!(
                "the broker at {} refused the credentials: SASL authentication failed (check sasl.* in --command-config)",
                self.bootstrap_server
            ),
            Some(RDKafkaErrorCode::SSL) => anyhow::anyhow!(
                "TLS with the broker at {} failed (check security.protocol and ssl.* in --command-config)",
                self.bootstrap_server
            ),
            _ => self.unreachable(),
        }
    }

    /// One line a person can act on, for a cluster that did not answer in time.
    pub fn unreachable(&self) -> anyhow::Error {
        let hint = if self.command_config.is_some() {
            "is it running? check --bootstrap-server and the security settings of --command-config"
        } else {
            "is it running? check --bootstrap-server, and --command-config if the listener needs TLS or SASL"
        };
        anyhow::anyhow!(
            "cannot reach a Kafka broker at {} within {}s ({hint})",
            self.bootstrap_server,
            TIMEOUT.as_secs()
        )
    }
}
