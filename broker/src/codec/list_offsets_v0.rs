//! ListOffsets answers at every version the broker serves, v0 included: Kafka 4 and the protocol
//! crate dropped v0 (KIP-896), whose answer gives each partition a list of offsets
//! ("old-style offsets") where later versions give one offset and its timestamp. sarama-based
//! monitors such as Burrow 1.x still ask head offsets with v0.
//!
//! ```text
//! v0 response: [topics]      i32 count, then each:
//!   name                     i16 length + bytes
//!   [partitions]             i32 count, then each:
//!     partition_index        i32
//!     error_code             i16
//!     [old_style_offsets]    i32 count, then i64 each
//! ```
//!
//! The offsets are those of the v1 answer: one offset when there is one, none otherwise (a
//! partition with an error, or no record at or after the time asked for). Kafka's v0 could list
//! more (segment base offsets, up to `max_num_offsets`); clients ask for one.

use kafka_protocol::messages::ListOffsetsResponse;
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::Encodable;

/// A ListOffsets answer that encodes v0 itself and leaves later versions to the crate.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOffsetsAnswer(pub ListOffsetsResponse);

/// Each partition's old-style offsets: its offset, unless it failed or found none.
fn old_style(p: &kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse) -> Option<i64> {
    (p.error_code == 0 && p.offset >= 0).then_some(p.offset)
}

impl Encodable for ListOffsetsAnswer {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> anyhow::Result<()> {
        if version != 0 {
            return self.0.encode(buf, version);
        }
        let count = |n: usize| i32::try_from(n).map_err(|_| anyhow::anyhow!("{n} items do not fit an array"));
        buf.put_i32(count(self.0.topics.len())?);
        for t in &self.0.topics {
            let name = t.name.as_bytes();
            buf.put_i16(i16::try_from(name.len()).map_err(|_| anyhow::anyhow!("topic name too long"))?);
            buf.put_slice(name);
            buf.put_i32(count(t.partitions.len())?);
            for p in &t.partitions {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                match old_style(p) {
                    Some(offset) => {
                        buf.put_i32(1);
                        buf.put_i64(offset);
                    }
                    None => buf.put_i32(0),
                }
            }
        }
        Ok(())
    }

    fn compute_size(&self, version: i16) -> anyhow::Result<usize> {
        if version != 0 {
            return self.0.compute_size(version);
        }
        let mut size = 4;
        for t in &self.0.topics {
            size += 2 + t.name.len() + 4;
            for p in &t.partitions {
                size += 4 + 2 + 4 + old_style(p).map_or(0, |_| 8);
            }
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::{Decodable, StrBytes};

    fn answer() -> ListOffsetsAnswer {
        let mut found = ListOffsetsPartitionResponse::default();
        (found.partition_index, found.offset, found.timestamp) = (0, 42, -1);
        let mut failed = ListOffsetsPartitionResponse::default();
        (failed.partition_index, failed.error_code, failed.offset) = (1, 3, -1);
        let mut t = ListOffsetsTopicResponse::default();
        t.name = TopicName(StrBytes::from_static_str("metrics"));
        t.partitions = vec![found, failed];
        let mut r = ListOffsetsResponse::default();
        r.topics = vec![t];
        ListOffsetsAnswer(r)
    }

    #[test]
    fn version_0_lists_one_offset_per_partition_that_has_one() {
        let mut buf = bytes::BytesMut::new();
        answer().encode(&mut buf, 0).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&7i16.to_be_bytes());
        expected.extend_from_slice(b"metrics");
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(&0i32.to_be_bytes()); // partition 0
        expected.extend_from_slice(&0i16.to_be_bytes());
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&42i64.to_be_bytes());
        expected.extend_from_slice(&1i32.to_be_bytes()); // partition 1
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(&buf[..], &expected[..]);
        assert_eq!(answer().compute_size(0).unwrap(), expected.len());
    }

    #[test]
    fn later_versions_are_the_crates_encoding() {
        for version in 1..=7 {
            let mut ours = bytes::BytesMut::new();
            answer().encode(&mut ours, version).unwrap();
            let back = ListOffsetsResponse::decode(&mut ours.freeze(), version).unwrap();
            assert_eq!(back.topics[0].partitions[0].offset, 42, "v{version}");
        }
    }
}
