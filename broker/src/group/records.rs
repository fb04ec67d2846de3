//! Kafka's key and value schemas for `__consumer_offsets`
//! (docs/kafka-protocol.md#consumer-offsets-topic-schemas; AK
//! group-coordinator/src/main/resources/common/message/{OffsetCommit,GroupMetadata}{Key,Value}.json).
//!
//! Every key and value starts with an i16 schema version. `string` is an i16 length and UTF-8
//! (-1 = null), `bytes` an i32 length and the bytes; all integers big-endian.
//!
//! ```text
//! offset key   v1  i16 1 | string group | string topic | i32 partition
//! offset value v3  i16 3 | i64 offset | i32 leader_epoch | string metadata | i64 commit_timestamp
//! offset value v1  i16 1 | i64 offset | string metadata | i64 commit_timestamp | i64 expire_timestamp
//! group key    v2  i16 2 | string group
//! consumer keys    i16 3–8 | string group [| string member for 5, 7, 8]  (consumer::records)
//! group value  v3  i16 3 | string protocol_type | i32 generation | string? protocol | string? leader
//!                  | i64 current_state_timestamp | i32 count | member*
//! member (v3)      string member_id | string? group_instance_id | string client_id | string client_host
//!                  | i32 rebalance_timeout | i32 session_timeout | bytes subscription | bytes assignment
//! tombstone        the key with a null value
//! ```
//!
//! We write offset value v3 (v1 only when the commit carried an explicit retention, the one
//! case Kafka does too) and group value v3: the versions Burrow accepts (it rejects offset v2
//! and group v4). Reading accepts every version up to those, so older files load too.

use bytes::{BufMut, Bytes, BytesMut};

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const OFFSET_VALUE_WITH_EXPIRY: i16 = 1;
const GROUP_VALUE_VERSION: i16 = 3;

/// A record key of `__consumer_offsets` that does not follow Kafka's schemas.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed __consumer_offsets record: {0}")]
pub struct RecordError(pub String);

/// What a record is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
    /// One of the records of a KIP-848 consumer group (key versions 3–8, `consumer::records`).
    Consumer {
        group: String,
        part: ConsumerPart,
    },
}

/// What a consumer group record holds; Kafka's key version for each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConsumerPart {
    /// 3: the group epoch.
    Metadata,
    /// 4: the subscribed topics' metadata, which Kafka 4.1 stopped writing; read and ignored.
    PartitionMetadata,
    /// 5: a member's subscription and client.
    Member(String),
    /// 6: the assignment epoch.
    TargetMetadata,
    /// 7: a member's target assignment.
    TargetMember(String),
    /// 8: a member's epochs and current assignment.
    CurrentAssignment(String),
}

impl ConsumerPart {
    fn version(&self) -> i16 {
        match self {
            ConsumerPart::Metadata => 3,
            ConsumerPart::PartitionMetadata => 4,
            ConsumerPart::Member(_) => 5,
            ConsumerPart::TargetMetadata => 6,
            ConsumerPart::TargetMember(_) => 7,
            ConsumerPart::CurrentAssignment(_) => 8,
        }
    }

    fn member(&self) -> Option<&str> {
        match self {
            ConsumerPart::Member(m) | ConsumerPart::TargetMember(m) | ConsumerPart::CurrentAssignment(m) => Some(m),
            _ => None,
        }
    }
}

impl RecordKey {
    pub fn group(&self) -> &str {
        match self {
            RecordKey::Offset { group, .. } | RecordKey::Group { group } | RecordKey::Consumer { group, .. } => group,
        }
    }
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Only from OffsetCommit v2–4 with an explicit `retention_time_ms`.
    pub expire_timestamp: Option<i64>,
}

/// A group's completed generation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// -1 when unknown.
    pub current_state_timestamp: i64,
    pub members: Vec<MemberValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

