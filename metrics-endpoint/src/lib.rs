//! Serves a Prometheus registry at `GET /metrics`, and a liveness answer at `GET /health`, over
//! HTTP/1.1 (hyper). Nothing here knows a component: the agent, the workers, the lag exporter and
//! the broker each serve their registry with [`serve`] (or [`serve_with_health`] when "alive"
//! means more than "this endpoint answers"). [`serve_pages`] is the server under both, for any
//! read-only set of pages (`sluice up`'s console).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{header, Request, Response};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use hyper::StatusCode;

/// Whether the component is healthy: `GET /health` answers 200 "ok" when true, 503 otherwise.
pub type Health = Arc<dyn Fn() -> bool + Send + Sync>;

/// Binds `addr` (port 0 picks a free one) and returns the bound address and the server task.
pub async fn bind(
    addr: SocketAddr,
    registry: Registry,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    bind_with_health(addr, registry, stop, Arc::new(|| true)).await
}

/// [`bind`], with `/health` answered by `health`.
pub async fn bind_with_health(
    addr: SocketAddr,
    registry: Registry,
    stop: watch::Receiver<bool>,
    health: Health,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((local, tokio::spawn(serve_with_health(listener, registry, stop, health))))
}

/// Answers until `stop` turns true. A failed connection is that connection's problem only.
pub async fn serve(listener: TcpListener, registry: Registry, stop: watch::Receiver<bool>) {
    serve_with_health(listener, registry, stop, Arc::new(|| true)).await
}

/// [`serve`], with `/health` answered by `health`.
pub async fn serve_with_health(listener: TcpListener, registry: Registry, stop: watch::Receiver<bool>, health: Health) {
    let pages: Pages = Arc::new(move |path: &str| Some(answer(path, &registry, &health)));
    serve_pages(listener, stop, pages).await
}

/// What a server answers a `GET` of a path with: None is 404. Only the path is given (no query,
/// no headers): every page here is a read of state the component already holds.
pub type Pages = Arc<dyn Fn(&str) -> Option<Response<Full<Bytes>>> + Send + Sync>;

/// Answers `pages` until `stop` turns true. A failed connection is that connection's problem
/// only. The metrics endpoint is one such server; `sluice up`'s console is another.
pub async fn serve_pages(listener: TcpListener, mut stop: watch::Receiver<bool>, pages: Pages) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "http endpoint: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let pages = pages.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let pages = pages.clone();
                async move {
                    let read = matches!(*req.method(), hyper::Method::GET | hyper::Method::HEAD);
                    let found = read.then(|| pages(req.uri().path())).flatten();
                    Ok::<_, Infallible>(found.unwrap_or_else(|| status(StatusCode::NOT_FOUND)))
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "http endpoint: connection failed");
            }
        });
    }
}

/// An empty answer with `code`.
pub fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// A 200 answer of `body` with `content_type`.
pub fn page(content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

fn answer(path: &str, registry: &Registry, health: &Health) -> Response<Full<Bytes>> {
    match path {
        "/metrics" => {}
        "/health" | "/healthz" => {
            let (code, body) = if health() {
                (StatusCode::OK, "ok\n")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
            };
            let mut response = page("text/plain; charset=utf-8", body);
            *response.status_mut() = code;
            return response;
        }
        _ => return status(StatusCode::NOT_FOUND),
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if encoder.encode(&registry.gather(), &mut body).is_err() {
        return status(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let mut response = Response::new(Full::new(Bytes::from(body)));
    if let Ok(v) = header::HeaderValue::from_str(encoder.format_type()) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_text_format_and_other_paths_are_not_found() {
        let registry = Registry::new();
        let c = prometheus::IntCounter::new("sluice_test_total", "a test counter").unwrap();
        registry.register(Box::new(c.clone())).unwrap();
        c.inc_by(3);
        let (stop_tx, stop) = watch::channel(false);
        let (addr, task) = bind("127.0.0.1:0".parse().unwrap(), registry, stop).await.unwrap();
        let page = get(addr, "/metrics").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("text/plain; version=0.0.4"), "{page}");
        assert!(page.contains("\nsluice_test_total 3\n"), "{page}");
        assert!(get(addr, "/").await.starts_with("HTTP/1.1 404"));
        let health = get(addr, "/health").await;
        assert!(
            health.starts_with("HTTP/1.1 200") && health.ends_with("\r\n\r\nok\n"),
            "{health}"
        );
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn health_answers_503_while_the_component_says_it_is_unhealthy() {
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = healthy.clone();
        let check: Health = Arc::new(move || flag.load(std::sync::atomic::Ordering::Relaxed));
        let (stop_tx, stop) = watch::channel(false);
        let (addr, task) = bind_with_health("127.0.0.1:0".parse().unwrap(), Registry::new(), stop, check)
            .await
            .unwrap();
        assert!(get(addr, "/health").await.starts_with("HTTP/1.1 503"));
        healthy.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
