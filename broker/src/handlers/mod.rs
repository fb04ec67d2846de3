//! One file per Kafka API; this file is the one `match` that routes a decoded request to it.
//!
//! A handler turns a request into a response and never fails: per-topic and per-partition
//! problems are Kafka error codes inside the response. Only a request that cannot be decoded, or
//! a failed `acks=0` produce (which Kafka answers by closing the socket), ends the connection.

mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_topics;
mod describe_acls;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_topic_partitions;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod produce;
mod sasl_authenticate;
mod sasl_handshake;
mod sync_group;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;

use crate::auth::acl::{Operation, Resource};
use crate::auth::sasl::ANONYMOUS;
use crate::codec::{self, DecodeError, EncodeError, Request};
use crate::server::Session;
use crate::state::Broker;

/// The APIs this broker has a handler for. ApiVersions advertises the codec's version ranges
/// for exactly these.
pub const HANDLED: &[ApiKey] = &[
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeTopicPartitions,
    ApiKey::DescribeLogDirs,
    ApiKey::DescribeAcls,
    ApiKey::InitProducerId,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
];

/// What a client may send on a SASL listener before it has authenticated.
const BEFORE_AUTHENTICATION: &[ApiKey] = &[ApiKey::ApiVersions, ApiKey::SaslHandshake, ApiKey::SaslAuthenticate];

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
        };
        (!self.allows(operation, resource)).then(|| code.code())
    }

    /// The same check, silent: for leaving out of a list what the user may not see.
    pub fn can(&self, operation: Operation, resource: Resource<'_>) -> bool {
        self.broker.config.acls.allows(self.principal, operation, resource)
    }
}