pub fn encode_key(key: &RecordKey) -> Bytes {
    let mut b = BytesMut::new();
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => {
            b.put_i16(OFFSET_KEY_VERSION);
            put_string(&mut b, group);
            put_string(&mut b, topic);
            b.put_i32(*partition);
        }
        RecordKey::Group { group } => {
            b.put_i16(GROUP_KEY_VERSION);
            put_string(&mut b, group);
        }
        RecordKey::Consumer { group, part } => {
            b.put_i16(part.version());
            put_string(&mut b, group);
            if let Some(member) = part.member() {
                put_string(&mut b, member);
            }
        }
    }
    b.freeze()
}

pub fn encode_offset_value(v: &OffsetValue) -> Bytes {
    let mut b = BytesMut::new();
    match v.expire_timestamp {
        None => {
            b.put_i16(OFFSET_VALUE_VERSION);
            b.put_i64(v.offset);
            b.put_i32(v.leader_epoch);
            put_string(&mut b, &v.metadata);
            b.put_i64(v.commit_timestamp);
        }
        Some(expire) => {
            b.put_i16(OFFSET_VALUE_WITH_EXPIRY);
            b.put_i64(v.offset);
            put_string(&mut b, &v.metadata);
            b.put_i64(v.commit_timestamp);
            b.put_i64(expire);
        }
    }
    b.freeze()
}

pub fn encode_group_value(v: &GroupValue) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(GROUP_VALUE_VERSION);
    put_string(&mut b, &v.protocol_type);
    b.put_i32(v.generation);
    put_nullable_string(&mut b, v.protocol.as_deref());
    put_nullable_string(&mut b, v.leader.as_deref());
    b.put_i64(v.current_state_timestamp);
    b.put_i32(v.members.len() as i32);
    for m in &v.members {
        put_string(&mut b, &m.member_id);
        put_nullable_string(&mut b, m.group_instance_id.as_deref());
        put_string(&mut b, &m.client_id);
        put_string(&mut b, &m.client_host);
        b.put_i32(m.rebalance_timeout);
        b.put_i32(m.session_timeout);
        b.put_i32(m.subscription.len() as i32);
        b.put_slice(&m.subscription);
        b.put_i32(m.assignment.len() as i32);
        b.put_slice(&m.assignment);
    }
    b.freeze()
}

pub fn decode_key(bytes: &[u8]) -> Result<RecordKey, RecordError> {
    let mut c = Cursor(bytes);
    match c.i16()? {
        0 | 1 => Ok(RecordKey::Offset {
            group: c.string()?,
            topic: c.string()?,
            partition: c.i32()?,
        }),
        2 => Ok(RecordKey::Group { group: c.string()? }),
        v @ 3..=8 => {
            let group = c.string()?;
            let part = match v {
                3 => ConsumerPart::Metadata,
                4 => ConsumerPart::PartitionMetadata,
                5 => ConsumerPart::Member(c.string()?),
                6 => ConsumerPart::TargetMetadata,
                7 => ConsumerPart::TargetMember(c.string()?),
                _ => ConsumerPart::CurrentAssignment(c.string()?),
            };
            Ok(RecordKey::Consumer { group, part })
        }
        v => Err(RecordError(format!("unknown key version {v}"))),
    }
}

pub fn decode_offset_value(bytes: &[u8]) -> Result<OffsetValue, RecordError> {
    let mut c = Cursor(bytes);
    let version = c.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError(format!("unknown offset value version {version}")));
    }
    let offset = c.i64()?;
    let leader_epoch = if version >= 3 { c.i32()? } else { -1 };
    let metadata = c.string()?;
    let commit_timestamp = c.i64()?;
    let expire_timestamp = if version == 1 { Some(c.i64()?) } else { None };
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

