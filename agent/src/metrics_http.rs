//! Serves a Prometheus registry at `GET /metrics` over HTTP/1.1 (hyper). Nothing here knows the
//! agent: any sluice component can serve its registry with [`serve`].

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{header, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Binds `addr` (port 0 picks a free one) and returns the bound address and the server task.
pub async fn bind(
    addr: SocketAddr,
    registry: Registry,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((local, tokio::spawn(serve(listener, registry, stop))))
}

/// Answers until `stop` turns true. A failed connection is that connection's problem only.
pub async fn serve(listener: TcpListener, registry: Registry, mut stop: watch::Receiver<bool>) {
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
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, registry.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics endpoint: connection failed");
            }
        });
    }
}

async fn answer(req: Request<Incoming>, registry: Registry) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::new()));
    if req.uri().path() != "/metrics" {
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
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
