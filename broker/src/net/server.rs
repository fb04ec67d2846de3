//! The life of a connection: accept → read requests → handle them in order → answer in order.
//!
//! Requests on one connection are handled in the order they arrive and answered in that order,
//! as Kafka does (kafka-python and sarama depend on the order). Kafka mutes a socket until its
//! answer is sent; here the one answer that waits on something slow, an acks=all produce's
//! fsync, is deferred instead: it waits in a task of its own while the requests behind it are
//! handled, so a producer's in-flight batches share fsyncs (group commit) as concurrent
//! producers' do, and its answer is written when every answer before it has been. Pipelined
//! requests are cheap: answers collect in one buffer, written when no whole request is waiting.
//! A frame that breaks the rules closes that connection alone, with one log line, after the
//! answers owed before it; nothing a client sends can stop the broker or another client. On SSL
//! and SASL_SSL listeners the same loop runs over a TLS stream; on SASL listeners the session
//! lets nothing but ApiVersions and the SASL exchange through until the client has
//! authenticated.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use tokio_rustls::TlsAcceptor;

use crate::api;
use crate::auth::sasl::{SaslSession, Step};
use crate::auth::Session;
use crate::metrics::BadRequest;
use crate::net::limits::{Admitted, ConnectionLimits};
use crate::state::Broker;

/// The smallest frame that can hold a request header's fixed part (key, version, correlation id).
const MIN_FRAME: i32 = 8;
/// How much of a frame we allocate before its bytes arrive: a client that announces 100 MiB and
/// sends 10 bytes costs us this much, not 100 MiB.
const READ_CHUNK: usize = 64 * 1024;
/// Write pending answers once they pass this size even if more requests are queued.
const WRITE_HIGH_WATER: usize = 1 << 20;
/// Answers a connection may have deferred before it stops reading requests (clients keep 5 in
/// flight by default; librdkafka's idempotent producer at most 5).
const MAX_DEFERRED: usize = 32;

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
    limits: Arc<ConnectionLimits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        // A broker-wide slot first (`max.connections`): while none is free, new connections
        // wait in the kernel's backlog, as they do for Kafka's acceptor.
        let next = async {
            let slot = limits.clone().reserve().await;
            (slot, listener.accept().await)
        };
        tokio::select! {
            (slot, accepted) = next => match accepted {
                Ok((stream, peer)) => match slot.admit(peer.ip()) {
                    Ok(admitted) => {
                        connections.spawn(accept(stream, peer, broker.clone(), security.clone(), admitted));
                    }
                    Err(limit) => {
                        broker.metrics.connection_refused();
                        tracing::debug!(%peer, limit, "closing connection: too many connections from its address (max.connections.per.ip)");
                    }
                },
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
async fn accept(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>, security: Security, _slot: Admitted) {
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

/// Serves one connection until the client closes it or breaks a rule. Requests are handled in
/// the order they arrive and answered in that order; an acks=all produce's answer is deferred
/// (it waits for its fsync in a task of its own) while the requests behind it are handled, so a
/// producer's in-flight batches share fsyncs as concurrent producers' do.
async fn connection<R, W>(mut read: R, mut write: W, mut session: Session, broker: Arc<Broker>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let peer = session.peer;
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut answers = Answers::default();
    let mut closed = false;
    loop {
        // Every whole request already read is handled before the next read.
        while answers.deferred() < MAX_DEFERRED {
            let frame = match take_frame(&mut input, frame_limits(&session, &broker)) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    broker.metrics.bad_request(BadRequest::Frame);
                    tracing::warn!(%peer, error = %e, "closing connection");
                    return answers.finish(&mut write).await;
                }
            };
            if let Err(close) = answer(&broker, &mut session, frame, &mut answers).await {
                broker.metrics.bad_request(close.reason);
                tracing::warn!(%peer, "closing connection: {}", close.message);
                return answers.finish(&mut write).await;
            }
            if answers.ready.len() >= WRITE_HIGH_WATER && answers.write_ready(&mut write).await.is_err() {
                return;
            }
        }
        if closed {
            if !input.is_empty() {
                broker.metrics.bad_request(BadRequest::Frame);
                let e = FrameError::Truncated {
                    size: announced(&input),
                };
                tracing::warn!(%peer, error = %e, "closing connection");
            }
            return answers.finish(&mut write).await;
        }
        if let Err(e) = answers.write_ready(&mut write).await {
            tracing::debug!(%peer, error = %e, "client went away");
            return;
        }
        // Wait for more of the client's bytes or for the oldest deferred answer, whichever
        // comes first; with too many answers deferred, only for the answers.
        tokio::select! {
            read = read_more(&mut read, &mut input), if answers.deferred() < MAX_DEFERRED => match read {
                Ok(0) => closed = true,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection");
                    return;
                }
            },
            done = answers.oldest(), if answers.deferred() > 0 => if let Err(e) = done {
                broker.metrics.bad_request(BadRequest::Request);
                tracing::warn!(%peer, error = %e, "closing connection after a bad request");
                return answers.finish(&mut write).await;
            },
        }
    }
}