pub fn decode_group_value(bytes: &[u8]) -> Result<GroupValue, RecordError> {
    let mut c = Cursor(bytes);
    let version = c.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError(format!("unknown group value version {version}")));
    }
    let mut v = GroupValue {
        protocol_type: c.string()?,
        generation: c.i32()?,
        protocol: c.nullable_string()?,
        leader: c.nullable_string()?,
        current_state_timestamp: if version >= 2 { c.i64()? } else { -1 },
        members: Vec::new(),
    };
    let count = c.i32()?;
    // A member takes at least 18 bytes (v0), so a count the bytes cannot hold is refused
    // before anything is allocated for it.
    if count < 0 || count as usize > c.0.len() / 18 {
        return Err(RecordError(format!("member count {count} does not fit the record")));
    }
    for _ in 0..count {
        let member_id = c.string()?;
        let group_instance_id = if version >= 3 { c.nullable_string()? } else { None };
        let client_id = c.string()?;
        let client_host = c.string()?;
        let rebalance_timeout = if version >= 1 { c.i32()? } else { -1 };
        let session_timeout = c.i32()?;
        v.members.push(MemberValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout: if version >= 1 {
                rebalance_timeout
            } else {
                session_timeout
            },
            session_timeout,
            subscription: c.bytes()?,
            assignment: c.bytes()?,
        });
    }
    Ok(v)
}

fn put_string(b: &mut BytesMut, s: &str) {
    put_nullable_string(b, Some(s));
}

/// Kafka strings are at most i16::MAX bytes; a longer one is cut at a character boundary
/// rather than written with a wrapped length (group ids, topics and metadata are all bounded
/// well below this on the way in).
fn put_nullable_string(b: &mut BytesMut, s: Option<&str>) {
    match s {
        None => b.put_i16(-1),
        Some(s) => {
            let mut end = s.len().min(i16::MAX as usize);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            b.put_i16(end as i16);
            b.put_slice(&s.as_bytes()[..end]);
        }
    }
}

