//! Serves a Prometheus registry at `GET /metrics`, and a liveness answer at `GET /health`, over
//! HTTP/1.1 (hyper). Nothing here knows a component: the agent, the workers, the lag exporter and
//! the broker each serve their registry with [`serve`] (or [`serve_with_health`] when "alive"
//! means more than "this endpoint answers").

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::watch;

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
pub async fn serve_with_health(
    listener: TcpListener,
    registry: Registry,
    mut stop: watch::Receiver<bool>,
    health: Health,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "metrics endpoint: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let registry = registry.clone();
        let health = health.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, registry.clone(), health.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics endpoint: connection failed");
            }
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    registry: Registry,
    health: Health,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::new()));
    match req.uri().path() {
        "/metrics" => {}
        "/health" | "/healthz" => {
            let (status, body) = if health() {
                (StatusCode::OK, "ok\n")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
            };
            *response.status_mut() = status;
            *response.body_mut() = Full::new(Bytes::from_static(body.as_bytes()));
            return Ok(response);
        }
        _ => {
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if encoder.encode(&registry.gather(), &mut body).is_err() {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(response);
    }
    *response.body_mut() = Full::new(Bytes::from(body));
    if let Ok(v) = header::HeaderValue::from_str(encoder.format_type()) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(response)
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