/// For fuzzing only (`fuzz/fuzz_targets/broker_requests.rs`), not an API: serves one connection
/// whose client sent `input` and then closed (on a SASL listener when `sasl`), through the same
/// loop as a real one (frames, decoding, every handler), and returns what the broker wrote back.
/// Reached through `RunningBroker::serve_bytes`.
pub(crate) async fn serve_bytes(broker: Arc<Broker>, input: &[u8], sasl: bool) -> Vec<u8> {
    let session = Session {
        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
        sasl: SaslSession::new(sasl),
        listener: 0,
    };
    let mut written = Vec::new();
    connection(input, &mut written, session, broker).await;
    written
}

/// The smallest and largest frame the connection takes next: before SASL authentication
/// frames are capped at Kafka's `sasl.server.max.receive.size`, and a bare SASL token (after
/// SaslHandshake v0) may be shorter than a request header.
fn frame_limits(session: &Session, broker: &Broker) -> (i32, usize) {
    let max = broker.config.socket_request_max_bytes;
    let max = if session.sasl.authenticated() {
        max
    } else {
        max.min(MAX_FRAME_BEFORE_AUTH)
    };
    let min = if session.sasl.expects_raw_token() { 0 } else { MIN_FRAME };
    (min, max)
}

/// Why a connection is closed after a request: counted as `reason`, logged with `message`.
struct Close {
    reason: BadRequest,
    message: String,
}

/// Handles one frame, putting its answer (or its deferred answer) in line.
async fn answer(broker: &Arc<Broker>, session: &mut Session, frame: Bytes, answers: &mut Answers) -> Result<(), Close> {
    if session.sasl.expects_raw_token() {
        // After SaslHandshake v0 a token is a bare frame and so is the answer; a failure
        // closes the connection without one, as Kafka does.
        return match session.sasl.authenticate(&frame, &broker.users) {
            Step::Continue(token) => {
                let out = answers.next();
                out.extend_from_slice(&(token.len() as i32).to_be_bytes());
                out.extend_from_slice(&token);
                Ok(())
            }
            Step::Failed(message) => Err(Close {
                reason: BadRequest::Authentication,
                message: session.sasl.failure_line(&frame, &message),
            }),
        };
    }
    match api::handle(broker, session, frame, answers.next()).await {
        Ok(None) => Ok(()),
        Ok(Some(deferred)) => {
            answers.defer(deferred);
            Ok(())
        }
        Err(e) => Err(Close {
            reason: match e {
                api::HandleError::Authentication(_) => BadRequest::Authentication,
                _ => BadRequest::Request,
            },
            message: format!("after a bad request: {e}"),
        }),
    }
}

/// A connection's answers in request order: `ready` is written next, then each of `queue` in
/// turn once the deferred answer at its head is done.
#[derive(Default)]
struct Answers {
    ready: BytesMut,
    queue: VecDeque<Slot>,
    deferred: usize,
}

enum Slot {
    Answered(BytesMut),
    Deferred(api::Deferred),
}

impl Answers {
    /// Where the next request's answer goes: straight to `ready` unless an earlier answer is
    /// still deferred.
    fn next(&mut self) -> &mut BytesMut {
        if self.queue.is_empty() {
            return &mut self.ready;
        }
        if !matches!(self.queue.back(), Some(Slot::Answered(_))) {
            self.queue.push_back(Slot::Answered(BytesMut::new()));
        }
        match self.queue.back_mut() {
            Some(Slot::Answered(out)) => out,
            _ => unreachable!("an answered slot was pushed above"),
        }
    }

    fn defer(&mut self, deferred: api::Deferred) {
        self.queue.push_back(Slot::Deferred(deferred));
        self.deferred += 1;
    }

    fn deferred(&self) -> usize {
        self.deferred
    }

    /// Waits for the oldest deferred answer, then moves it and the answers behind it, up to
    /// the next deferred one, to `ready`. Cancel-safe: nothing moves until the answer is done.
    async fn oldest(&mut self) -> Result<(), api::HandleError> {
        let Some(Slot::Deferred(head)) = self.queue.front_mut() else {
            return Ok(());
        };
        let done = head.await;
        self.queue.pop_front();
        self.deferred -= 1;
        let answer = done.map_err(|e| api::HandleError::Deferred(e.to_string()))??;
        self.ready.extend_from_slice(&answer);
        while let Some(Slot::Answered(_)) = self.queue.front() {
            if let Some(Slot::Answered(out)) = self.queue.pop_front() {
                self.ready.extend_from_slice(&out);
            }
        }
        Ok(())
    }

