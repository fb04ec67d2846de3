//! One file per Kafka API, each with a `handle(cx, request)` that turns the request into its
//! answer. The table of APIs (`codec::APIS`, with [`codec::with_apis`]) is the one place that
//! names them; the dispatch below, ApiVersions, the SASL gate and the request counter all derive
//! from it.
//!
//! A handler never fails: per-topic and per-partition problems are Kafka error codes inside the
//! answer. What ends a connection ([`HandleError`]): a request that cannot be decoded, anything
//! but ApiVersions and the SASL exchange before a SASL listener's client has authenticated, a
//! refused SASL exchange (after its answer), a failed `acks=0` produce (which Kafka answers by
//! closing the socket), and a deferred answer that could not be made.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_acls;
mod describe_client_quotas;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_config_resources;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sasl_authenticate;
mod sasl_handshake;
mod sync_group;
mod txn_offset_commit;
mod write_txn_markers;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Encodable;

use crate::auth::acl::{Operation, Resource};
use crate::auth::sasl::ANONYMOUS;
use crate::auth::Session;
use crate::codec::{self, DecodeError, EncodeError, Request};
use crate::state::Broker;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("malformed request: {0}")]
    Decode(#[from] DecodeError),
    #[error("could not encode the response: {0}")]
    Encode(#[from] EncodeError),
    #[error("an acks=0 produce failed on {0}; Kafka closes the connection so the producer notices")]
    AcksZeroFailed(String),
    #[error("{0}")]
    Authentication(String),
    #[error("a deferred answer failed: {0}")]
    Deferred(String),
}

/// An answer still on its way: an acks=all produce's, framed once its fsyncs are done.
pub type Deferred = tokio::task::JoinHandle<Result<BytesMut, HandleError>>;

/// Who sent a request, and what the broker's grants let them do with it.
pub struct Access<'a> {
    broker: &'a Broker,
    principal: &'a str,
    peer: std::net::SocketAddr,
}

impl Access<'_> {
    /// Whether `operation` on `resource` is allowed; a refusal is logged (once) and counted.
    pub fn allows(&self, operation: Operation, resource: Resource<'_>) -> bool {
        let allowed = self.can(operation, resource);
        if !allowed {
            self.broker
                .denied(self.principal, self.peer, &format!("{operation:?} on {resource:?}"));
        }
        allowed
    }

    /// Kafka's error code when `operation` on `resource` is refused (logged and counted as
    /// [`Access::allows`] does): TOPIC_, GROUP_ or CLUSTER_AUTHORIZATION_FAILED.
    pub fn refusal(&self, operation: Operation, resource: Resource<'_>) -> Option<i16> {
        use kafka_protocol::error::ResponseError;
        let code = match resource {
            Resource::Topic(_) => ResponseError::TopicAuthorizationFailed,
            Resource::Group(_) => ResponseError::GroupAuthorizationFailed,
            Resource::Cluster => ResponseError::ClusterAuthorizationFailed,
            Resource::TransactionalId(_) => ResponseError::TransactionalIdAuthorizationFailed,
        };
        (!self.allows(operation, resource)).then(|| code.code())
    }

    /// Kafka's rule for creating a topic (CreateTopics, or auto-creation): CREATE on the
    /// cluster or on the topic. Silent, as auto-creation only falls back to not creating.
    pub fn may_create_topic(&self, name: &str) -> bool {
        self.can(Operation::Create, Resource::Cluster) || self.can(Operation::Create, Resource::Topic(name))
    }

    /// Kafka's `authorized_operations` bit set (KIP-430): a bit per operation, numbered by its
    /// code, for each of the resource's operations the user may do.
    pub fn authorized_operations(&self, resource: Resource<'_>) -> i32 {
        resource
            .operations()
            .iter()
            .filter(|op| self.can(**op, resource))
            .fold(0, |bits, op| bits | 1 << op.code())
    }

    /// The same check, silent: for leaving out of a list what the user may not see.
    pub fn can(&self, operation: Operation, resource: Resource<'_>) -> bool {
        let acls = &self.broker.config.acls;
        if !acls.enabled {
            return true;
        }
        let host = self.peer.ip().to_string();
        (self.broker.acls).read(|created| acls.allows(created, self.principal, &host, operation, resource))
    }
}

/// What a handler knows of the request it answers and of the connection it came on.
pub struct Cx<'a> {
    pub broker: &'a Broker,
    pub session: &'a mut Session,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: &'a str,
}

impl Cx<'_> {
    /// Who sent the request, and what the broker's grants let them do.
    pub fn access(&self) -> Access<'_> {
        Access {
            broker: self.broker,
            principal: self.session.sasl.principal().unwrap_or(ANONYMOUS),
            peer: self.session.peer,
        }
    }

    /// The client as a group member records it.
    pub fn client(&self) -> crate::group::Client {
        crate::group::Client {
            client_id: self.client_id.to_string(),
            client_host: format!("/{}", self.session.peer.ip()),
        }
    }
}

