//! A transactional id's state, and its record in `__transaction_state` in Kafka's own format
//! (`TransactionLogKey` / `TransactionLogValue` version 0 of Kafka's
//! [transaction coordinator schemas](https://github.com/apache/kafka/tree/trunk/transaction-coordinator/src/main/resources/common/message)),
//! so Kafka's `kafka-dump-log --transaction-log-decoder` reads the topic.
//!
//! ```text
//! key:   i16 version (0), string transactional_id
//! value: i16 version (0), i64 producer_id, i16 producer_epoch, i32 transaction_timeout_ms,
//!        i8 status, [string topic, [i32 partition]] partitions,
//!        i64 last_update_timestamp_ms, i64 start_timestamp_ms
//! ```
//! Strings are an i16 length and UTF-8; arrays an i32 count. Integers are big-endian.

use std::collections::BTreeSet;

/// Kafka's `TransactionState`, with its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    Dead = 6,
    PrepareEpochFence = 7,
}

impl TxnState {
    fn from_code(code: i8) -> Option<TxnState> {
        use TxnState::*;
        [
            Empty,
            Ongoing,
            PrepareCommit,
            PrepareAbort,
            CompleteCommit,
            CompleteAbort,
            Dead,
            PrepareEpochFence,
        ]
        .into_iter()
        .find(|s| *s as i8 == code)
    }

    /// Kafka's name, as `kafka-transactions` prints it.
    pub fn name(self) -> &'static str {
        use TxnState::*;
        match self {
            Empty => "Empty",
            Ongoing => "Ongoing",
            PrepareCommit => "PrepareCommit",
            PrepareAbort => "PrepareAbort",
            CompleteCommit => "CompleteCommit",
            CompleteAbort => "CompleteAbort",
            Dead => "Dead",
            PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// One transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMeta {
    pub producer_id: i64,
    pub epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions the open (or ending) transaction wrote to or will commit offsets in.
    pub partitions: BTreeSet<(String, i32)>,
    pub last_update_ms: i64,
    /// When the open (or the last) transaction began, at its first partition; -1 before the
    /// first.
    pub start_ms: i64,
    /// The epoch the producer had when the coordinator aborted its transaction at its timeout
    /// (KIP-588: it may still ask for a new epoch with it). Kept in memory only, as in Kafka.
    pub timed_out_epoch: Option<i16>,
}

pub fn encode_key(transactional_id: &str) -> Vec<u8> {
    let mut out = 0i16.to_be_bytes().to_vec();
    put_string(&mut out, transactional_id);
    out
}

pub fn encode_value(m: &TxnMeta) -> Vec<u8> {
    let mut out = 0i16.to_be_bytes().to_vec();
    out.extend_from_slice(&m.producer_id.to_be_bytes());
    out.extend_from_slice(&m.epoch.to_be_bytes());
    out.extend_from_slice(&m.timeout_ms.to_be_bytes());
    out.push(m.state as i8 as u8);
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for (topic, partition) in &m.partitions {
        match topics.last_mut() {
            Some((t, ps)) if t == topic => ps.push(*partition),
            _ => topics.push((topic, vec![*partition])),
        }
    }
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for (topic, partitions) in topics {
        put_string(&mut out, topic);
        out.extend_from_slice(&(partitions.len() as i32).to_be_bytes());
        for p in partitions {
            out.extend_from_slice(&p.to_be_bytes());
        }
    }
    out.extend_from_slice(&m.last_update_ms.to_be_bytes());
    out.extend_from_slice(&m.start_ms.to_be_bytes());
    out
}

/// The transactional id of a key; `None` for another version or bytes that do not read.
pub fn decode_key(bytes: &[u8]) -> Option<String> {
    let mut r = bytes;
    (take::<2>(&mut r).map(i16::from_be_bytes)? == 0).then_some(())?;
    take_string(&mut r)
}

/// A value; `None` for another version or bytes that do not read.
pub fn decode_value(bytes: &[u8]) -> Option<TxnMeta> {
    let mut r = bytes;
    (take::<2>(&mut r).map(i16::from_be_bytes)? == 0).then_some(())?;
    let producer_id = i64::from_be_bytes(take(&mut r)?);
    let epoch = i16::from_be_bytes(take(&mut r)?);
    let timeout_ms = i32::from_be_bytes(take(&mut r)?);
    let state = TxnState::from_code(i8::from_be_bytes(take(&mut r)?))?;
    let topics = i32::from_be_bytes(take(&mut r)?);
    let mut partitions = BTreeSet::new();
    for _ in 0..topics.max(0) {
        let topic = take_string(&mut r)?;
        let n = i32::from_be_bytes(take(&mut r)?);
        for _ in 0..n.max(0) {
            partitions.insert((topic.clone(), i32::from_be_bytes(take(&mut r)?)));
        }
    }
    Some(TxnMeta {
        producer_id,
        epoch,
        timeout_ms,
        state,
        partitions,
        last_update_ms: i64::from_be_bytes(take(&mut r)?),
        start_ms: i64::from_be_bytes(take(&mut r)?),
        timed_out_epoch: None,
    })
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take<const N: usize>(r: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = r.split_first_chunk::<N>()?;
    *r = rest;
    Some(*head)
}

fn take_string(r: &mut &[u8]) -> Option<String> {
    let len = usize::try_from(i16::from_be_bytes(take(r)?)).ok()?;
    let bytes = r.get(..len)?;
    *r = &r[len..];
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_has_kafkas_layout() {
        let meta = TxnMeta {
            producer_id: 1000,
            epoch: 3,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: [("a".to_string(), 1), ("a".to_string(), 0), ("b".to_string(), 2)].into(),
            last_update_ms: 5,
            start_ms: 4,
            timed_out_epoch: None,
        };
        assert_eq!(encode_key("tx"), [0, 0, 0, 2, b't', b'x']);
        assert_eq!(decode_key(&encode_key("tx")).as_deref(), Some("tx"));
        let value = encode_value(&meta);
        // version, id, epoch, timeout, status, then 2 topics: "a" [0, 1].
        assert_eq!(
            &value[..2 + 8 + 2 + 4 + 1 + 4],
            &[0, 0, 0, 0, 0, 0, 0, 0, 3, 232, 0, 3, 0, 0, 234, 96, 1, 0, 0, 0, 2]
        );
        assert_eq!(decode_value(&value), Some(meta));
        for cut in 0..value.len() {
            assert_eq!(decode_value(&value[..cut]), None);
        }
    }
}