/// A bounds-checked reader over one key or value.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        if n > self.0.len() {
            return Err(RecordError(format!("needs {n} more bytes, has {}", self.0.len())));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn nullable_string(&mut self) -> Result<Option<String>, RecordError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| RecordError("string is not UTF-8".into()))
    }

    fn string(&mut self) -> Result<String, RecordError> {
        self.nullable_string()?
            .ok_or_else(|| RecordError("null where a string is required".into()))
    }

    fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let len = self.i32()?;
        let len = usize::try_from(len).map_err(|_| RecordError(format!("negative bytes length {len}")))?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn offset_key_v1_layout_is_kafkas() {
        let key = RecordKey::Offset {
            group: "g".into(),
            topic: "tp".into(),
            partition: 3,
        };
        let bytes = encode_key(&key);
        assert_eq!(&bytes[..], &[0, 1, 0, 1, b'g', 0, 2, b't', b'p', 0, 0, 0, 3]);
        assert_eq!(decode_key(&bytes), Ok(key));
    }

    #[test]
    fn group_key_v2_layout_is_kafkas() {
        let key = RecordKey::Group { group: "grp".into() };
        assert_eq!(&encode_key(&key)[..], &[0, 2, 0, 3, b'g', b'r', b'p']);
        // Version 0 keys are offset keys with the same layout as version 1.
        let v0 = [0, 0, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 9];
        assert_eq!(
            decode_key(&v0).unwrap(),
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 9
            }
        );
    }

    #[test]
    fn offset_value_v3_layout_is_kafkas() {
        let v = OffsetValue {
            offset: 0x0102,
            leader_epoch: -1,
            metadata: "m".into(),
            commit_timestamp: 7,
            expire_timestamp: None,
        };
        let bytes = encode_offset_value(&v);
        #[rustfmt::skip]
        let expected = [
            0, 3,                         // version
            0, 0, 0, 0, 0, 0, 1, 2,       // offset
            0xff, 0xff, 0xff, 0xff,       // leader epoch -1
            0, 1, b'm',                   // metadata
            0, 0, 0, 0, 0, 0, 0, 7,       // commit timestamp
        ];
        assert_eq!(&bytes[..], &expected);
        assert_eq!(decode_offset_value(&bytes), Ok(v));
    }

    #[test]
    fn an_explicit_expiry_is_written_as_offset_value_v1() {
        let v = OffsetValue {
            offset: 5,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 1,
            expire_timestamp: Some(2),
        };
        let bytes = encode_offset_value(&v);
        assert_eq!(&bytes[..2], &[0, 1]);
        assert_eq!(bytes.len(), 2 + 8 + 2 + 8 + 8);
        assert_eq!(decode_offset_value(&bytes), Ok(v));
    }

    #[test]
    fn group_value_v3_layout_is_kafkas() {
        let v = GroupValue {
            protocol_type: "consumer".into(),
            generation: 2,
            protocol: Some("range".into()),
            leader: None,
            current_state_timestamp: 9,
            members: vec![MemberValue {
                member_id: "m".into(),
                group_instance_id: None,
                client_id: "c".into(),
                client_host: "/h".into(),
                rebalance_timeout: 300,
                session_timeout: 45,
                subscription: Bytes::from_static(b"S"),
                assignment: Bytes::new(),
            }],
        };
        let bytes = encode_group_value(&v);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0u8, 3][..],                                            // version
            &[0, 8], b"consumer",                                     // protocol type
            &[0, 0, 0, 2],                                            // generation
            &[0, 5], b"range",                                        // protocol
            &[0xff, 0xff],                                            // leader: null
            &[0, 0, 0, 0, 0, 0, 0, 9],                                // current state timestamp
            &[0, 0, 0, 1],                                            // member count
            &[0, 1], b"m", &[0xff, 0xff], &[0, 1], b"c", &[0, 2], b"/h",
            &[0, 0, 1, 44], &[0, 0, 0, 45],                           // rebalance, session timeout
            &[0, 0, 0, 1], b"S", &[0, 0, 0, 0],                       // subscription, assignment
        ]
        .concat();
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(decode_group_value(&bytes), Ok(v));
    }

    #[test]
    fn unknown_versions_and_short_or_hostile_input_are_errors() {
        assert!(decode_key(&[0, 9, 0, 0]).is_err());
        // A consumer group member key (5) without its member id.
        assert!(decode_key(&[0, 5, 0, 1, b'g']).is_err());
        assert!(decode_key(&[0, 3, 0, 1, b'g']).is_ok());
        assert!(decode_offset_value(&[0, 4]).is_err());
        assert!(decode_group_value(&[0, 4]).is_err());
        assert!(decode_key(&[0, 1, 0x7f, 0xff, b'a']).is_err());
        // A member count of i32::MAX with no members behind it.
        let mut v = encode_group_value(&GroupValue::default()).to_vec();
        let n = v.len();
        v[n - 4..].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_group_value(&v).is_err());
    }

    fn string() -> impl Strategy<Value = String> {
        "[a-z0-9._-]{0,12}"
    }

    fn member() -> impl Strategy<Value = MemberValue> {
        (
            string(),
            proptest::option::of(string()),
            string(),
            string(),
            any::<i32>(),
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(m, i, c, h, r, s, sub, asg)| MemberValue {
                member_id: m,
                group_instance_id: i,
                client_id: c,
                client_host: h,
                rebalance_timeout: r,
                session_timeout: s,
                subscription: sub.into(),
                assignment: asg.into(),
            })
    }

    proptest! {
        #[test]
        fn records_round_trip(
            group in string(), topic in string(), partition in any::<i32>(),
            offset in any::<i64>(), metadata in string(), ts in any::<i64>(), expire in proptest::option::of(any::<i64>()),
            generation in any::<i32>(), protocol in proptest::option::of(string()),
            leader in proptest::option::of(string()), members in proptest::collection::vec(member(), 0..4),
        ) {
            let key = RecordKey::Offset { group: group.clone(), topic, partition };
            prop_assert_eq!(decode_key(&encode_key(&key)).unwrap(), key);
            let key = RecordKey::Group { group };
            prop_assert_eq!(decode_key(&encode_key(&key)).unwrap(), key);
            let leader_epoch = if expire.is_some() { -1 } else { 4 };
            let v = OffsetValue { offset, leader_epoch, metadata, commit_timestamp: ts, expire_timestamp: expire };
            prop_assert_eq!(decode_offset_value(&encode_offset_value(&v)).unwrap(), v);
            let g = GroupValue { protocol_type: "consumer".into(), generation, protocol, leader, current_state_timestamp: ts, members };
            prop_assert_eq!(decode_group_value(&encode_group_value(&g)).unwrap(), g);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_key(&bytes);
            let _ = decode_offset_value(&bytes);
            let _ = decode_group_value(&bytes);
        }
    }
}
