//! The consumer protocol's assignment: the bytes a classic group's leader hands each member in
//! SyncGroup, and that DescribeGroups returns as a member's `assignment` (Kafka's
//! `ConsumerProtocolAssignment` schema, clients/src/main/resources/common/message/ in Kafka's
//! source):
//!
//! ```text
//! i16 version
//! i32 topic count, then per topic:  i16 name length, name, i32 partition count, i32 partition...
//! bytes user_data                   (ignored here; version 1+ adds nothing read here either)
//! ```

/// Each assigned topic with its partitions, in the order the leader wrote them. The bytes come
/// from another client, so anything malformed or cut short yields what was read up to there,
/// never a panic or an allocation sized by the input.
pub fn assignment(mut b: &[u8]) -> Vec<(String, Vec<i32>)> {
    let mut out = Vec::new();
    let _version = take_i16(&mut b);
    let topics = take_i32(&mut b).unwrap_or(0);
    for _ in 0..topics.max(0) {
        let Some(len) = take_i16(&mut b) else { break };
        let Some(name) = take(&mut b, len.max(0) as usize) else {
            break;
        };
        let mut partitions = Vec::new();
        let count = take_i32(&mut b).unwrap_or(0);
        for _ in 0..count.max(0) {
            let Some(p) = take_i32(&mut b) else { break };
            partitions.push(p);
        }
        out.push((String::from_utf8_lossy(name).into_owned(), partitions));
    }
    out
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (b.get(..n)?, b.get(n..)?);
    *b = rest;
    Some(head)
}

fn take_i16(b: &mut &[u8]) -> Option<i16> {
    take(b, 2).map(|x| i16::from_be_bytes([x[0], x[1]]))
}

fn take_i32(b: &mut &[u8]) -> Option<i32> {
    take(b, 4).map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

#[cfg(test)]
mod tests {
    use super::assignment;

    fn encode(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut b = vec![0, 1];
        b.extend((topics.len() as i32).to_be_bytes());
        for (t, ps) in topics {
            b.extend((t.len() as i16).to_be_bytes());
            b.extend(t.as_bytes());
            b.extend((ps.len() as i32).to_be_bytes());
            for p in *ps {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend([0, 0, 0, 0]); // empty user_data
        b
    }

    #[test]
    fn topics_and_partitions_decode_in_the_leaders_order() {
        let b = encode(&[("metrics", &[0, 3]), ("dlq", &[1]), ("idle", &[])]);
        assert_eq!(
            assignment(&b),
            vec![
                ("metrics".to_string(), vec![0, 3]),
                ("dlq".to_string(), vec![1]),
                ("idle".to_string(), vec![])
            ]
        );
    }

    #[test]
    fn garbage_and_every_truncation_decode_without_panicking() {
        assert!(assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_empty());
        let b = encode(&[("cpu", &[4, 5])]);
        // Cut inside the name: nothing; cut inside the partitions: the topic with what was read.
        assert!(assignment(&b[..9]).is_empty());
        assert_eq!(assignment(&b[..19]), vec![("cpu".to_string(), vec![4])]);
        for cut in 0..b.len() {
            let _ = assignment(&b[..cut]);
        }
    }
}
