//! The life of a connection: accept → read one frame → handle it → write the answer → next.
//!
//! Requests on one connection are handled strictly one at a time and answered in order, as Kafka
//! does (it mutes a socket until its response is sent; kafka-python and sarama depend on the
//! order). Pipelined requests are still cheap: answers collect in one buffer and are written when
//! no complete request is waiting. A frame that breaks the rules closes that connection alone,
//! with one log line; nothing a client sends can stop the broker or another client. On SSL and
//! SASL_SSL listeners the same loop runs over a TLS stream; on SASL listeners the session lets
//! nothing but ApiVersions and the SASL exchange through until the client has authenticated.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use tokio_rustls::TlsAcceptor;

use crate::auth::sasl::{SaslSession, Step};
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
    #[error("frame size {0} is below the minimum for a request header ({MIN_FRAME} bytes)")]
    TooSmall(i32),
    #[error("frame size {size} exceeds socket.request.max.bytes ({max})")]
    TooLarge { size: i32, max: usize },
    #[error("connection closed in the middle of a {size}-byte frame")]
    Truncated { size: i32 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How long a client may take over its TLS handshake before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Kafka's `sasl.server.max.receive.size`: the largest frame before authentication.
const MAX_FRAME_BEFORE_AUTH: usize = 524_288;

/// One connection's state beyond its socket: who it is and how far it has authenticated.
pub struct Session {
    pub peer: SocketAddr,
    pub sasl: SaslSession,
    /// Which of `listeners` the connection came in on (an index into `Broker::advertised`).
    pub listener: usize,
}

/// How the listener's connections are secured.
#[derive(Clone)]
pub struct Security {
    pub tls: Option<TlsAcceptor>,
    pub sasl: bool,
    /// The listener's index in `listeners`.
    pub listener: usize,
}

pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    security: Security,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    broker.metrics.set_accepting(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(accept(stream, peer, broker.clone(), security.clone()));
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

/// Completes the TLS handshake where the listener asks for one, then serves the connection.
async fn accept(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>, security: Security) {
    let _open = broker.metrics.connection_opened();
    // Small responses (acks, heartbeats) must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let session = Session {
        peer,
        sasl: SaslSession::new(security.sasl),
        listener: security.listener,
    };
    match security.tls {
        None => {
            let (read, write) = stream.into_split();
            connection(read, write, session, broker).await
        }
        Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                let (read, write) = tokio::io::split(tls);
                connection(read, write, session, broker).await
            }
            Ok(Err(e)) => {
                broker.metrics.bad_request(BadRequest::Tls);
                tracing::warn!(%peer, error = %e, "closing connection: TLS handshake failed");
            }
            Err(_) => {
                broker.metrics.bad_request(BadRequest::Tls);
                tracing::warn!(%peer, "closing connection: no TLS handshake within 10 s");
            }
        },
    }
}

async fn connection<R, W>(read: R, mut write: W, mut session: Session, broker: Arc<Broker>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let peer = session.peer;
    let mut read = BufReader::with_capacity(READ_CHUNK, read);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let max = broker.config.socket_request_max_bytes;
    loop {
        let limit = if session.sasl.authenticated() {
            max
        } else {
            max.min(MAX_FRAME_BEFORE_AUTH)
        };
        let min = if session.sasl.expects_raw_token() { 0 } else { MIN_FRAME };
        let frame = match read_sized(&mut read, min, limit).await {
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
        if session.sasl.expects_raw_token() {
            // After SaslHandshake v0 a token is a bare frame and so is the answer; a failure
            // closes the connection without one, as Kafka does.
            match session.sasl.authenticate(&frame, &broker.users) {
                Step::Continue(token) => {
                    out.extend_from_slice(&(token.len() as i32).to_be_bytes());
                    out.extend_from_slice(&token);
                }
                Step::Failed(message) => {
                    broker.metrics.bad_request(BadRequest::Authentication);
                    let failure = session.sasl.failure_line(&frame, &message);
                    tracing::warn!(%peer, "closing connection: {failure}");
                    return;
                }
            }
        } else if let Err(e) = handlers::handle(&broker, &mut session, frame, &mut out).await {
            let reason = match e {
                handlers::HandleError::Authentication(_) => BadRequest::Authentication,
                _ => BadRequest::Request,
            };
            broker.metrics.bad_request(reason);
            tracing::warn!(%peer, error = %e, "closing connection after a bad request");
            let _ = write.write_all(&out).await;
            let _ = write.flush().await;
            return;
        }
        if !out.is_empty() && (out.len() >= WRITE_HIGH_WATER || !holds_complete_frame(read.buffer())) {
            if let Err(e) = write.write_all(&out).await.and(write.flush().await) {
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
    read_sized(read, MIN_FRAME, max).await
}

/// Reads one size-prefixed frame of `min..=max` bytes (a bare SASL token may be shorter than
/// a request header).
async fn read_sized<R: AsyncRead + Unpin>(read: &mut R, min: i32, max: usize) -> Result<Option<Bytes>, FrameError> {
    let size = match read.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if size < min {
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
