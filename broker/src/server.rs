//! The life of a connection: accept → read one frame → handle it → write the answer → next.
//!
//! Requests on one connection are handled strictly one at a time and answered in order, as Kafka
//! does (it mutes a socket until its response is sent; kafka-python and sarama depend on the
//! order). Pipelined requests are still cheap: answers collect in one buffer and are written when
//! no complete request is waiting. A frame that breaks the rules closes that connection alone,
//! with one log line; nothing a client sends can stop the broker or another client.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::handlers;
use crate::metrics::BadRequest;
use crate::state::Broker;

/// The smallest frame that can hold a request header's fixed part (key, version, correlation id).
const MIN_FRAME: i32 = 8;
/// How much of a frame we allocate before its bytes arrive: a client that announces 100 MiB and
/// sends 10 bytes costs us this much, not 100 MiB.
const READ_CHUNK: usize = 64 * 1024;
/// Write pending answers once they pass this size even if more requests are queued.
const WRITE_HIGH_WATER: usize = 1 << 20;

/// Why a connection was closed early.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame size {0} is below the minimum of {MIN_FRAME} bytes")]
    TooSmall(i32),
    #[error("frame size {size} exceeds socket.request.max.bytes ({max})")]
    TooLarge { size: i32, max: usize },
    #[error("connection closed in the middle of a {size}-byte frame")]
    Truncated { size: i32 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    broker.metrics.set_accepting(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, broker.clone()));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning; existing clients go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    broker.metrics.set_accepting(false);
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn connection(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>) {
    let _open = broker.metrics.connection_opened();
    // Small responses (acks, heartbeats) must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::with_capacity(READ_CHUNK, read);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let max = broker.config.socket_request_max_bytes;
    loop {
        let frame = match read_frame(&mut read, max).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(e) => {
                if !matches!(e, FrameError::Io(_)) {
                    broker.metrics.bad_request(BadRequest::Frame);
                }
                tracing::warn!(%peer, error = %e, "closing connection");
                return;
            }
        };
        if let Err(e) = handlers::handle(&broker, peer, frame, &mut out).await {
            broker.metrics.bad_request(BadRequest::Request);
            tracing::warn!(%peer, error = %e, "closing connection after a bad request");
            let _ = write.write_all(&out).await;
            return;
        }
        if !out.is_empty() && (out.len() >= WRITE_HIGH_WATER || !holds_complete_frame(read.buffer())) {
            if let Err(e) = write.write_all(&out).await {
                tracing::debug!(%peer, error = %e, "client went away");
                return;
            }
            out.clear();
        }
    }
}

/// True when `buf` already holds a whole next request, so answering can wait for it.
fn holds_complete_frame(buf: &[u8]) -> bool {
    match buf.get(..4) {
        Some(size) => {
            let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
            size >= 0 && buf.len() - 4 >= size as usize
        }
        None => false,
    }
}

/// Reads one size-prefixed frame. `Ok(None)` is a clean close between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(read: &mut R, max: usize) -> Result<Option<Bytes>, FrameError> {
    let size = match read.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if size < MIN_FRAME {
        return Err(FrameError::TooSmall(size));
    }
    if size as usize > max {
        return Err(FrameError::TooLarge { size, max });
    }
    let size_usize = size as usize;
    let mut buf = BytesMut::with_capacity(size_usize.min(READ_CHUNK));
    while buf.len() < size_usize {
        let want = (size_usize - buf.len()).min(READ_CHUNK);
        buf.reserve(want);
        let n = (&mut *read).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(FrameError::Truncated { size });
        }
    }
    Ok(Some(buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frame_of(bytes: &[u8]) -> Result<Option<Bytes>, FrameError> {
        let mut r = bytes;
        read_frame(&mut r, 1024).await
    }

    #[tokio::test]
    async fn frames_outside_the_limits_are_refused_before_reading_the_body() {
        assert!(matches!(
            frame_of(&(-5i32).to_be_bytes()).await,
            Err(FrameError::TooSmall(-5))
        ));
        assert!(matches!(
            frame_of(&7i32.to_be_bytes()).await,
            Err(FrameError::TooSmall(7))
        ));
        assert!(matches!(
            frame_of(&2000i32.to_be_bytes()).await,
            Err(FrameError::TooLarge { size: 2000, .. })
        ));
    }

    #[tokio::test]
    async fn a_frame_cut_short_is_an_error_and_a_clean_close_is_not() {
        let mut bytes = 100i32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 10]);
        assert!(matches!(
            frame_of(&bytes).await,
            Err(FrameError::Truncated { size: 100 })
        ));
        assert!(matches!(frame_of(&[]).await, Ok(None)));
    }

    #[tokio::test]
    async fn whole_frames_are_returned_exactly() {
        let mut bytes = 9i32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"123456789rest");
        assert_eq!(
            frame_of(&bytes).await.unwrap().unwrap(),
            Bytes::from_static(b"123456789")
        );
    }

    #[test]
    fn a_partial_next_frame_does_not_hold_back_answers() {
        assert!(!holds_complete_frame(&[0, 0]));
        assert!(!holds_complete_frame(&[0, 0, 0, 9, 1, 2]));
        assert!(holds_complete_frame(&[0, 0, 0, 2, 1, 2]));
    }
}
