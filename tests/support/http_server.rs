//! A real HTTP/1.1 server (hyper) on 127.0.0.1 for tests to be posted to: it records every
//! request and answers 2xx, or 503 and 400 as the test tells it. The http and remote_write
//! sinks' target in the workers' tests and the alert tests' webhook receiver.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};

/// One request as the test server saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The body as sent, for binary ones (remote write's snappy-compressed protobuf).
    pub bytes: Vec<u8>,
    pub headers: hyper::HeaderMap,
}

/// How the test server answers.
#[derive(Default)]
pub struct Behaviour {
    /// Answer 503 to everything until then.
    pub fail_until: Option<Instant>,
    /// Answer 503 to this many more requests.
    pub fail_next: usize,
    /// Answer 400 with InfluxDB's kind of message to bodies containing this.
    pub reject_containing: Option<String>,
    /// Answer 400 to this many more requests (bodies a test cannot search, binary ones).
    pub reject_next: usize,
}

#[derive(Default)]
pub struct ServerState {
    pub behaviour: Behaviour,
    /// Requests answered 2xx.
    pub accepted: Vec<Received>,
    /// Requests answered with an error status.
    pub refused: usize,
}

/// A real HTTP/1.1 server (hyper) on 127.0.0.1 with an ephemeral port.
pub async fn http_server(state: Arc<Mutex<ServerState>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        let (authorization, content_type) = (header("authorization"), header("content-type"));
                        let path = req.uri().to_string();
                        let headers = req.headers().clone();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let received = Received {
                            path,
                            authorization,
                            content_type,
                            body: String::from_utf8_lossy(&body).into_owned(),
                            bytes: body.to_vec(),
                            headers,
                        };
                        let mut s = state.lock().unwrap();
                        let failing = s.behaviour.fail_until.is_some_and(|t| Instant::now() < t);
                        let (status, text) = if failing || s.behaviour.fail_next > 0 {
                            s.behaviour.fail_next = s.behaviour.fail_next.saturating_sub(1);
                            (StatusCode::SERVICE_UNAVAILABLE, "try later")
                        } else if s.behaviour.reject_next > 0
                            || s.behaviour
                                .reject_containing
                                .as_ref()
                                .is_some_and(|bad| received.body.contains(bad.as_str()))
                        {
                            s.behaviour.reject_next = s.behaviour.reject_next.saturating_sub(1);
                            (StatusCode::BAD_REQUEST, "unable to parse 'bad measurement'")
                        } else {
                            (StatusCode::NO_CONTENT, "")
                        };
                        if status.is_success() {
                            s.accepted.push(received);
                        } else {
                            s.refused += 1;
                        }
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(text.as_bytes())))
                                .unwrap(),
                        )
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}
