//! The one table of the Kafka APIs the broker serves. Everything per API derives from it: the
//! [`Request`] enum and its decoder, the version gate, ApiVersions, the requests allowed before
//! SASL authentication, the per-API request counter and, through [`with_apis`], the dispatch to
//! each API's handler in `crate::api`. Adding an API is one row here, its body decoder in
//! `codec/requests/<module>.rs` (with its round-trip test) and its handler in `api/<module>.rs`
//! (each declared in its `mod.rs`), a case in `broker/tests/protocol.rs` (which fails for an
//! advertised API without one), and its row in docs/kafka-protocol.md#versions-per-api (a test
//! checks that the doc agrees with this table).
//!
//! Columns: the API (its name in Kafka's `ApiKey`), the request struct, the module of its decoder
//! and handler, the versions decoded (ApiVersions lists them, from a lower version where a row
//! says `listed from`), and whether a SASL listener serves it before authentication (`open`). Ranges and their reasons:
//! docs/kafka-protocol.md#advertised-api-versions.

/// Calls the macro `$then` with the table; see the module's notes.
macro_rules! with_apis {
    ($then:ident) => {
        $then! {
            // Listed from v0 although only v3 and later are decoded (a v0–2 request closes its
            // connection, as any unsupported version does). Older librdkafka (2.0.2, Debian's
            // kcat) compresses a batch only when the broker's Produce range includes v0, and
            // otherwise sends it uncompressed without a word. Apache Kafka 4 lists Produce from
            // v0 and refuses v0–2 for the same reason (KAFKA-18659); clients pick the highest
            // version both sides list, so none picks these.
            Produce(ProduceRequest) produce: 3..=13 listed from 0, authenticated;
            Fetch(FetchRequest) fetch: 4..=18, authenticated;
            ListOffsets(ListOffsetsRequest) list_offsets: 0..=7, authenticated;
            Metadata(MetadataRequest) metadata: 0..=13, authenticated;
            OffsetCommit(OffsetCommitRequest) offset_commit: 2..=9, authenticated;
            OffsetFetch(OffsetFetchRequest) offset_fetch: 1..=9, authenticated;
            FindCoordinator(FindCoordinatorRequest) find_coordinator: 0..=3, authenticated;
            JoinGroup(JoinGroupRequest) join_group: 0..=7, authenticated;
            Heartbeat(HeartbeatRequest) heartbeat: 0..=4, authenticated;
            LeaveGroup(LeaveGroupRequest) leave_group: 0..=4, authenticated;
            SyncGroup(SyncGroupRequest) sync_group: 0..=5, authenticated;
            DescribeGroups(DescribeGroupsRequest) describe_groups: 0..=6, authenticated;
            ListGroups(ListGroupsRequest) list_groups: 0..=5, authenticated;
            // v0 is what librdkafka checks for SASL support at all; after a v0 handshake the
            // tokens travel as bare size-prefixed frames (net/server.rs), after v1 in
            // SaslAuthenticate.
            SaslHandshake(SaslHandshakeRequest) sasl_handshake: 0..=1, open;
            ApiVersions(ApiVersionsRequest) api_versions: 0..=4, open;
            CreateTopics(CreateTopicsRequest) create_topics: 2..=5, authenticated;
            DeleteTopics(DeleteTopicsRequest) delete_topics: 1..=4, authenticated;
            DeleteRecords(DeleteRecordsRequest) delete_records: 0..=2, authenticated;
            InitProducerId(InitProducerIdRequest) init_producer_id: 0..=4, authenticated;
            OffsetForLeaderEpoch(OffsetForLeaderEpochRequest) offset_for_leader_epoch: 2..=4, authenticated;
            // Kafka's first transaction protocol (KIP-98): clients send AddPartitionsToTxn v3 and
            // below (v4+ is broker-to-broker); EndTxn v5 and TxnOffsetCommit v5 belong to the
            // second (KIP-890), which a broker offers through a finalized feature this one
            // does not advertise.
            AddPartitionsToTxn(AddPartitionsToTxnRequest) add_partitions_to_txn: 0..=3, authenticated;
            AddOffsetsToTxn(AddOffsetsToTxnRequest) add_offsets_to_txn: 0..=4, authenticated;
            EndTxn(EndTxnRequest) end_txn: 0..=4, authenticated;
            // Brokers' coordinators send it to partition leaders; Kafka's admin client sends it
            // to end a hanging transaction (`kafka-transactions abort`).
            WriteTxnMarkers(WriteTxnMarkersRequest) write_txn_markers: 1..=1, authenticated;
            TxnOffsetCommit(TxnOffsetCommitRequest) txn_offset_commit: 0..=4, authenticated;
            DescribeAcls(DescribeAclsRequest) describe_acls: 1..=3, authenticated;
            CreateAcls(CreateAclsRequest) create_acls: 1..=3, authenticated;
            DeleteAcls(DeleteAclsRequest) delete_acls: 1..=3, authenticated;
            DescribeConfigs(DescribeConfigsRequest) describe_configs: 1..=4, authenticated;
            AlterConfigs(AlterConfigsRequest) alter_configs: 0..=2, authenticated;
            DescribeLogDirs(DescribeLogDirsRequest) describe_log_dirs: 1..=4, authenticated;
            SaslAuthenticate(SaslAuthenticateRequest) sasl_authenticate: 0..=2, open;
            CreatePartitions(CreatePartitionsRequest) create_partitions: 0..=2, authenticated;
            DeleteGroups(DeleteGroupsRequest) delete_groups: 0..=2, authenticated;
            IncrementalAlterConfigs(IncrementalAlterConfigsRequest) incremental_alter_configs: 0..=1, authenticated;
            OffsetDelete(OffsetDeleteRequest) offset_delete: 0..=0, authenticated;
            DescribeClientQuotas(DescribeClientQuotasRequest) describe_client_quotas: 0..=1, authenticated;
            DescribeUserScramCredentials(DescribeUserScramCredentialsRequest) describe_user_scram_credentials: 0..=0, authenticated;
            AlterUserScramCredentials(AlterUserScramCredentialsRequest) alter_user_scram_credentials: 0..=0, authenticated;
            DescribeCluster(DescribeClusterRequest) describe_cluster: 0..=2, authenticated;
            DescribeProducers(DescribeProducersRequest) describe_producers: 0..=0, authenticated;
            DescribeTransactions(DescribeTransactionsRequest) describe_transactions: 0..=0, authenticated;
            ListTransactions(ListTransactionsRequest) list_transactions: 0..=1, authenticated;
            ConsumerGroupHeartbeat(ConsumerGroupHeartbeatRequest) consumer_group_heartbeat: 0..=1, authenticated;
            ConsumerGroupDescribe(ConsumerGroupDescribeRequest) consumer_group_describe: 0..=1, authenticated;
            ListConfigResources(ListConfigResourcesRequest) list_config_resources: 0..=1, authenticated;
            DescribeTopicPartitions(DescribeTopicPartitionsRequest) describe_topic_partitions: 0..=0, authenticated;
        }
    };
}
pub(crate) use with_apis;

