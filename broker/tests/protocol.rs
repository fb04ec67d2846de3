//! The broker over raw sockets: every advertised API version answers, and hostile frames close
//! only their own connection.

mod common;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn every_advertised_version_answers_with_a_decodable_response() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let versions: ApiVersionsResponse = call(&mut s, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(versions.error_code, 0);
    broker.ensure_topic("meta", 1).unwrap();
    // One stored batch for every Fetch version to read back byte for byte.
    broker.ensure_topic("fetched", 1).unwrap();
    broker.ensure_topic("trimmed", 1).unwrap();
    broker.ensure_topic("replaced", 1).unwrap();
    let stored = batch(None, &[b"first", b"second"]);
    assert_eq!(produce_to(&mut s, 9, "fetched", 0, 1, stored.clone()).await, (0, 0));
    let mut checked = 0;
    for v in &versions.api_keys {
        let key = ApiKey::try_from(v.api_key).unwrap();
        for version in v.min_version..=v.max_version {
            match key {
                ApiKey::ApiVersions => {
                    let r: ApiVersionsResponse = call(&mut s, key, version, &ApiVersionsRequest::default()).await;
                    assert_eq!(r.error_code, 0);
                    assert_eq!(
                        r.api_keys, versions.api_keys,
                        "ApiVersions v{version} lists the same APIs"
                    );
                }
                ApiKey::Metadata => {
                    let mut r = MetadataRequest::default();
                    let mut t = metadata_request::MetadataRequestTopic::default();
                    t.name = Some(topic_name("meta"));
                    r.topics = Some(vec![t]);
                    r.allow_auto_topic_creation = true;
                    r.include_topic_authorized_operations = version >= 8;
                    r.include_cluster_authorized_operations = (8..=10).contains(&version);
                    let resp: MetadataResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.topics[0].error_code, 0, "Metadata v{version}");
                    if version >= 7 {
                        assert_eq!(resp.topics[0].partitions[0].leader_epoch, 0, "Metadata v{version}");
                    }
                    // Without an authorizer, every operation of each (KIP-430), as in Kafka:
                    // READ to ALTER and DESCRIBE to ALTER_CONFIGS but CLUSTER_ACTION for a topic,
                    // CREATE, ALTER to IDEMPOTENT_WRITE for the cluster.
                    let bits = |codes: &[i32]| codes.iter().fold(0, |b, c| b | 1 << c);
                    let (topic_ops, cluster_ops) = match version {
                        0..=7 => (i32::MIN, i32::MIN),
                        8..=10 => (bits(&[3, 4, 5, 6, 7, 8, 10, 11]), bits(&[5, 7, 8, 9, 10, 11, 12])),
                        _ => (bits(&[3, 4, 5, 6, 7, 8, 10, 11]), i32::MIN),
                    };
                    assert_eq!(resp.topics[0].topic_authorized_operations, topic_ops, "v{version}");
                    assert_eq!(resp.cluster_authorized_operations, cluster_ops, "v{version}");
                    assert_eq!(resp.brokers[0].port, broker.local_addr().port() as i32);
                }
                // Listed, not served: produce_is_listed_from_v0_and_v0_to_v2_close_their_connection.
                ApiKey::Produce if version < 3 => {}
                ApiKey::Produce => {
                    let mut r = ProduceRequest::default();
                    r.acks = 1;
                    r.timeout_ms = 1000;
                    let mut t = produce_request::TopicProduceData::default();
                    t.name = topic_name("meta");
                    // v13 names topics by id (KIP-516), as Metadata v10+ gives them.
                    if version >= 13 {
                        let mut m = MetadataRequest::default();
                        let mut wanted = metadata_request::MetadataRequestTopic::default();
                        wanted.name = Some(topic_name("meta"));
                        m.topics = Some(vec![wanted]);
                        let md: MetadataResponse = call(&mut s, ApiKey::Metadata, 12, &m).await;
                        t.topic_id = md.topics[0].topic_id;
                    }
                    let mut p = produce_request::PartitionProduceData::default();
                    p.records = Some(Bytes::from_static(b"not a batch"));
                    t.partition_data = vec![p];
                    r.topic_data = vec![t.clone()];
                    let resp: ProduceResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(
                        resp.responses[0].partition_responses[0].error_code, 2,
                        "CORRUPT_MESSAGE"
                    );
                    if version >= 13 {
                        assert_eq!(resp.responses[0].topic_id, t.topic_id);
                        // An id no topic has.
                        t.topic_id = uuid::Uuid::from_u128(42);
                        r.topic_data = vec![t];
                        let resp: ProduceResponse = call(&mut s, key, version, &r).await;
                        assert_eq!(
                            resp.responses[0].partition_responses[0].error_code, 100,
                            "UNKNOWN_TOPIC_ID"
                        );
                    }
                }
                ApiKey::Fetch => {
                    // From v13 topics are named by their ids (KIP-516), as Metadata gives them.
                    let mut m = MetadataRequest::default();
                    m.topics = Some(
                        ["meta", "fetched"]
                            .map(|name| {
                                let mut wanted = metadata_request::MetadataRequestTopic::default();
                                wanted.name = Some(topic_name(name));
                                wanted
                            })
                            .to_vec(),
                    );
                    let md: MetadataResponse = call(&mut s, ApiKey::Metadata, 12, &m).await;
                    let (meta_id, fetched_id) = (md.topics[0].topic_id, md.topics[1].topic_id);
                    let mut r = FetchRequest::default();
                    r.max_bytes = 1 << 20;
                    let mut t = fetch_request::FetchTopic::default();
                    (t.topic, t.topic_id) = (topic_name("meta"), meta_id);
                    let mut p = fetch_request::FetchPartition::default();
                    p.partition_max_bytes = 1 << 20;
                    t.partitions = vec![p];
                    r.topics = vec![t];
                    let resp: FetchResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.responses[0].partitions[0].records, Some(Bytes::new()));
                    if version >= 13 {
                        assert_eq!(resp.responses[0].topic_id, meta_id);
                        // An id no topic has.
                        r.topics[0].topic_id = uuid::Uuid::from_u128(42);
                        let resp: FetchResponse = call(&mut s, key, version, &r).await;
                        assert_eq!(resp.responses[0].partitions[0].error_code, 100, "UNKNOWN_TOPIC_ID");
                    }
                    (r.topics[0].topic, r.topics[0].topic_id) = (topic_name("fetched"), fetched_id);
                    let resp: FetchResponse = call(&mut s, key, version, &r).await;
                    let p = &resp.responses[0].partitions[0];
                    assert_eq!((p.error_code, p.high_watermark), (0, 2), "Fetch v{version}");
                    // As produced, but for the leader epoch (0) the log stamps, outside the CRC.
                    let mut expected = stored.clone();
                    expected[12..16].copy_from_slice(&0i32.to_be_bytes());
                    assert_eq!(p.records.as_deref(), Some(&expected[..]), "Fetch v{version}");
                    if version >= 9 {
                        // A leader epoch this node has never had (KIP-320).
                        r.topics[0].partitions[0].current_leader_epoch = 1;
                        let resp: FetchResponse = call(&mut s, key, version, &r).await;
                        assert_eq!(resp.responses[0].partitions[0].error_code, 75, "UNKNOWN_LEADER_EPOCH");
                    }
                }
                // Below the crate's range, by hand: sarama's v0 (Burrow 1.x) asking the head.
                ApiKey::ListOffsets if version == 0 => {
                    let mut body = BytesMut::new();
                    body.put_i32(-1); // replica id
                    body.put_i32(1);
                    body.put_i16(4);
                    body.put_slice(b"meta");
                    body.put_i32(1);
                    body.put_i32(0); // partition
                    body.put_i64(-1); // latest
                    body.put_i32(1); // max_num_offsets
                    s.write_all(&raw_frame(key, 0, 7, &body)).await.unwrap();
                    let mut r = response(&mut s, key, 0, 7).await;
                    assert_eq!(r.get_i32(), 1, "topics");
                    let name_len = r.get_i16() as usize;
                    assert_eq!(r.split_to(name_len), &b"meta"[..]);
                    assert_eq!(
                        (r.get_i32(), r.get_i32(), r.get_i16()),
                        (1, 0, 0),
                        "one partition, 0, no error"
                    );
                    assert_eq!(
                        (r.get_i32(), r.get_i64()),
                        (1, 0),
                        "one old-style offset: the log end, 0"
                    );
                    assert!(r.is_empty(), "trailing bytes");
                }
                ApiKey::ListOffsets => {
                    let mut r = ListOffsetsRequest::default();
                    let mut t = list_offsets_request::ListOffsetsTopic::default();
                    t.name = topic_name("meta");
                    let mut p = list_offsets_request::ListOffsetsPartition::default();
                    p.timestamp = -1;
                    t.partitions = vec![p];
                    r.topics = vec![t];
                    let resp: ListOffsetsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.topics[0].partitions[0].offset, 0);
                }
                ApiKey::CreateTopics => {
                    let mut r = CreateTopicsRequest::default();
                    let mut t = create_topics_request::CreatableTopic::default();
                    t.name = TopicName(StrBytes::from_string(format!("created-v{version}")));
                    t.num_partitions = 2;
                    t.replication_factor = 1;
                    r.topics = vec![t];
                    let resp: CreateTopicsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.topics[0].error_code, 0);
                }
                ApiKey::DeleteTopics => {
                    let mut r = DeleteTopicsRequest::default();
                    r.topic_names = vec![topic_name("does-not-exist")];
                    let resp: DeleteTopicsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.responses[0].error_code, 3);
                }
                ApiKey::CreatePartitions => {
                    let mut r = CreatePartitionsRequest::default();
                    let mut t = create_partitions_request::CreatePartitionsTopic::default();
                    t.name = topic_name("meta");
                    t.count = 1;
                    r.topics = vec![t];
                    let resp: CreatePartitionsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.results[0].error_code, 37, "INVALID_PARTITIONS");
                }
                ApiKey::DescribeConfigs => {
                    let mut r = DescribeConfigsRequest::default();
                    let mut res = describe_configs_request::DescribeConfigsResource::default();
                    res.resource_type = 2;
                    res.resource_name = StrBytes::from_static_str("meta");
                    r.resources = vec![res];
                    let resp: DescribeConfigsResponse = call(&mut s, key, version, &r).await;
                    assert!(resp.results[0]
                        .configs
                        .iter()
                        .any(|c| c.name.as_str() == "retention.ms"));
                }
                ApiKey::DescribeAcls => {
                    // This broker grants nothing, so authorization is off: Kafka's answer for a
                    // broker without an authorizer.
                    let mut r = DescribeAclsRequest::default();
                    (
                        r.resource_type_filter,
                        r.pattern_type_filter,
                        r.operation,
                        r.permission_type,
                    ) = (1, 1, 1, 1);
                    let resp: DescribeAclsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 54, "SECURITY_DISABLED");
                }
                ApiKey::CreateAcls => {
                    let mut c = create_acls_request::AclCreation::default();
                    (c.resource_type, c.resource_pattern_type, c.operation, c.permission_type) = (2, 3, 3, 2);
                    c.resource_name = StrBytes::from_static_str("meta");
                    c.principal = StrBytes::from_static_str("User:*");
                    c.host = StrBytes::from_static_str("*");
                    let mut r = CreateAclsRequest::default();
                    r.creations = vec![c];
                    let resp: CreateAclsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.results[0].error_code, 54, "SECURITY_DISABLED");
                }
                ApiKey::DeleteAcls => {
                    let mut f = delete_acls_request::DeleteAclsFilter::default();
                    (
                        f.resource_type_filter,
                        f.pattern_type_filter,
                        f.operation,
                        f.permission_type,
                    ) = (1, 1, 1, 1);
                    let mut r = DeleteAclsRequest::default();
                    r.filters = vec![f];
                    let resp: DeleteAclsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.filter_results[0].error_code, 54, "SECURITY_DISABLED");
                }
                ApiKey::DescribeLogDirs => {
                    let mut r = DescribeLogDirsRequest::default();
                    r.topics = None; // every partition
                    let resp: DescribeLogDirsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                    let fetched = resp.results[0]
                        .topics
                        .iter()
                        .find(|t| t.name.as_str() == "fetched")
                        .unwrap();
                    // The one stored batch, as the log holds it.
                    assert_eq!(fetched.partitions[0].partition_size, stored.len() as i64);
                }
                ApiKey::OffsetForLeaderEpoch => {
                    // Epoch 0 ends at the log end; any other epoch is unknown; a current epoch
                    // from the future is UNKNOWN_LEADER_EPOCH.
                    let ask = |current: i32, epoch: i32| {
                        let mut r = OffsetForLeaderEpochRequest::default();
                        r.replica_id = BrokerId(-1);
                        let mut t = offset_for_leader_epoch_request::OffsetForLeaderTopic::default();
                        t.topic = topic_name("fetched");
                        let mut p = offset_for_leader_epoch_request::OffsetForLeaderPartition::default();
                        p.current_leader_epoch = current;
                        p.leader_epoch = epoch;
                        t.partitions = vec![p];
                        r.topics = vec![t];
                        r
                    };
                    let end = |r: &OffsetForLeaderEpochResponse| {
                        let e = &r.topics[0].partitions[0];
                        (e.error_code, e.leader_epoch, e.end_offset)
                    };
                    let resp: OffsetForLeaderEpochResponse = call(&mut s, key, version, &ask(0, 0)).await;
                    assert_eq!(
                        end(&resp),
                        (0, 0, 2),
                        "v{version}: the log end, after the two records of `fetched`"
                    );
                    let other: OffsetForLeaderEpochResponse = call(&mut s, key, version, &ask(-1, 5)).await;
                    assert_eq!(end(&other), (0, -1, -1));
                    let future: OffsetForLeaderEpochResponse = call(&mut s, key, version, &ask(3, 0)).await;
                    assert_eq!(future.topics[0].partitions[0].error_code, 75, "UNKNOWN_LEADER_EPOCH");
                }
                ApiKey::AlterConfigs => {
                    // The set given replaces the topic's overrides: first two, then one.
                    let alter = |pairs: &[(&'static str, String)], validate_only: bool| {
                        let mut r = AlterConfigsRequest::default();
                        let mut res = alter_configs_request::AlterConfigsResource::default();
                        res.resource_type = 2;
                        res.resource_name = StrBytes::from_static_str("replaced");
                        res.configs = pairs
                            .iter()
                            .map(|(k, v)| {
                                let mut c = alter_configs_request::AlterableConfig::default();
                                c.name = StrBytes::from_static_str(k);
                                c.value = Some(StrBytes::from_string(v.clone()));
                                c
                            })
                            .collect();
                        r.resources = vec![res];
                        r.validate_only = validate_only;
                        r
                    };
                    let overrides = |d: &DescribeConfigsResponse| -> Vec<(String, String)> {
                        d.results[0]
                            .configs
                            .iter()
                            .filter(|c| c.config_source == 1)
                            .map(|c| (c.name.to_string(), c.value.as_deref().unwrap_or_default().to_string()))
                            .collect()
                    };
                    let mut d = DescribeConfigsRequest::default();
                    let mut res = describe_configs_request::DescribeConfigsResource::default();
                    res.resource_type = 2;
                    res.resource_name = StrBytes::from_static_str("replaced");
                    d.resources = vec![res];
                    let ms = format!("{}", 7_200_000 + version as i64);
                    let two = [("retention.ms", ms.clone()), ("segment.ms", "3600000".to_string())];
                    let resp: AlterConfigsResponse = call(&mut s, key, version, &alter(&two, false)).await;
                    assert_eq!(resp.responses[0].error_code, 0, "{:?}", resp.responses[0].error_message);
                    let one = [("segment.ms", "1800000".to_string())];
                    let checked: AlterConfigsResponse = call(&mut s, key, version, &alter(&one, true)).await;
                    assert_eq!(checked.responses[0].error_code, 0);
                    let described: DescribeConfigsResponse = call(&mut s, ApiKey::DescribeConfigs, 4, &d).await;
                    assert_eq!(
                        overrides(&described),
                        [
                            ("retention.ms".to_string(), ms),
                            ("segment.ms".to_string(), "3600000".to_string())
                        ],
                        "validate_only changed nothing"
                    );
                    let resp: AlterConfigsResponse = call(&mut s, key, version, &alter(&one, false)).await;
                    assert_eq!(resp.responses[0].error_code, 0);
                    let described: DescribeConfigsResponse = call(&mut s, ApiKey::DescribeConfigs, 4, &d).await;
                    assert_eq!(
                        overrides(&described),
                        [("segment.ms".to_string(), "1800000".to_string())]
                    );
                    let bad = [("retention.ms", "soon".to_string())];
                    let refused: AlterConfigsResponse = call(&mut s, key, version, &alter(&bad, false)).await;
                    assert_eq!(refused.responses[0].error_code, 40, "INVALID_CONFIG");
                }
                ApiKey::DeleteRecords => {
                    // One more record, then everything up to the high watermark (-1) goes.
                    let (code, offset) = produce_to(&mut s, 9, "trimmed", 0, 1, batch(None, &[b"x"])).await;
                    assert_eq!(code, 0);
                    let ask = |partition: i32, offset: i64| {
                        let mut r = DeleteRecordsRequest::default();
                        let mut t = delete_records_request::DeleteRecordsTopic::default();
                        t.name = topic_name("trimmed");
                        let mut p = delete_records_request::DeleteRecordsPartition::default();
                        p.partition_index = partition;
                        p.offset = offset;
                        t.partitions = vec![p];
                        r.topics = vec![t];
                        r.timeout_ms = 1000;
                        r
                    };
                    let resp: DeleteRecordsResponse = call(&mut s, key, version, &ask(0, -1)).await;
                    let p = &resp.topics[0].partitions[0];
                    assert_eq!((p.error_code, p.low_watermark), (0, offset + 1), "v{version}");
                    let past: DeleteRecordsResponse = call(&mut s, key, version, &ask(0, offset + 2)).await;
                    assert_eq!(past.topics[0].partitions[0].error_code, 1, "OFFSET_OUT_OF_RANGE");
                    let missing: DeleteRecordsResponse = call(&mut s, key, version, &ask(7, 0)).await;
                    assert_eq!(
                        missing.topics[0].partitions[0].error_code, 3,
                        "UNKNOWN_TOPIC_OR_PARTITION"
                    );
                }
                ApiKey::DescribeClientQuotas => {
                    let mut r = DescribeClientQuotasRequest::default();
                    let mut c = describe_client_quotas_request::ComponentData::default();
                    c.entity_type = StrBytes::from_static_str("user");
                    c.match_type = 2; // any
                    r.components = vec![c];
                    let resp: DescribeClientQuotasResponse = call(&mut s, key, version, &r).await;
                    assert_eq!((resp.error_code, resp.entries), (0, Some(vec![])), "no quotas");
                    r.components[0].match_type = 7;
                    let bad: DescribeClientQuotasResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(bad.error_code, 42, "INVALID_REQUEST");
                }
                ApiKey::AlterUserScramCredentials => {
                    let upsert = |iterations: i32, mechanism: i8| {
                        let mut u = alter_user_scram_credentials_request::ScramCredentialUpsertion::default();
                        u.name = StrBytes::from_static_str("alice");
                        u.mechanism = mechanism;
                        u.iterations = iterations;
                        u.salt = Bytes::from_static(b"some salt");
                        u.salted_password = Bytes::from(vec![7u8; 32]);
                        u
                    };
                    let delete = |mechanism: i8| {
                        let mut d = alter_user_scram_credentials_request::ScramCredentialDeletion::default();
                        d.name = StrBytes::from_static_str("alice");
                        d.mechanism = mechanism;
                        d
                    };
                    let alter = |upsertions: Vec<_>, deletions: Vec<_>| {
                        let mut r = AlterUserScramCredentialsRequest::default();
                        r.upsertions = upsertions;
                        r.deletions = deletions;
                        r
                    };
                    let code = |r: &AlterUserScramCredentialsResponse| r.results[0].error_code;
                    let ok: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![upsert(8192, 1)], vec![])).await;
                    assert_eq!(code(&ok), 0, "{:?}", ok.results[0].error_message);
                    let described: DescribeUserScramCredentialsResponse = call(
                        &mut s,
                        ApiKey::DescribeUserScramCredentials,
                        0,
                        &DescribeUserScramCredentialsRequest::default(),
                    )
                    .await;
                    let alice = described.results.iter().find(|r| r.user.as_str() == "alice").unwrap();
                    assert_eq!(
                        (
                            alice.credential_infos[0].mechanism,
                            alice.credential_infos[0].iterations
                        ),
                        (1, 8192)
                    );
                    let few: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![upsert(100, 2)], vec![])).await;
                    assert_eq!(code(&few), 93, "UNACCEPTABLE_CREDENTIAL");
                    let unknown: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![upsert(8192, 9)], vec![])).await;
                    assert_eq!(code(&unknown), 33, "UNSUPPORTED_SASL_MECHANISM");
                    let twice: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![upsert(8192, 1)], vec![delete(1)])).await;
                    assert_eq!(code(&twice), 92, "DUPLICATE_RESOURCE");
                    let absent: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![], vec![delete(2)])).await;
                    assert_eq!(code(&absent), 91, "RESOURCE_NOT_FOUND");
                    let gone: AlterUserScramCredentialsResponse =
                        call(&mut s, key, version, &alter(vec![], vec![delete(1)])).await;
                    assert_eq!(code(&gone), 0);
                }
                ApiKey::DescribeUserScramCredentials => {
                    let mut r = DescribeUserScramCredentialsRequest::default();
                    let mut u = describe_user_scram_credentials_request::UserName::default();
                    u.name = StrBytes::from_static_str("nobody");
                    r.users = Some(vec![u.clone(), u]);
                    let resp: DescribeUserScramCredentialsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                    assert_eq!(resp.results.len(), 1);
                    assert_eq!(resp.results[0].error_code, 92, "DUPLICATE_RESOURCE");
                    r.users.as_mut().unwrap().pop();
                    let resp: DescribeUserScramCredentialsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.results[0].error_code, 91, "RESOURCE_NOT_FOUND");
                }
                ApiKey::DescribeCluster => {
                    let mut r = DescribeClusterRequest::default();
                    r.include_cluster_authorized_operations = true;
                    r.endpoint_type = 1;
                    let resp: DescribeClusterResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0, "{:?}", resp.error_message);
                    assert_eq!(resp.controller_id.0, 0);
                    assert_eq!(
                        (resp.brokers[0].broker_id.0, resp.brokers[0].port),
                        (0, broker.local_addr().port() as i32)
                    );
                    // Kafka's form: 16 bytes in URL-safe base64, 22 characters.
                    assert_eq!(resp.cluster_id.len(), 22, "{}", resp.cluster_id.as_str());
                    // No grants: every cluster operation is allowed.
                    // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
                    // IDEMPOTENT_WRITE 12: what Kafka without an authorizer reports for the cluster.
                    assert_eq!(resp.cluster_authorized_operations, 0b1_1111_1010_0000);
                    if version >= 1 {
                        r.endpoint_type = 2;
                        let controllers: DescribeClusterResponse = call(&mut s, key, version, &r).await;
                        assert_eq!(controllers.error_code, 115, "UNSUPPORTED_ENDPOINT_TYPE");
                    }
                }
                ApiKey::ConsumerGroupHeartbeat => {
                    let group = format!("cg-heartbeat-v{version}");
                    let resp = consumer_join(&mut s, version, &group, "member-a").await;
                    assert_eq!(resp.error_code, 0, "{:?}", resp.error_message);
                    assert_eq!((resp.member_epoch, resp.heartbeat_interval_ms), (1, 5000));
                    let assigned = resp.assignment.expect("a joining member gets its assignment");
                    assert_eq!(assigned.topic_partitions.len(), 1, "every partition of meta");
                    // Leaving: epoch -1.
                    let mut r = ConsumerGroupHeartbeatRequest::default();
                    r.group_id = GroupId(StrBytes::from_string(group));
                    r.member_id = StrBytes::from_static_str("member-a");
                    r.member_epoch = -1;
                    r.rebalance_timeout_ms = -1;
                    let resp: ConsumerGroupHeartbeatResponse = call(&mut s, key, version, &r).await;
                    assert_eq!((resp.error_code, resp.member_epoch), (0, -1));
                }
                ApiKey::ConsumerGroupDescribe => {
                    let group = format!("cg-describe-v{version}");
                    consumer_join(&mut s, 1, &group, "member-a").await;
                    let mut r = ConsumerGroupDescribeRequest::default();
                    r.group_ids = vec![
                        GroupId(StrBytes::from_string(group)),
                        GroupId(StrBytes::from_static_str("nobody")),
                    ];
                    let resp: ConsumerGroupDescribeResponse = call(&mut s, key, version, &r).await;
                    let g = &resp.groups[0];
                    assert_eq!((g.error_code, g.group_state.as_str(), g.group_epoch), (0, "Stable", 1));
                    assert_eq!(g.members[0].member_id.as_str(), "member-a");
                    assert_eq!(
                        g.members[0].assignment.topic_partitions[0].topic_name.0.as_str(),
                        "meta"
                    );
                    assert_eq!(resp.groups[1].error_code, 69, "GROUP_ID_NOT_FOUND");
                }
                ApiKey::DescribeTopicPartitions => {
                    let mut r = DescribeTopicPartitionsRequest::default();
                    let mut t = describe_topic_partitions_request::TopicRequest::default();
                    t.name = TopicName(StrBytes::from_static_str("meta"));
                    r.topics = vec![t];
                    r.response_partition_limit = 2000;
                    let resp: DescribeTopicPartitionsResponse = call(&mut s, key, version, &r).await;
                    let p = &resp.topics[0].partitions[0];
                    assert_eq!((resp.topics[0].error_code, p.leader_id.0), (0, 0));
                    // Empty, not null: kafka-topics prints N/A for null.
                    assert_eq!(p.eligible_leader_replicas, Some(vec![]));
                    assert_eq!(p.last_known_elr, Some(vec![]));
                }
                ApiKey::WriteTxnMarkers => {
                    // kafka-transactions abort: an ABORT marker for a producer on meta-0, then
                    // one at an older epoch (fenced) and one for a partition that is not there.
                    let marker = |epoch: i16, partition: i32| {
                        let mut t = write_txn_markers_request::WritableTxnMarkerTopic::default();
                        t.name = TopicName(StrBytes::from_static_str("meta"));
                        t.partition_indexes = vec![partition];
                        let mut m = write_txn_markers_request::WritableTxnMarker::default();
                        m.producer_id = ProducerId(4_000 + i64::from(version));
                        m.producer_epoch = epoch;
                        m.transaction_result = false;
                        m.topics = vec![t];
                        m
                    };
                    let mut r = WriteTxnMarkersRequest::default();
                    r.markers = vec![marker(5, 0)];
                    let resp: WriteTxnMarkersResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.markers[0].topics[0].partitions[0].error_code, 0);
                    r.markers = vec![marker(4, 0), marker(5, 99)];
                    let resp: WriteTxnMarkersResponse = call(&mut s, key, version, &r).await;
                    let codes: Vec<i16> = resp
                        .markers
                        .iter()
                        .map(|m| m.topics[0].partitions[0].error_code)
                        .collect();
                    assert_eq!(codes, [47, 3], "INVALID_PRODUCER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION");
                }
                ApiKey::ListConfigResources => {
                    // A group's config, set ahead of the group, makes it a config resource.
                    let group = format!("lcr-v{version}");
                    let mut r = IncrementalAlterConfigsRequest::default();
                    let mut res = incremental_alter_configs_request::AlterConfigsResource::default();
                    res.resource_type = 32;
                    res.resource_name = StrBytes::from_string(group.clone());
                    let mut c = incremental_alter_configs_request::AlterableConfig::default();
                    c.name = StrBytes::from_static_str("consumer.heartbeat.interval.ms");
                    c.value = Some(StrBytes::from_static_str("6000"));
                    res.configs = vec![c];
                    r.resources = vec![res];
                    let altered: IncrementalAlterConfigsResponse =
                        call(&mut s, ApiKey::IncrementalAlterConfigs, 1, &r).await;
                    assert_eq!(
                        altered.responses[0].error_code, 0,
                        "{:?}",
                        altered.responses[0].error_message
                    );
                    let mut d = DescribeConfigsRequest::default();
                    let mut res = describe_configs_request::DescribeConfigsResource::default();
                    res.resource_type = 32;
                    res.resource_name = StrBytes::from_string(group.clone());
                    d.resources = vec![res];
                    d.include_synonyms = true;
                    let described: DescribeConfigsResponse = call(&mut s, ApiKey::DescribeConfigs, 4, &d).await;
                    let interval = described.results[0]
                        .configs
                        .iter()
                        .find(|c| c.name.as_str() == "consumer.heartbeat.interval.ms")
                        .expect("the group's heartbeat interval is described");
                    assert_eq!((interval.value.as_deref(), interval.config_source), (Some("6000"), 8));
                    let synonyms: Vec<(&str, i8)> =
                        interval.synonyms.iter().map(|s| (s.name.as_str(), s.source)).collect();
                    assert_eq!(
                        synonyms,
                        [
                            ("consumer.heartbeat.interval.ms", 8),
                            ("group.consumer.heartbeat.interval.ms", 5)
                        ]
                    );
                    let mut r = ListConfigResourcesRequest::default();
                    if version >= 1 {
                        r.resource_types = vec![32];
                    }
                    let resp: ListConfigResourcesResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                    let listed: Vec<(&str, i8)> = resp
                        .config_resources
                        .iter()
                        .map(|c| (c.resource_name.as_str(), c.resource_type))
                        .collect();
                    if version == 0 {
                        assert!(listed.is_empty(), "v0 lists client-metrics resources only: {listed:?}");
                    } else {
                        assert!(listed.contains(&(group.as_str(), 32)), "{listed:?}");
                        r.resource_types = vec![7];
                        let bad: ListConfigResourcesResponse = call(&mut s, key, version, &r).await;
                        assert_eq!(bad.error_code, 42, "INVALID_REQUEST for a type with no configs");
                    }
                }
                ApiKey::IncrementalAlterConfigs => {
                    // SET retention.ms on "meta", then read it back as a topic override.
                    let mut r = IncrementalAlterConfigsRequest::default();
                    let mut res = incremental_alter_configs_request::AlterConfigsResource::default();
                    res.resource_type = 2;
                    res.resource_name = StrBytes::from_static_str("meta");
                    let mut c = incremental_alter_configs_request::AlterableConfig::default();
                    c.name = StrBytes::from_static_str("retention.ms");
                    c.value = Some(StrBytes::from_string(format!("{}", 3_600_000 + version as i64)));
                    res.configs = vec![c];
                    r.resources = vec![res];
                    let resp: IncrementalAlterConfigsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.responses[0].error_code, 0, "{:?}", resp.responses[0].error_message);
                    let mut d = DescribeConfigsRequest::default();
                    let mut res = describe_configs_request::DescribeConfigsResource::default();
                    res.resource_type = 2;
                    res.resource_name = StrBytes::from_static_str("meta");
                    d.resources = vec![res];
                    let described: DescribeConfigsResponse = call(&mut s, ApiKey::DescribeConfigs, 4, &d).await;
                    let retention = described.results[0]
                        .configs
                        .iter()
                        .find(|c| c.name.as_str() == "retention.ms")
                        .unwrap();
                    assert_eq!(
                        (retention.value.as_deref(), retention.config_source),
                        (Some(format!("{}", 3_600_000 + version as i64).as_str()), 1)
                    );
                }
                ApiKey::InitProducerId => {
                    let mut r = InitProducerIdRequest::default();
                    r.transactional_id = None;
                    r.producer_id = ProducerId(-1);
                    r.producer_epoch = -1;
                    let resp: InitProducerIdResponse = call(&mut s, key, version, &r).await;
                    assert_eq!((resp.error_code, resp.producer_epoch), (0, 0));
                }
                ApiKey::FindCoordinator => {
                    let mut r = FindCoordinatorRequest::default();
                    r.key = StrBytes::from_static_str("g");
                    let resp: FindCoordinatorResponse = call(&mut s, key, version, &r).await;
                    assert_eq!((resp.error_code, resp.node_id.0), (0, 0));
                    assert_eq!(resp.port, broker.local_addr().port() as i32);
                }
                ApiKey::JoinGroup => {
                    let group = format!("join-v{version}");
                    let mut resp: JoinGroupResponse = call(&mut s, key, version, &join_request(&group, "")).await;
                    if version >= 4 {
                        assert_eq!(resp.error_code, 79, "MEMBER_ID_REQUIRED");
                        let member_id = resp.member_id.to_string();
                        resp = call(&mut s, key, version, &join_request(&group, &member_id)).await;
                    }
                    assert_eq!((resp.error_code, resp.generation_id), (0, 1), "JoinGroup v{version}");
                    assert_eq!(resp.leader, resp.member_id);
                    assert_eq!(resp.protocol_name.as_deref(), Some("range"));
                    assert_eq!(resp.members[0].metadata, Bytes::from_static(b"subscription"));
                }
                ApiKey::SyncGroup => {
                    let group = format!("sync-v{version}");
                    let (member_id, generation) = joined(&mut s, &group).await;
                    let mut r = SyncGroupRequest::default();
                    r.group_id = GroupId(StrBytes::from_string(group));
                    r.generation_id = generation;
                    r.member_id = StrBytes::from_string(member_id.clone());
                    if version >= 5 {
                        r.protocol_type = Some(StrBytes::from_static_str("consumer"));
                        r.protocol_name = Some(StrBytes::from_static_str("range"));
                    }
                    let mut a = sync_group_request::SyncGroupRequestAssignment::default();
                    a.member_id = StrBytes::from_string(member_id);
                    a.assignment = Bytes::from_static(b"assignment");
                    r.assignments = vec![a];
                    let resp: SyncGroupResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0, "SyncGroup v{version}");
                    assert_eq!(resp.assignment, Bytes::from_static(b"assignment"));
                }
                ApiKey::Heartbeat => {
                    let group = format!("heartbeat-v{version}");
                    let (member_id, generation) = stable(&mut s, &group).await;
                    let mut r = HeartbeatRequest::default();
                    r.group_id = GroupId(StrBytes::from_string(group));
                    r.generation_id = generation;
                    r.member_id = StrBytes::from_string(member_id);
                    let resp: HeartbeatResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0, "Heartbeat v{version}");
                }
                ApiKey::LeaveGroup => {
                    let group = format!("leave-v{version}");
                    let (member_id, _) = stable(&mut s, &group).await;
                    let mut r = LeaveGroupRequest::default();
                    r.group_id = GroupId(StrBytes::from_string(group));
                    if version <= 2 {
                        r.member_id = StrBytes::from_string(member_id);
                    } else {
                        let mut m = leave_group_request::MemberIdentity::default();
                        m.member_id = StrBytes::from_string(member_id);
                        r.members = vec![m];
                    }
                    let resp: LeaveGroupResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0, "LeaveGroup v{version}");
                    assert!(resp.members.iter().all(|m| m.error_code == 0));
                }
                ApiKey::OffsetCommit => {
                    // From v6 a commit carries the leader epoch of the record before the offset.
                    let mut r = commit_request("committer", version as i64);
                    r.topics[0].partitions[0].committed_leader_epoch = if version >= 6 { 0 } else { -1 };
                    let resp: OffsetCommitResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.topics[0].partitions[0].error_code, 0, "OffsetCommit v{version}");
                }
                ApiKey::OffsetFetch => {
                    // The last commit was OffsetCommit's highest version, which it wrote as the offset.
                    let commit = versions
                        .api_keys
                        .iter()
                        .find(|k| k.api_key == ApiKey::OffsetCommit as i16);
                    let last = i64::from(commit.unwrap().max_version);
                    let asked = [("committer", last), ("never-committed", -1)];
                    // From v8 one request asks for several groups, each answered on its own.
                    let mut answers = Vec::new();
                    if version >= 8 {
                        let mut r = OffsetFetchRequest::default();
                        for (group, _) in asked {
                            let mut g = offset_fetch_request::OffsetFetchRequestGroup::default();
                            g.group_id = GroupId(StrBytes::from_static_str(group));
                            g.member_epoch = -1;
                            let mut t = offset_fetch_request::OffsetFetchRequestTopics::default();
                            t.name = topic_name("meta");
                            t.partition_indexes = vec![0];
                            g.topics = Some(vec![t]);
                            r.groups.push(g);
                        }
                        let resp: OffsetFetchResponse = call(&mut s, key, version, &r).await;
                        for g in &resp.groups {
                            let p = &g.topics[0].partitions[0];
                            assert_eq!(g.error_code, 0);
                            answers.push((p.error_code, p.committed_offset, p.committed_leader_epoch));
                        }
                    } else {
                        for (group, _) in asked {
                            let mut r = OffsetFetchRequest::default();
                            r.group_id = GroupId(StrBytes::from_static_str(group));
                            let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
                            t.name = topic_name("meta");
                            t.partition_indexes = vec![0];
                            r.topics = Some(vec![t]);
                            let resp: OffsetFetchResponse = call(&mut s, key, version, &r).await;
                            let p = &resp.topics[0].partitions[0];
                            answers.push((p.error_code, p.committed_offset, p.committed_leader_epoch));
                        }
                    }
                    for ((group, want), got) in asked.iter().zip(answers) {
                        // The last commit said epoch 0; v5+ answers it back.
                        let epoch = if *group == "committer" && version >= 5 { 0 } else { -1 };
                        assert_eq!(got, (0, *want, epoch), "OffsetFetch v{version} {group}");
                    }
                    if version >= 9 {
                        // A KIP-848 member asking for its group's offsets must be at its epoch.
                        let group = "offset-fetch-members";
                        consumer_join(&mut s, 1, group, "member-a").await;
                        for (epoch, code) in [(1, 0), (2, 113)] {
                            let mut g = offset_fetch_request::OffsetFetchRequestGroup::default();
                            g.group_id = GroupId(StrBytes::from_static_str(group));
                            g.member_id = Some(StrBytes::from_static_str("member-a"));
                            g.member_epoch = epoch;
                            let mut r = OffsetFetchRequest::default();
                            r.groups = vec![g];
                            let resp: OffsetFetchResponse = call(&mut s, key, version, &r).await;
                            assert_eq!(
                                resp.groups[0].error_code, code,
                                "member epoch {epoch}: 113 is STALE_MEMBER_EPOCH"
                            );
                        }
                    }
                }
                ApiKey::DescribeGroups => {
                    let group = format!("describe-v{version}");
                    let (member_id, _) = stable(&mut s, &group).await;
                    let mut r = DescribeGroupsRequest::default();
                    r.groups = vec![GroupId(StrBytes::from_string(group))];
                    let resp: DescribeGroupsResponse = call(&mut s, key, version, &r).await;
                    let g = &resp.groups[0];
                    assert_eq!(
                        (g.error_code, g.group_state.as_str()),
                        (0, "Stable"),
                        "DescribeGroups v{version}"
                    );
                    assert_eq!(g.members[0].member_id.as_str(), member_id);
                    assert_eq!(g.members[0].client_id.as_str(), "protocol-test");
                    assert_eq!(g.members[0].client_host.as_str(), "/127.0.0.1");
                    assert_eq!(g.members[0].member_assignment, Bytes::from_static(b"assignment"));
                }
                ApiKey::ListGroups => {
                    let mut r = ListGroupsRequest::default();
                    if version >= 4 {
                        r.states_filter = vec![StrBytes::from_static_str("Stable")];
                    }
                    if version >= 5 {
                        r.types_filter = vec![StrBytes::from_static_str("Classic")];
                    }
                    let resp: ListGroupsResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                    assert!(resp.groups.iter().any(|g| g.group_id.as_str() == "describe-v0"));
                    if version >= 4 {
                        assert!(resp.groups.iter().all(|g| g.group_state.as_str() == "Stable"));
                    }
                    if version >= 5 {
                        assert!(resp.groups.iter().all(|g| g.group_type.as_str() == "classic"));
                        // KIP-848 groups only.
                        consumer_join(&mut s, 1, "listed-consumer-group", "member-a").await;
                        r.types_filter = vec![StrBytes::from_static_str("consumer")];
                        let resp: ListGroupsResponse = call(&mut s, key, version, &r).await;
                        assert!(
                            resp.groups.iter().all(|g| g.group_type.as_str() == "consumer"),
                            "{resp:?}"
                        );
                        let listed = resp
                            .groups
                            .iter()
                            .any(|g| g.group_id.as_str() == "listed-consumer-group");
                        assert!(listed, "{resp:?}");
                    }
                }
                ApiKey::DeleteGroups => {
                    let group = format!("delete-v{version}");
                    let _: OffsetCommitResponse =
                        call(&mut s, ApiKey::OffsetCommit, 2, &commit_request(&group, 1)).await;
                    let mut r = DeleteGroupsRequest::default();
                    r.groups_names = vec![
                        GroupId(StrBytes::from_string(group)),
                        GroupId(StrBytes::from_static_str("nope")),
                    ];
                    let resp: DeleteGroupsResponse = call(&mut s, key, version, &r).await;
                    let codes: Vec<i16> = resp.results.iter().map(|r| r.error_code).collect();
                    assert_eq!(codes, vec![0, 69], "DeleteGroups v{version}");
                }
                ApiKey::OffsetDelete => {
                    let _: OffsetCommitResponse = call(&mut s, ApiKey::OffsetCommit, 2, &commit_request("od", 1)).await;
                    let mut r = OffsetDeleteRequest::default();
                    r.group_id = GroupId(StrBytes::from_static_str("od"));
                    let mut t = offset_delete_request::OffsetDeleteRequestTopic::default();
                    t.name = topic_name("meta");
                    t.partitions = vec![offset_delete_request::OffsetDeleteRequestPartition::default()];
                    r.topics = vec![t];
                    let resp: OffsetDeleteResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
                }
                // On a PLAINTEXT listener the SASL APIs are out of turn: answered, then closed.
                // `sasl_exchanges_authenticate_and_failures_close_only_their_connection` covers
                // them on a SASL listener.
                ApiKey::SaslHandshake => {
                    let mut own = TcpStream::connect(broker.local_addr()).await.unwrap();
                    let mut r = SaslHandshakeRequest::default();
                    r.mechanism = StrBytes::from_static_str("PLAIN");
                    let resp: SaslHandshakeResponse = call(&mut own, key, version, &r).await;
                    assert_eq!(resp.error_code, 34, "SaslHandshake v{version}: ILLEGAL_SASL_STATE");
                    assert!(resp.mechanisms.iter().any(|m| m.as_str() == "SCRAM-SHA-512"));
                    assert_closed(&mut own).await;
                }
                ApiKey::SaslAuthenticate => {
                    let mut own = TcpStream::connect(broker.local_addr()).await.unwrap();
                    let mut r = SaslAuthenticateRequest::default();
                    r.auth_bytes = Bytes::from_static(b"\0alice\0pw");
                    let resp: SaslAuthenticateResponse = call(&mut own, key, version, &r).await;
                    assert_eq!(resp.error_code, 58, "SaslAuthenticate v{version} out of turn");
                    assert_closed(&mut own).await;
                }
                ApiKey::AddPartitionsToTxn => {
                    let id = format!("add-partitions-v{version}");
                    let (pid, epoch) = init_transaction(&mut s, &id).await;
                    let add = |epoch| add_partitions_request(&id, pid, epoch, "meta", 0);
                    let resp: AddPartitionsToTxnResponse = call(&mut s, key, version, &add(epoch)).await;
                    let codes = |r: &AddPartitionsToTxnResponse| {
                        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
                    };
                    assert_eq!(codes(&resp), 0);
                    let stale: AddPartitionsToTxnResponse = call(&mut s, key, version, &add(epoch + 1)).await;
                    let fenced = if version >= 2 { 90 } else { 47 };
                    assert_eq!(
                        codes(&stale),
                        fenced,
                        "PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH before v2"
                    );
                }
                ApiKey::AddOffsetsToTxn => {
                    let id = format!("add-offsets-v{version}");
                    let (pid, epoch) = init_transaction(&mut s, &id).await;
                    let mut r = AddOffsetsToTxnRequest::default();
                    r.transactional_id = TransactionalId(StrBytes::from_string(id));
                    r.producer_id = ProducerId(pid);
                    r.producer_epoch = epoch;
                    r.group_id = GroupId(StrBytes::from_static_str("g"));
                    let resp: AddOffsetsToTxnResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.error_code, 0);
                }
                ApiKey::EndTxn => {
                    let id = format!("end-v{version}");
                    let (pid, epoch) = init_transaction(&mut s, &id).await;
                    let added: AddPartitionsToTxnResponse = call(
                        &mut s,
                        ApiKey::AddPartitionsToTxn,
                        3,
                        &add_partitions_request(&id, pid, epoch, "meta", 0),
                    )
                    .await;
                    assert_eq!(
                        added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
                        0
                    );
                    let end = |committed| {
                        let mut r = EndTxnRequest::default();
                        r.transactional_id = TransactionalId(StrBytes::from_string(id.clone()));
                        r.producer_id = ProducerId(pid);
                        r.producer_epoch = epoch;
                        r.committed = committed;
                        r
                    };
                    let resp: EndTxnResponse = call(&mut s, key, version, &end(true)).await;
                    assert_eq!(resp.error_code, 0);
                    let retry: EndTxnResponse = call(&mut s, key, version, &end(true)).await;
                    assert_eq!(retry.error_code, 0, "a retried commit succeeds");
                    let wrong: EndTxnResponse = call(&mut s, key, version, &end(false)).await;
                    assert_eq!(wrong.error_code, 48, "INVALID_TXN_STATE: nothing is open to abort");
                }
                ApiKey::TxnOffsetCommit => {
                    let id = format!("txn-offsets-v{version}");
                    let group = format!("txn-group-v{version}");
                    let (pid, epoch) = init_transaction(&mut s, &id).await;
                    let mut add = AddOffsetsToTxnRequest::default();
                    add.transactional_id = TransactionalId(StrBytes::from_string(id.clone()));
                    add.producer_id = ProducerId(pid);
                    add.producer_epoch = epoch;
                    add.group_id = GroupId(StrBytes::from_string(group.clone()));
                    let added: AddOffsetsToTxnResponse = call(&mut s, ApiKey::AddOffsetsToTxn, 3, &add).await;
                    assert_eq!(added.error_code, 0);
                    let mut p = txn_offset_commit_request::TxnOffsetCommitRequestPartition::default();
                    p.partition_index = 0;
                    p.committed_offset = 5;
                    let mut t = txn_offset_commit_request::TxnOffsetCommitRequestTopic::default();
                    t.name = TopicName(StrBytes::from_static_str("meta"));
                    t.partitions = vec![p];
                    let mut r = TxnOffsetCommitRequest::default();
                    r.transactional_id = TransactionalId(StrBytes::from_string(id.clone()));
                    r.group_id = GroupId(StrBytes::from_string(group.clone()));
                    r.producer_id = ProducerId(pid);
                    r.producer_epoch = epoch;
                    r.topics = vec![t];
                    let resp: TxnOffsetCommitResponse = call(&mut s, key, version, &r).await;
                    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
                    let fetch = |require_stable| {
                        let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
                        t.name = TopicName(StrBytes::from_static_str("meta"));
                        t.partition_indexes = vec![0];
                        let mut f = OffsetFetchRequest::default();
                        f.group_id = GroupId(StrBytes::from_string(group.clone()));
                        f.topics = Some(vec![t]);
                        f.require_stable = require_stable;
                        f
                    };
                    let fetched = |r: &OffsetFetchResponse| {
                        let p = &r.topics[0].partitions[0];
                        (p.error_code, p.committed_offset)
                    };
                    let pending: OffsetFetchResponse = call(&mut s, ApiKey::OffsetFetch, 7, &fetch(true)).await;
                    assert_eq!(
                        fetched(&pending),
                        (88, -1),
                        "UNSTABLE_OFFSET_COMMIT while the transaction is open"
                    );
                    let unstable: OffsetFetchResponse = call(&mut s, ApiKey::OffsetFetch, 7, &fetch(false)).await;
                    assert_eq!(fetched(&unstable), (0, -1), "pending offsets are not committed ones");
                    let mut end = EndTxnRequest::default();
                    end.transactional_id = TransactionalId(StrBytes::from_string(id));
                    end.producer_id = ProducerId(pid);
                    end.producer_epoch = epoch;
                    end.committed = true;
                    let ended: EndTxnResponse = call(&mut s, ApiKey::EndTxn, 3, &end).await;
                    assert_eq!(ended.error_code, 0);
                    let committed: OffsetFetchResponse = call(&mut s, ApiKey::OffsetFetch, 7, &fetch(true)).await;
                    assert_eq!(fetched(&committed), (0, 5));
                }
                ApiKey::DescribeTransactions => {
                    let id = "describe-transactions";
                    let (pid, epoch) = init_transaction(&mut s, id).await;
                    let mut r = DescribeTransactionsRequest::default();
                    r.transactional_ids = vec![
                        TransactionalId(StrBytes::from_static_str(id)),
                        TransactionalId(StrBytes::from_static_str("nobody")),
                    ];
                    let resp: DescribeTransactionsResponse = call(&mut s, key, version, &r).await;
                    let known = &resp.transaction_states[0];
                    assert_eq!(
                        (
                            known.error_code,
                            known.transaction_state.as_str(),
                            known.producer_id.0,
                            known.producer_epoch
                        ),
                        (0, "Empty", pid, epoch)
                    );
                    assert_eq!(resp.transaction_states[1].error_code, 105, "TRANSACTIONAL_ID_NOT_FOUND");
                }
                ApiKey::ListTransactions => {
                    let id = format!("list-transactions-v{version}");
                    let (pid, epoch) = init_transaction(&mut s, &id).await;
                    let added: AddPartitionsToTxnResponse = call(
                        &mut s,
                        ApiKey::AddPartitionsToTxn,
                        3,
                        &add_partitions_request(&id, pid, epoch, "meta", 0),
                    )
                    .await;
                    assert_eq!(
                        added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
                        0
                    );
                    let mut r = ListTransactionsRequest::default();
                    r.state_filters = vec![StrBytes::from_static_str("Ongoing"), StrBytes::from_static_str("Bogus")];
                    r.duration_filter = -1;
                    let resp: ListTransactionsResponse = call(&mut s, key, version, &r).await;
                    assert!(resp
                        .transaction_states
                        .iter()
                        .any(|t| t.transactional_id.0.as_str() == id));
                    assert!(resp
                        .transaction_states
                        .iter()
                        .all(|t| t.transaction_state.as_str() == "Ongoing"));
                    assert_eq!(resp.unknown_state_filters, vec![StrBytes::from_static_str("Bogus")]);
                }
                ApiKey::DescribeProducers => {
                    let mut t = describe_producers_request::TopicRequest::default();
                    t.name = TopicName(StrBytes::from_static_str("meta"));
                    t.partition_indexes = vec![0, 99];
                    let mut r = DescribeProducersRequest::default();
                    r.topics = vec![t];
                    let resp: DescribeProducersResponse = call(&mut s, key, version, &r).await;
                    let partitions = &resp.topics[0].partitions;
                    assert_eq!((partitions[0].error_code, partitions[1].error_code), (0, 3));
                }
                // Later issues add APIs; each must get a case here before it is advertised.
                other => panic!("{other:?} is advertised but this test has no case for it"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 110, "only {checked} API versions were checked");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_too_new_api_versions_gets_a_v0_answer_listing_what_is_supported() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    // Encode as v3 (the newest layout the crate writes) but claim v99 in the header.
    let mut f = BytesMut::from(&frame(ApiKey::ApiVersions, 3, 11, &ApiVersionsRequest::default())[..]);
    f[6..8].copy_from_slice(&99i16.to_be_bytes());
    s.write_all(&f).await.unwrap();
    let mut body = response(&mut s, ApiKey::ApiVersions, 0, 11).await;
    let resp = ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    // The full list, the same as a supported version gets.
    let full: ApiVersionsResponse = call(&mut s, ApiKey::ApiVersions, 0, &ApiVersionsRequest::default()).await;
    assert_eq!(full.error_code, 0);
    assert_eq!(resp.api_keys, full.api_keys);
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 4));
    assert!(resp.api_keys.len() >= 20, "{} APIs", resp.api_keys.len());
    broker.shutdown().await;
}

