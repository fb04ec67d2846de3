//! Prometheus and Alertmanager in tests: Debian's binaries, found or the test fails saying how
//! to install them (never skipped), and their HTTP APIs read over plain HTTP/1.1.

use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The first of `names` on PATH (or in /usr/bin, /usr/local/bin); fails the test, naming
/// Debian's `package` and `.ci/install`, when none is there.
pub fn binary(names: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} is needed (Debian's {package} package): run `bash .ci/install`",
                names.join(" or ")
            )
        })
}

/// GET `path` on 127.0.0.1:`port`; the body.
pub async fn get(port: u16, path: &str) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Some(dechunk(body));
    }
    Some(body.to_string())
}

/// POST `json` to `path` on 127.0.0.1:`port`; the status line and the body.
pub async fn post_json(port: u16, path: &str, json: &str) -> Option<(String, String)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{json}",
        json.len()
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// A body sent with `Transfer-Encoding: chunked`, put back together.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `q` percent-encoded for a URL's query string.
pub fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query; the number of series in the result (None if Prometheus refused it).
pub async fn query(port: u16, q: &str) -> Option<usize> {
    let body = get(port, &format!("/api/v1/query?query={}", encode(q))).await?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    if v["status"] != "success" {
        panic!("query {q}: {body}");
    }
    v["data"]["result"].as_array().map(Vec::len)
}