/// Decodes one frame, runs its handler and appends the framed answer (if any) to `out`, or
/// returns it [`Deferred`] when it waits for the disk. `session.peer` is the client's address
/// (Kafka shows it as a group member's host).
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
    let version = request.header.request_api_version;
    let correlation_id = request.header.correlation_id;
    if !session.sasl.authenticated() {
        let key = ApiKey::try_from(request.header.request_api_key).ok();
        if !key.is_some_and(|k| BEFORE_AUTHENTICATION.contains(&k)) {
            // Kafka's IllegalSaslStateException: the connection is closed without an answer.
            return Err(HandleError::Authentication(format!(
                "request {} before SASL authentication; only ApiVersions, SaslHandshake and SaslAuthenticate are served",
                request.header.request_api_key
            )));
        }
    }
    broker.metrics.request(request.header.request_api_key);
    // Kafka's request logger: RUST_LOG=broker::request=trace shows every request.
    tracing::trace!(target: "broker::request", %peer, api = request.header.request_api_key, version, correlation_id, "request");
    macro_rules! answer {
        ($key:expr, $body:expr) => {
            codec::encode_response(out, $key, version, correlation_id, &$body)?
        };
    }
    // The SASL exchange changes the session; every other request only reads who it is.
    let body = match request.request {
        Request::SaslHandshake(r) => {
            let mechanism = r.mechanism.to_string();
            let (response, close) = sasl_handshake::handle(broker, session, r, version);
            answer!(ApiKey::SaslHandshake, response);
            if close {
                return Err(HandleError::Authentication(format!(
                    "SASL handshake for mechanism {mechanism:?} refused (enabled: {})",
                    broker.config.sasl_mechanisms.join(", ")
                )));
            }
            return Ok(None);
        }
        Request::SaslAuthenticate(r) => {
            let (response, failure) = sasl_authenticate::handle(broker, session, r);
            answer!(ApiKey::SaslAuthenticate, response);
            if let Some(failure) = failure {
                return Err(HandleError::Authentication(failure));
            }
            return Ok(None);
        }
        other => other,
    };
    let access = &Access {
        broker,
        principal: session.sasl.principal().unwrap_or(ANONYMOUS),
        peer,
    };
    match body {
        Request::ApiVersions(_) => answer!(ApiKey::ApiVersions, api_versions::handle()),
        Request::Metadata(r) => answer!(
            ApiKey::Metadata,
            metadata::handle(broker, access, session.listener, r, version)
        ),
        Request::Produce(r) => {
            let acks = r.acks;
            let (response, syncs) = produce::handle(broker, access, r, version).await;
            if acks == 0 {
                if let Some(failed) = produce::first_failure(&response) {
                    return Err(HandleError::AcksZeroFailed(failed));
                }
            } else if syncs.is_empty() {
                answer!(ApiKey::Produce, response);
            } else {
                return Ok(Some(tokio::spawn(async move {
                    let response = produce::synced(response, syncs).await;
                    let mut out = BytesMut::new();
                    codec::encode_response(&mut out, ApiKey::Produce, version, correlation_id, &response)?;
                    Ok(out)
                })));
            }
        }
        Request::Fetch(r) => answer!(ApiKey::Fetch, fetch::handle(broker, access, r, version).await),
        Request::ListOffsets(r) => answer!(ApiKey::ListOffsets, list_offsets::handle(broker, access, r, version)),
        Request::CreateTopics(r) => answer!(ApiKey::CreateTopics, create_topics::handle(broker, access, r, version)),
        Request::DeleteTopics(r) => answer!(ApiKey::DeleteTopics, delete_topics::handle(broker, access, r)),
        Request::CreatePartitions(r) => answer!(ApiKey::CreatePartitions, create_partitions::handle(broker, access, r)),
        Request::DescribeConfigs(r) => answer!(
            ApiKey::DescribeConfigs,
            describe_configs::handle(broker, access, r, version)
        ),
        Request::DescribeAcls(r) => answer!(ApiKey::DescribeAcls, describe_acls::handle(broker, access, r)),
        Request::DescribeLogDirs(r) => answer!(
            ApiKey::DescribeLogDirs,
            describe_log_dirs::handle(broker, access, r, version)
        ),
        Request::DescribeTopicPartitions(r) => answer!(
            ApiKey::DescribeTopicPartitions,
            describe_topic_partitions::handle(broker, access, r)
        ),
        Request::IncrementalAlterConfigs(r) => answer!(
            ApiKey::IncrementalAlterConfigs,
            incremental_alter_configs::handle(broker, access, r)
        ),
        Request::InitProducerId(r) => answer!(ApiKey::InitProducerId, init_producer_id::handle(broker, access, r)),
        Request::FindCoordinator(r) => answer!(
            ApiKey::FindCoordinator,
            find_coordinator::handle(broker, access, session.listener, r, version)
        ),
        Request::JoinGroup(r) => {
            let client = crate::group::Client {
                client_id: request.header.client_id.as_deref().unwrap_or_default().to_string(),
                client_host: format!("/{}", peer.ip()),
            };
            answer!(
                ApiKey::JoinGroup,
                join_group::handle(broker, access, r, version, client).await
            )
        }
        Request::SyncGroup(r) => answer!(ApiKey::SyncGroup, sync_group::handle(broker, access, r, version).await),
        Request::Heartbeat(r) => answer!(ApiKey::Heartbeat, heartbeat::handle(broker, access, r).await),
        Request::LeaveGroup(r) => answer!(
            ApiKey::LeaveGroup,
            leave_group::handle(broker, access, r, version).await
        ),
        Request::OffsetCommit(r) => answer!(ApiKey::OffsetCommit, offset_commit::handle(broker, access, r).await),
        Request::OffsetFetch(r) => answer!(
            ApiKey::OffsetFetch,
            offset_fetch::handle(broker, access, r, version).await
        ),
        Request::DescribeGroups(r) => answer!(
            ApiKey::DescribeGroups,
            describe_groups::handle(broker, access, r, version).await
        ),
        Request::ListGroups(r) => answer!(
            ApiKey::ListGroups,
            list_groups::handle(broker, access, r, version).await
        ),
        Request::DeleteGroups(r) => answer!(ApiKey::DeleteGroups, delete_groups::handle(broker, access, r).await),
        Request::OffsetDelete(r) => answer!(ApiKey::OffsetDelete, offset_delete::handle(broker, access, r).await),
        Request::SaslHandshake(_) | Request::SaslAuthenticate(_) => {
            unreachable!("answered above, before the principal is borrowed")
        }
    }
    Ok(None)
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
