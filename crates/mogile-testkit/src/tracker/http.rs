//! The tracker's own HTTP requests to storage nodes: the size HEAD of `create_close`/`get_paths` and
//! the checksum GET of `checksumverify`.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use tokio::net::TcpStream;

/// What a HEAD told the tracker.
#[derive(Debug)]
pub(crate) enum Probe {
    /// 2xx with this length.
    Size(u64),
    /// 404 (`FILE_MISSING`).
    Missing,
    /// Anything else: the node could not be asked (the text is the tracker's "last error").
    Unreachable(String),
}

/// HEADs `url` and reports its size.
pub(crate) async fn head_size(url: &str, timeout: Duration) -> Probe {
    match tokio::time::timeout(timeout, request(url, hyper::Method::HEAD)).await {
        Err(_) => Probe::Unreachable(format!("Timeout on HEAD of {url}")),
        Ok(Err(e)) => Probe::Unreachable(format!("Failed HEAD of {url}: {e}")),
        Ok(Ok(resp)) if resp.status() == hyper::StatusCode::NOT_FOUND => Probe::Missing,
        Ok(Ok(resp)) if resp.status().is_success() => {
            let len = resp
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                // lighttpd's special case the tracker copies: no Content-Length means 0
                .unwrap_or(0);
            Probe::Size(len)
        }
        Ok(Ok(resp)) => {
            Probe::Unreachable(format!("Failed HEAD ({}) of {url}", resp.status().as_u16()))
        }
    }
}

/// GETs `url` and returns the MD5 of its body, streaming.
pub(crate) async fn md5_of(url: &str, timeout: Duration) -> Result<[u8; 16], String> {
    let fetch = async {
        let resp = request(url, hyper::Method::GET)
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("Failed GET ({}) of {url}", resp.status().as_u16()));
        }
        let mut body = resp.into_body();
        let mut hasher = Md5::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.to_string())?;
            if let Some(data) = frame.data_ref() {
                hasher.update(data);
            }
        }
        Ok(hasher.finalize().into())
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| format!("Timeout on GET of {url}"))?
}

/// The failures of one HTTP exchange.
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("invalid url")]
    Url,
    #[error("connect failed")]
    Connect(#[source] std::io::Error),
    #[error("http exchange failed")]
    Hyper(#[source] hyper::Error),
    #[error("invalid request")]
    Request(#[source] hyper::http::Error),
}

async fn request(
    url: &str,
    method: hyper::Method,
) -> Result<hyper::Response<hyper::body::Incoming>, HttpError> {
    let uri: hyper::Uri = url.parse().map_err(|_| HttpError::Url)?;
    let authority = uri.authority().ok_or(HttpError::Url)?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((authority.host(), port))
        .await
        .map_err(HttpError::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(HttpError::Hyper)?;
    // The connection task ends when the response body is done or dropped.
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "fake tracker: storage connection ended with an error");
        }
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(HttpError::Request)?;
    sender.send_request(req).await.map_err(HttpError::Hyper)
}