/// Kafka 4 lists Produce from v0 yet refuses v0–2 (KAFKA-18659): librdkafka 2.0 compresses gzip,
/// snappy and lz4 batches only for a broker whose Produce range includes v0. So does this one.
#[tokio::test]
async fn produce_is_listed_from_v0_and_v0_to_v2_close_their_connection() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let versions: ApiVersionsResponse = call(&mut s, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    let produce = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    for version in 0..3i16 {
        // The crate encodes Produce from v3 only; v0–2 share its request header layout.
        let mut f = frame(ApiKey::Produce, 3, 1, &ProduceRequest::default()).to_vec();
        f[6..8].copy_from_slice(&version.to_be_bytes());
        expect_closed(broker.local_addr(), &f).await;
        let _: ApiVersionsResponse = call(&mut s, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn hostile_frames_close_their_connection_and_others_are_still_served() {
    let (broker, _dir) = start().await;
    let addr = broker.local_addr();
    let mut healthy = TcpStream::connect(addr).await.unwrap();
    let mut metadata_v4_huge_count = frame(ApiKey::Metadata, 4, 1, &MetadataRequest::default()).to_vec();
    let body_at = metadata_v4_huge_count.len() - 5; // topics count (i32) + allow_auto_topic_creation (bool)
    metadata_v4_huge_count[body_at..body_at + 4].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
    let unknown_key = {
        let mut f = frame(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default()).to_vec();
        f[4..6].copy_from_slice(&999i16.to_be_bytes());
        f
    };
    let too_new_produce = {
        let mut f = frame(ApiKey::Produce, 9, 1, &ProduceRequest::default()).to_vec();
        f[6..8].copy_from_slice(&50i16.to_be_bytes());
        f
    };
    let cases: Vec<Vec<u8>> = vec![
        vec![0, 0, 0, 3, 1, 2, 3],                        // shorter than a request header
        (-1i32).to_be_bytes().to_vec(),                   // negative size
        (2_000_000i32).to_be_bytes().to_vec(),            // above socket.request.max.bytes
        [&20i32.to_be_bytes()[..], &[0xff; 20]].concat(), // garbage
        unknown_key,
        too_new_produce,
        metadata_v4_huge_count,
    ];
    for case in &cases {
        expect_closed(addr, case).await;
        let _: ApiVersionsResponse = call(&mut healthy, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn an_announced_size_costs_nothing_until_the_bytes_arrive() {
    let (broker, _dir) = start().await;
    // 1 MiB announced, 10 bytes sent, then the client goes quiet: the broker must keep serving.
    let mut slow = TcpStream::connect(broker.local_addr()).await.unwrap();
    slow.write_all(&[&((1 << 20) - 1i32).to_be_bytes()[..], &[0; 10]].concat())
        .await
        .unwrap();
    let mut healthy = TcpStream::connect(broker.local_addr()).await.unwrap();
    let _: ApiVersionsResponse = call(&mut healthy, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    drop(slow);
    broker.shutdown().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut batch = BytesMut::new();
    for id in 0..20 {
        let key = if id % 2 == 0 {
            ApiKey::ApiVersions
        } else {
            ApiKey::Metadata
        };
        let f = if key == ApiKey::ApiVersions {
            frame(key, 3, id, &ApiVersionsRequest::default())
        } else {
            frame(key, 9, id, &MetadataRequest::default())
        };
        batch.extend_from_slice(&f);
    }
    s.write_all(&batch).await.unwrap();
    for id in 0..20 {
        let (key, version) = if id % 2 == 0 {
            (ApiKey::ApiVersions, 3)
        } else {
            (ApiKey::Metadata, 9)
        };
        response(&mut s, key, version, id).await;
    }
    broker.shutdown().await;
}

/// The peer closed the connection (a read returns end of file, not data).
async fn assert_closed(s: &mut TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut byte))
        .await
        .expect("the broker closes the connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "the connection is still open");
}

#[tokio::test]
async fn sasl_exchanges_authenticate_and_failures_close_only_their_connection() {
    let (broker, _dir) = start_with(|c| {
        c.listeners = vec![broker::Listener::parse("SASL_PLAINTEXT://127.0.0.1:0").unwrap()];
        broker::auth::users::add(&c.data_dir.join(broker::auth::users::FILE_NAME), "alice", "pw").unwrap();
    })
    .await;
    let addr = broker.local_addr();
    let handshake = |mechanism: &'static str| {
        let mut r = SaslHandshakeRequest::default();
        r.mechanism = StrBytes::from_static_str(mechanism);
        r
    };
    let token = |t: &'static [u8]| {
        let mut r = SaslAuthenticateRequest::default();
        r.auth_bytes = Bytes::from_static(t);
        r
    };

    // Every SaslAuthenticate version authenticates with PLAIN, and Metadata is served after.
    for version in 0..=2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _: ApiVersionsResponse = call(&mut s, ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
        let resp: SaslHandshakeResponse = call(&mut s, ApiKey::SaslHandshake, 1, &handshake("PLAIN")).await;
        assert_eq!(resp.error_code, 0);
        let resp: SaslAuthenticateResponse =
            call(&mut s, ApiKey::SaslAuthenticate, version, &token(b"\0alice\0pw")).await;
        assert_eq!(resp.error_code, 0, "SaslAuthenticate v{version}");
        let md: MetadataResponse = call(&mut s, ApiKey::Metadata, 9, &MetadataRequest::default()).await;
        assert_eq!(md.brokers.len(), 1);
    }

    // A wrong password: SASL_AUTHENTICATION_FAILED with a message that names no password, then closed.
    let mut bad = TcpStream::connect(addr).await.unwrap();
    let _: SaslHandshakeResponse = call(&mut bad, ApiKey::SaslHandshake, 1, &handshake("PLAIN")).await;
    let resp: SaslAuthenticateResponse = call(&mut bad, ApiKey::SaslAuthenticate, 1, &token(b"\0alice\0wrong")).await;
    assert_eq!(resp.error_code, 58);
    let message = resp.error_message.map(|m| m.to_string()).unwrap_or_default();
    assert!(
        message.contains("Authentication failed") && !message.contains("wrong"),
        "{message}"
    );
    assert_closed(&mut bad).await;

    // An unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed.
    let mut odd = TcpStream::connect(addr).await.unwrap();
    let resp: SaslHandshakeResponse = call(&mut odd, ApiKey::SaslHandshake, 1, &handshake("GSSAPI")).await;
    assert_eq!(resp.error_code, 33);
    assert_eq!(resp.mechanisms.len(), 3);
    assert_closed(&mut odd).await;

    // Metadata before authenticating: closed without an answer.
    let mut eager = TcpStream::connect(addr).await.unwrap();
    eager
        .write_all(&frame(ApiKey::Metadata, 9, 1, &MetadataRequest::default()))
        .await
        .unwrap();
    assert_closed(&mut eager).await;

    // SaslHandshake v0: the PLAIN token and its answer are bare size-prefixed frames.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    let resp: SaslHandshakeResponse = call(&mut raw, ApiKey::SaslHandshake, 0, &handshake("PLAIN")).await;
    assert_eq!(resp.error_code, 0);
    let plain = b"\0alice\0pw";
    raw.write_all(&(plain.len() as i32).to_be_bytes()).await.unwrap();
    raw.write_all(plain).await.unwrap();
    {
        use tokio::io::AsyncReadExt;
        assert_eq!(raw.read_i32().await.unwrap(), 0, "an empty server token");
    }
    let md: MetadataResponse = call(&mut raw, ApiKey::Metadata, 9, &MetadataRequest::default()).await;
    assert_eq!(md.brokers.len(), 1);
    broker.shutdown().await;
}

/// KIP-966's cursor: at most `response_partition_limit` partitions per answer, and a cursor to
/// the first one left out, also when the limit falls between two topics.
#[tokio::test]
async fn describe_topic_partitions_pages_by_its_cursor() {
    let (broker, _dir) = start().await;
    broker.ensure_topic("a", 3).unwrap();
    broker.ensure_topic("b", 2).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut answers = 0;
    loop {
        let mut r = DescribeTopicPartitionsRequest::default();
        for name in ["b", "a", "missing"] {
            let mut t = describe_topic_partitions_request::TopicRequest::default();
            t.name = TopicName(StrBytes::from_static_str(name));
            r.topics.push(t);
        }
        r.response_partition_limit = 2;
        r.cursor = cursor;
        let resp: DescribeTopicPartitionsResponse = call(&mut s, ApiKey::DescribeTopicPartitions, 0, &r).await;
        answers += 1;
        for t in &resp.topics {
            let name = t.name.as_ref().unwrap().to_string();
            if name == "missing" {
                assert_eq!(t.error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
            }
            seen.extend(t.partitions.iter().map(|p| (name.clone(), p.partition_index)));
        }
        let Some(next) = resp.next_cursor else { break };
        let mut c = describe_topic_partitions_request::Cursor::default();
        c.topic_name = next.topic_name;
        c.partition_index = next.partition_index;
        cursor = Some(c);
        assert!(answers < 10, "the cursor never ends: {seen:?}");
    }
    let expected: Vec<(String, i32)> = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
        .iter()
        .map(|(t, p)| (t.to_string(), *p))
        .collect();
    assert_eq!(seen, expected, "every partition once, in name order");
    assert_eq!(answers, 3, "five partitions, two per answer");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_replica_assignment_sets_the_partition_count_as_in_kafka() {
    let (broker, _dir) = start().await;
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let create = |name: &'static str, num_partitions: i32, replication_factor: i16, indexes: &[i32]| {
        let mut t = create_topics_request::CreatableTopic::default();
        t.name = topic_name(name);
        t.num_partitions = num_partitions;
        t.replication_factor = replication_factor;
        t.assignments = indexes
            .iter()
            .map(|&i| {
                let mut a = create_topics_request::CreatableReplicaAssignment::default();
                a.partition_index = i;
                a.broker_ids = vec![BrokerId(0)];
                a
            })
            .collect();
        let mut r = CreateTopicsRequest::default();
        r.topics = vec![t];
        r
    };
    let code_and_count = |r: &CreateTopicsResponse| (r.topics[0].error_code, r.topics[0].num_partitions);
    // librdkafka's admin test: one assigned partition, count and factor -1, gets one partition.
    let one: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &create("assigned", -1, -1, &[0])).await;
    assert_eq!(code_and_count(&one), (0, 1));
    let two: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &create("assigned-2", -1, -1, &[1, 0])).await;
    assert_eq!(code_and_count(&two), (0, 2));
    let both: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &create("both", 3, -1, &[0])).await;
    assert_eq!(both.topics[0].error_code, 42, "INVALID_REQUEST");
    let gap: CreateTopicsResponse = call(&mut s, ApiKey::CreateTopics, 5, &create("gap", -1, -1, &[0, 2])).await;
    assert_eq!(gap.topics[0].error_code, 39, "INVALID_REPLICA_ASSIGNMENT");
    broker.shutdown().await;
}

/// A transactional producer's id and epoch, as InitProducerId v4 hands them out for `id`.
async fn init_transaction(s: &mut TcpStream, id: &str) -> (i64, i16) {
    let mut r = InitProducerIdRequest::default();
    r.transactional_id = Some(TransactionalId(StrBytes::from_string(id.to_string())));
    r.transaction_timeout_ms = 60_000;
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    let resp: InitProducerIdResponse = call(s, ApiKey::InitProducerId, 4, &r).await;
    assert_eq!(resp.error_code, 0, "InitProducerId for {id}");
    (resp.producer_id.0, resp.producer_epoch)
}

fn add_partitions_request(
    id: &str,
    pid: i64,
    epoch: i16,
    topic: &'static str,
    partition: i32,
) -> AddPartitionsToTxnRequest {
    let mut t = add_partitions_to_txn_request::AddPartitionsToTxnTopic::default();
    t.name = TopicName(StrBytes::from_static_str(topic));
    t.partitions = vec![partition];
    let mut r = AddPartitionsToTxnRequest::default();
    r.v3_and_below_transactional_id = TransactionalId(StrBytes::from_string(id.to_string()));
    r.v3_and_below_producer_id = ProducerId(pid);
    r.v3_and_below_producer_epoch = epoch;
    r.v3_and_below_topics = vec![t];
    r
}

/// A KIP-848 member joining `group`, subscribed to "meta".
async fn consumer_join(s: &mut TcpStream, version: i16, group: &str, member: &str) -> ConsumerGroupHeartbeatResponse {
    let mut r = ConsumerGroupHeartbeatRequest::default();
    r.group_id = GroupId(StrBytes::from_string(group.to_string()));
    r.member_id = StrBytes::from_string(member.to_string());
    r.member_epoch = 0;
    r.rebalance_timeout_ms = 30_000;
    r.subscribed_topic_names = Some(vec![TopicName(StrBytes::from_static_str("meta"))]);
    r.topic_partitions = Some(vec![]);
    call(s, ApiKey::ConsumerGroupHeartbeat, version, &r).await
}

/// The transactional ids ListTransactions lists, sorted.
async fn listed(s: &mut TcpStream) -> Vec<String> {
    let mut r = ListTransactionsRequest::default();
    r.duration_filter = -1;
    let resp: ListTransactionsResponse = call(s, ApiKey::ListTransactions, 1, &r).await;
    let mut ids: Vec<String> = resp
        .transaction_states
        .iter()
        .map(|t| t.transactional_id.0.to_string())
        .collect();
    ids.sort();
    ids
}

/// `transactional.id.expiration.ms`: an id idle past it with no transaction open is forgotten,
/// durably, and starts afresh; an id with a transaction open is kept (its timeout ends it).
#[tokio::test]
async fn transactional_ids_idle_past_their_expiration_are_forgotten_durably() {
    let dir = tempfile::tempdir().unwrap();
    let config = |dir: &std::path::Path| {
        let mut c = broker::BrokerConfig::ephemeral(dir);
        c.transactional_id_expiration = std::time::Duration::from_millis(1500);
        c
    };
    let broker = broker::start(config(dir.path())).await.unwrap();
    broker.ensure_topic("meta", 1).unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    let (idle_pid, _) = init_transaction(&mut s, "idle").await;
    let (open_pid, open_epoch) = init_transaction(&mut s, "open").await;
    let added: AddPartitionsToTxnResponse = call(
        &mut s,
        ApiKey::AddPartitionsToTxn,
        3,
        &add_partitions_request("open", open_pid, open_epoch, "meta", 0),
    )
    .await;
    assert_eq!(
        added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );

    assert_eq!(listed(&mut s).await, ["idle", "open"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while listed(&mut s).await != ["open"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle id was not forgotten within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    drop(s);
    broker.shutdown().await;

    let broker = broker::start(config(dir.path())).await.unwrap();
    let mut s = TcpStream::connect(broker.local_addr()).await.unwrap();
    assert_eq!(listed(&mut s).await, ["open"], "the tombstone survives a restart");
    let (again, _) = init_transaction(&mut s, "idle").await;
    assert_ne!(again, idle_pid, "a forgotten id starts with a new producer id");
}

/// OffsetFetch v7 with `require_stable` of `group`'s offset for meta-0: (error, offset).
async fn stable_offset(s: &mut TcpStream, group: &str) -> (i16, i64) {
    let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
    t.name = TopicName(StrBytes::from_static_str("meta"));
    t.partition_indexes = vec![0];
    let mut f = OffsetFetchRequest::default();
    f.group_id = GroupId(StrBytes::from_string(group.to_string()));
    f.topics = Some(vec![t]);
    f.require_stable = true;
    let r: OffsetFetchResponse = call(s, ApiKey::OffsetFetch, 7, &f).await;
    (
        r.topics[0].partitions[0].error_code,
        r.topics[0].partitions[0].committed_offset,
    )
}

/// A WriteTxnMarkers COMMIT in `__consumer_offsets` (what `kafka-transactions abort` sends, here
/// with the other outcome) settles the producer's transactional offsets as the coordinator's
/// own marker does: they stop being pending and become the group's.
#[tokio::test]
async fn a_client_marker_in_the_offsets_topic_settles_transactional_offsets() {
    let (broker, _dir, mut s) = start_with_topic("meta", 1).await;
    let (group, id) = ("marker-group", "marker-offsets");
    let (pid, epoch) = init_transaction(&mut s, id).await;
    let mut add = AddOffsetsToTxnRequest::default();
    add.transactional_id = TransactionalId(StrBytes::from_static_str(id));
    add.producer_id = ProducerId(pid);
    add.producer_epoch = epoch;
    add.group_id = GroupId(StrBytes::from_static_str(group));
    let added: AddOffsetsToTxnResponse = call(&mut s, ApiKey::AddOffsetsToTxn, 3, &add).await;
    assert_eq!(added.error_code, 0);
    let mut p = txn_offset_commit_request::TxnOffsetCommitRequestPartition::default();
    p.committed_offset = 5;
    let mut t = txn_offset_commit_request::TxnOffsetCommitRequestTopic::default();
    t.name = TopicName(StrBytes::from_static_str("meta"));
    t.partitions = vec![p];
    let mut r = TxnOffsetCommitRequest::default();
    r.transactional_id = TransactionalId(StrBytes::from_static_str(id));
    r.group_id = GroupId(StrBytes::from_static_str(group));
    r.producer_id = ProducerId(pid);
    r.producer_epoch = epoch;
    r.topics = vec![t];
    let resp: TxnOffsetCommitResponse = call(&mut s, ApiKey::TxnOffsetCommit, 3, &r).await;
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    assert_eq!(
        stable_offset(&mut s, group).await,
        (88, -1),
        "pending while the transaction is open"
    );

    let mut m = MetadataRequest::default();
    let mut mt = metadata_request::MetadataRequestTopic::default();
    mt.name = Some(TopicName(StrBytes::from_static_str("__consumer_offsets")));
    m.topics = Some(vec![mt]);
    let md: MetadataResponse = call(&mut s, ApiKey::Metadata, 12, &m).await;
    let offsets_partitions = md.topics[0].partitions.len();
    let mut mt = write_txn_markers_request::WritableTxnMarkerTopic::default();
    mt.name = TopicName(StrBytes::from_static_str("__consumer_offsets"));
    mt.partition_indexes = vec![broker::group::partition_for(group, offsets_partitions) as i32];
    let mut marker = write_txn_markers_request::WritableTxnMarker::default();
    marker.producer_id = ProducerId(pid);
    marker.producer_epoch = epoch;
    marker.transaction_result = true;
    marker.topics = vec![mt];
    let mut w = WriteTxnMarkersRequest::default();
    w.markers = vec![marker];
    let written: WriteTxnMarkersResponse = call(&mut s, ApiKey::WriteTxnMarkers, 1, &w).await;
    assert_eq!(written.markers[0].topics[0].partitions[0].error_code, 0);
    assert_eq!(
        stable_offset(&mut s, group).await,
        (0, 5),
        "the marker made them the group's offsets"
    );
    drop(broker);
}