use kafka_protocol::messages::ApiKey;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    pub key: ApiKey,
    /// The versions decoded and served.
    pub min: i16,
    pub max: i16,
    /// The lowest version ApiVersions lists (below `min` only for Produce).
    pub listed_from: i16,
    /// Served on a SASL listener before the client has authenticated.
    pub before_authentication: bool,
}

macro_rules! declare {
    ($($name:ident($request:ident) $module:ident: $min:literal..=$max:literal $(listed from $listed:literal)?, $gate:ident;)*) => {
        /// Every API the broker serves, in the order of their keys.
        pub const APIS: &[Api] = &[$(Api {
            key: ApiKey::$name,
            min: $min,
            max: $max,
            listed_from: declare!(@listed $min $($listed)?),
            before_authentication: declare!(@open $gate),
        },)*];

        /// A decoded request body, one variant per API.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $($name(kafka_protocol::messages::$request),)*
        }

        /// Decodes the body of a request the version gate has let through.
        pub(super) fn decode_body(
            r: &mut super::Reader,
            api_key: ApiKey,
            version: i16,
        ) -> Result<Request, super::DecodeError> {
            Ok(match api_key {
                $(ApiKey::$name => Request::$name(super::requests::$module::decode(r, version)?),)*
                // Unreachable behind the gate; refuse rather than panic.
                _ => return Err(super::DecodeError::UnsupportedVersion { api_key, version }),
            })
        }

        /// The crate's encoding of a default request of `api_key` (the decoders' tests).
        #[cfg(test)]
        pub(super) fn encode_default(
            api_key: ApiKey,
            version: i16,
            out: &mut bytes::BytesMut,
        ) -> Result<(), String> {
            use kafka_protocol::protocol::Encodable;
            match api_key {
                $(ApiKey::$name => kafka_protocol::messages::$request::default()
                    .encode(out, version)
                    .map_err(|e| e.to_string()),)*
                _ => panic!("{api_key:?} is not in the table"),
            }
        }
    };
    (@listed $min:literal) => { $min };
    (@listed $min:literal $listed:literal) => { $listed };
    (@open open) => { true };
    (@open authenticated) => { false };
}
with_apis!(declare);

/// The table's row for `api_key`.
pub fn api(api_key: ApiKey) -> Option<&'static Api> {
    APIS.iter().find(|api| api.key == api_key)
}

/// Whether the table serves `version` of `api_key`.
pub fn is_supported(api_key: ApiKey, version: i16) -> bool {
    api(api_key).is_some_and(|api| (api.min..=api.max).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_has_one_row_in_key_order_with_a_sane_range() {
        for pair in APIS.windows(2) {
            assert!(
                (pair[0].key as i16) < (pair[1].key as i16),
                "{:?} then {:?}",
                pair[0].key,
                pair[1].key
            );
        }
        for api in APIS {
            assert!(api.listed_from <= api.min && api.min <= api.max, "{api:?}");
        }
    }
}