    async fn write_ready<W: AsyncWrite + Unpin>(&mut self, write: &mut W) -> std::io::Result<()> {
        if self.ready.is_empty() {
            return Ok(());
        }
        write.write_all(&self.ready).await?;
        write.flush().await?;
        self.ready.clear();
        Ok(())
    }

    /// Before a close: writes every answer already owed, in order, as far as it can.
    async fn finish<W: AsyncWrite + Unpin>(mut self, write: &mut W) {
        while self.deferred > 0 {
            if self.oldest().await.is_err() {
                break;
            }
        }
        let _ = self.write_ready(write).await;
    }
}

/// Reads whatever the client has sent into `input`; 0 is end of file. Cancel-safe.
async fn read_more<R: AsyncRead + Unpin>(read: &mut R, input: &mut BytesMut) -> std::io::Result<usize> {
    if input.capacity() - input.len() < READ_CHUNK / 4 {
        input.reserve(READ_CHUNK);
    }
    read.read_buf(input).await
}

/// The size a partial frame announces (0 before its size has arrived).
fn announced(input: &[u8]) -> i32 {
    input
        .get(..4)
        .map_or(0, |size| i32::from_be_bytes([size[0], size[1], size[2], size[3]]))
}

/// Takes the next whole size-prefixed frame of `min..=max` bytes off the front of `input`;
/// `None` until all of it has arrived. A size outside the limits is refused as soon as the
/// four bytes announcing it are in, before any of the body is read.
fn take_frame(input: &mut BytesMut, (min, max): (i32, usize)) -> Result<Option<Bytes>, FrameError> {
    if input.len() < 4 {
        return Ok(None);
    }
    let size = announced(input);
    if size < min {
        return Err(FrameError::TooSmall(size));
    }
    if size as usize > max {
        return Err(FrameError::TooLarge { size, max });
    }
    let whole = 4 + size as usize;
    if input.len() < whole {
        return Ok(None);
    }
    let mut frame = input.split_to(whole);
    frame.advance(4);
    Ok(Some(frame.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(bytes: &[u8]) -> Result<Option<Bytes>, FrameError> {
        take_frame(&mut BytesMut::from(bytes), (MIN_FRAME, 1024))
    }

    #[test]
    fn frames_outside_the_limits_are_refused_before_reading_the_body() {
        assert!(matches!(
            frame_of(&(-5i32).to_be_bytes()),
            Err(FrameError::TooSmall(-5))
        ));
        assert!(matches!(frame_of(&7i32.to_be_bytes()), Err(FrameError::TooSmall(7))));
        assert!(matches!(
            frame_of(&2000i32.to_be_bytes()),
            Err(FrameError::TooLarge { size: 2000, .. })
        ));
    }

    #[test]
    fn a_frame_is_taken_only_once_all_of_it_has_arrived() {
        let mut input = BytesMut::from(&[0u8, 0][..]);
        assert!(matches!(take_frame(&mut input, (MIN_FRAME, 1024)), Ok(None)));
        input.extend_from_slice(&[0, 9, 1, 2, 3]);
        assert!(matches!(take_frame(&mut input, (MIN_FRAME, 1024)), Ok(None)));
        assert_eq!(input.len(), 7, "a partial frame stays where it is");
        assert_eq!(announced(&input), 9);
        input.extend_from_slice(b"456789rest");
        assert_eq!(
            take_frame(&mut input, (MIN_FRAME, 1024)).unwrap().unwrap(),
            Bytes::from_static(&[1, 2, 3, b'4', b'5', b'6', b'7', b'8', b'9'])
        );
        assert_eq!(&input[..], b"rest", "what follows the frame is the next one's start");
    }

    #[tokio::test]
    async fn deferred_answers_keep_their_place_in_line() {
        let mut answers = Answers::default();
        answers.next().extend_from_slice(b"1");
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        answers.defer(tokio::spawn(async move {
            let _ = wait.await;
            Ok(BytesMut::from(&b"2"[..]))
        }));
        answers.next().extend_from_slice(b"3");
        answers.next().extend_from_slice(b"4");
        answers.defer(tokio::spawn(async { Ok(BytesMut::from(&b"5"[..])) }));
        answers.next().extend_from_slice(b"6");
        assert_eq!(&answers.ready[..], b"1", "nothing behind a deferred answer is ready");
        release.send(()).unwrap();
        answers.oldest().await.unwrap();
        assert_eq!(&answers.ready[..], b"1234");
        answers.oldest().await.unwrap();
        assert_eq!(&answers.ready[..], b"123456");
        assert_eq!(answers.deferred(), 0);
    }
}