/// How a handler's answer goes out: framed into `out`, deferred, or not at all.
pub trait Reply {
    fn reply(self, cx: &Cx<'_>, key: ApiKey, out: &mut BytesMut) -> Result<Option<Deferred>, HandleError>;
}

/// A response struct is answered as it is.
impl<R: Encodable> Reply for R {
    fn reply(self, cx: &Cx<'_>, key: ApiKey, out: &mut BytesMut) -> Result<Option<Deferred>, HandleError> {
        codec::encode_response(out, key, cx.version, cx.correlation_id, &self)?;
        Ok(None)
    }
}

/// An answer after which the connection closes (a refused SASL exchange), as Kafka does.
pub struct ThenClose<R> {
    pub response: R,
    pub close: Option<HandleError>,
}

impl<R: Encodable> Reply for ThenClose<R> {
    fn reply(self, cx: &Cx<'_>, key: ApiKey, out: &mut BytesMut) -> Result<Option<Deferred>, HandleError> {
        codec::encode_response(out, key, cx.version, cx.correlation_id, &self.response)?;
        match self.close {
            None => Ok(None),
            Some(e) => Err(e),
        }
    }
}

macro_rules! dispatch {
    ($($name:ident($request:ident) $module:ident: $min:literal..=$max:literal $(listed from $listed:literal)?, $gate:ident;)*) => {
        /// Runs the handler of `request` and replies with its answer.
        async fn dispatch(cx: &mut Cx<'_>, request: Request, out: &mut BytesMut) -> Result<Option<Deferred>, HandleError> {
            match request {
                $(Request::$name(r) => $module::handle(cx, r).await.reply(cx, ApiKey::$name, out),)*
            }
        }
    };
}
codec::with_apis!(dispatch);

/// Decodes one frame, runs its handler and appends the framed answer (if any) to `out`, or
/// returns it [`Deferred`] when it waits for the disk.
pub async fn handle(
    broker: &Broker,
    session: &mut Session,
    frame: Bytes,
    out: &mut BytesMut,
) -> Result<Option<Deferred>, HandleError> {
    let peer = session.peer;
    let request = match codec::decode_request(frame.clone()) {
        Ok(request) => request,
        Err(DecodeError::UnsupportedVersion {
            api_key: ApiKey::ApiVersions,
            ..
        }) => {
            // KIP-511: answer a too-new ApiVersions with a v0 body listing what we support.
            let (_, _, correlation_id) = codec::peek_header(&frame)?;
            broker.metrics.request(ApiKey::ApiVersions as i16);
            let body = api_versions::unsupported_version();
            codec::encode_response(out, ApiKey::ApiVersions, 0, correlation_id, &body)?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let header = &request.header;
    let key = header.request_api_key;
    if !session.sasl.authenticated() {
        let open = ApiKey::try_from(key)
            .ok()
            .and_then(codec::api)
            .is_some_and(|api| api.before_authentication);
        if !open {
            // Kafka's IllegalSaslStateException: the connection is closed without an answer.
            let served: Vec<String> = codec::APIS
                .iter()
                .filter(|api| api.before_authentication)
                .map(|api| format!("{:?}", api.key))
                .collect();
            return Err(HandleError::Authentication(format!(
                "request {key} before SASL authentication; only {} are served",
                served.join(", ")
            )));
        }
    }
    broker.metrics.request(key);
    // Kafka's request logger: RUST_LOG=broker::request=trace shows every request.
    tracing::trace!(target: "broker::request", %peer, api = key, version = header.request_api_version, correlation_id = header.correlation_id, "request");
    let mut cx = Cx {
        broker,
        session,
        version: header.request_api_version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_deref().unwrap_or_default(),
    };
    dispatch(&mut cx, request.request, out).await
}

/// Milliseconds since the Unix epoch, Kafka's timestamp unit.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A Kafka error code; 0 for none.
pub(crate) fn code(error: Option<kafka_protocol::error::ResponseError>) -> i16 {
    error.map_or(0, |e| e.code())
}

/// Kafka's `StrBytes` from an owned string.
pub(crate) fn str_bytes(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}

/// The topics only the broker writes: the coordinators' logs. Clients may not produce to them,
/// delete them, add partitions to them or change their configs.
pub(crate) fn is_internal(topic: &str) -> bool {
    topic == crate::group::OFFSETS_TOPIC || topic == crate::txn::TRANSACTION_STATE_TOPIC
}

/// PRODUCER_FENCED as a request at `version` knows it: versions before `since` (those from
/// before KIP-588) know only INVALID_PRODUCER_EPOCH, as Kafka answers them.
pub(crate) fn fenced_before(
    version: i16,
    since: i16,
    error: kafka_protocol::error::ResponseError,
) -> kafka_protocol::error::ResponseError {
    use kafka_protocol::error::ResponseError;
    match error {
        ResponseError::ProducerFenced if version < since => ResponseError::InvalidProducerEpoch,
        e => e,
    }
}
