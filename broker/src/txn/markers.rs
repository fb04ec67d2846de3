//! Writing a transaction's markers into its partitions.

use kafka_protocol::error::ResponseError;

use super::{Env, TxnMeta, COORDINATOR_EPOCH};
use crate::record::{marker_batch, BatchHeader, ControlType};

/// Appends a `kind` marker to every partition of `meta`'s transaction and waits until each is
/// on disk. A partition whose topic was deleted meanwhile has nothing left to mark.
pub(super) async fn write_markers(
    broker: &dyn Env,
    meta: &TxnMeta,
    kind: ControlType,
    now: i64,
) -> Result<(), ResponseError> {
    let mut written = Vec::new();
    for (topic, index) in &meta.partitions {
        let Some(partition) = broker.topics().get(topic).and_then(|t| t.partition(*index).cloned()) else {
            continue;
        };
        let mut batch = marker_batch(meta.producer_id, meta.epoch, COORDINATOR_EPOCH, kind, now);
        let header = BatchHeader::parse(&batch).map_err(|_| ResponseError::UnknownServerError)?;
        match partition.append(&mut batch, &header, now) {
            Ok(appended) => written.push((partition, appended.end_offset())),
            Err(e) => {
                tracing::error!(%topic, partition = index, error = %e, "cannot write a transaction marker");
                return Err(ResponseError::KafkaStorageError);
            }
        }
    }
    broker.appended();
    for (partition, end) in written {
        if partition.sync_to(end).await.is_err() {
            return Err(ResponseError::KafkaStorageError);
        }
    }
    Ok(())
}
