//! Request handling of the test storage node, method by method, as Perlbal-mogstored does it.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use http::header::{
    ACCEPT_RANGES, CONNECTION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, DATE, HeaderValue,
    IF_MODIFIED_SINCE, LAST_MODIFIED, RANGE,
};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use super::fault::{Fault, RecordedRequest};
use super::faulty_body;
use super::node::NodeState;
use super::response::{self, NodeBody, RangeAnswer, base, finish, html, parse_range};

/// Per-connection context.
pub(crate) struct Ctx {
    pub(crate) state: Arc<NodeState>,
    pub(crate) conn: u64,
    pub(crate) reset: Arc<AtomicBool>,
}

type Answer = Result<Response<NodeBody>, io::Error>;

/// Handles one request. An `Err` makes hyper drop the connection without an answer.
pub(crate) async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Answer {
    let has_token = |token: &[u8]| {
        req.headers()
            .get_all(CONNECTION)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(token))
    };
    // HTTP/1.1 stays open unless told to close; HTTP/1.0 only with `Connection: keep-alive`
    // (which is how hyper sends its next request after mogstored's 1.0 reply).
    let keep_alive = match req.version() {
        Version::HTTP_11 => !has_token(b"close"),
        Version::HTTP_10 => has_token(b"keep-alive"),
        _ => false,
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let idx = ctx.state.record(RecordedRequest {
        method: req.method().clone(),
        target,
        version: req.version(),
        headers: req.headers().clone(),
        body_bytes: 0,
        connection: ctx.conn,
    });
    let path = percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8_lossy()
        .into_owned();
    let fault = ctx.state.take_fault(req.method(), &path);
    match fault {
        Some(Fault::Close) => return Err(io::Error::other("fault: close without answering")),
        Some(Fault::Status(code)) => {
            drain(&ctx, idx, req.into_body(), None).await?;
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(html(status, "", keep_alive));
        }
        Some(Fault::StallBeforeHeaders) => {
            drain(&ctx, idx, req.into_body(), None).await?;
            return std::future::pending().await;
        }
        Some(Fault::StallRequestBody { after }) => {
            drain(&ctx, idx, req.into_body(), Some(after)).await?;
            return std::future::pending().await;
        }
        Some(Fault::DelayHeaders(delay)) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let method = req.method().clone();
    match method {
        Method::PUT => put(&ctx, idx, &path, req.into_body(), keep_alive).await,
        Method::GET | Method::HEAD => get(&ctx, &path, &req, keep_alive, fault).await,
        Method::DELETE => delete(&ctx, &path, keep_alive).await,
        _ => Ok(html(StatusCode::BAD_REQUEST, "", keep_alive)),
    }
}

/// Reads (and discards) the request body; with `stop_after`, stops reading after that many bytes.
async fn drain(
    ctx: &Ctx,
    idx: usize,
    mut body: Incoming,
    stop_after: Option<u64>,
) -> io::Result<()> {
    let mut read = 0u64;
    while stop_after.is_none_or(|s| read < s) {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read += data.len() as u64;
                    ctx.state.add_body_bytes(idx, data.len() as u64);
                }
            }
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => break,
        }
    }
    Ok(())
}

/// The file for `path` under the root, or `None` for names mogstored rejects (`..`, characters
/// outside `[A-Za-z0-9_.-]`).
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.trim_start_matches('/');
    let ok = rel.split('/').all(|c| {
        c != ".."
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    });
    let joined = root.join(rel);
    let escapes = Path::new(rel)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)));
    (ok && !escapes).then_some(joined)
}

async fn put(ctx: &Ctx, idx: usize, path: &str, mut body: Incoming, keep_alive: bool) -> Answer {
    let invalid = || html(StatusCode::BAD_REQUEST, "Invalid filename", false);
    if path.ends_with('/') {
        return Ok(invalid());
    }
    let Some(file_path) = resolve(&ctx.state.root, path) else {
        return Ok(invalid());
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if parts.len() < 2 {
        let msg = "Does not meet minimum directory requirement";
        return Ok(html(StatusCode::BAD_REQUEST, msg, false));
    }
    let base_dir = ctx.state.root.join(parts[0]);
    if !tokio::fs::metadata(&base_dir)
        .await
        .is_ok_and(|m| m.is_dir())
    {
        let msg = "Base directory does not exist";
        return Ok(html(StatusCode::NOT_FOUND, msg, keep_alive));
    }
    if let Some(parent) = file_path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    // In place and truncating, as mogstored: a client that disconnects leaves a partial file.
    let mut file = tokio::fs::File::create(&file_path).await?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(io::Error::other)?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data).await?;
            ctx.state.add_body_bytes(idx, data.len() as u64);
        }
    }
    file.flush().await?;
    let status =
        StatusCode::from_u16(ctx.state.put_status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    if status == StatusCode::NO_CONTENT {
        return Ok(finish(base(status, response::empty()), keep_alive));
    }
    Ok(html(status, "", keep_alive))
}

async fn delete(ctx: &Ctx, path: &str, keep_alive: bool) -> Answer {
    let Some(file_path) = resolve(&ctx.state.root, path) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            "Invalid filename",
            keep_alive,
        ));
    };
    match tokio::fs::metadata(&file_path).await {
        Ok(m) if m.is_dir() => Ok(html(
            StatusCode::BAD_REQUEST,
            "Invalid filename",
            keep_alive,
        )),
        Ok(_) => {
            tokio::fs::remove_file(&file_path).await?;
            Ok(finish(
                base(StatusCode::NO_CONTENT, response::empty()),
                keep_alive,
            ))
        }
        Err(_) => Ok(html(StatusCode::NOT_FOUND, "", keep_alive)),
    }
}

async fn get(
    ctx: &Ctx,
    path: &str,
    req: &Request<Incoming>,
    keep_alive: bool,
    fault: Option<Fault>,
) -> Answer {
    let is_head = req.method() == Method::HEAD;
    let Some(file_path) = resolve(&ctx.state.root, path) else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            "Invalid filename",
            keep_alive,
        ));
    };
    let meta = match tokio::fs::metadata(&file_path).await {
        Ok(m) => m,
        Err(_) => {
            if let Some(text) = synthesized_usage(ctx, path).await {
                return Ok(file_like(text, keep_alive, is_head));
            }
            return Ok(html(StatusCode::NOT_FOUND, "", keep_alive));
        }
    };
    if meta.is_dir() {
        return Ok(html(
            StatusCode::OK,
            "Directory listing disabled",
            keep_alive,
        ));
    }
    let size = meta.len();
    let last_modified = response::http_date(meta.modified().unwrap_or(SystemTime::now()));
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let mut resp_headers = vec![
        (DATE, response::http_date(SystemTime::now())),
        (LAST_MODIFIED, last_modified.clone()),
        (ACCEPT_RANGES, "bytes".to_owned()),
    ];
    if header(IF_MODIFIED_SINCE) == Some(last_modified.as_str()) {
        return Ok(with_headers(
            StatusCode::NOT_MODIFIED,
            resp_headers,
            response::empty(),
            keep_alive,
        ));
    }
    let range = if fault == Some(Fault::IgnoreRange) {
        RangeAnswer::Whole
    } else {
        let bug = ctx.state.suffix_range_bug.load(Ordering::SeqCst);
        parse_range(header(RANGE), size, bug)
    };
    let (status, start, len) = match range {
        RangeAnswer::Whole => (StatusCode::OK, 0, size),
        RangeAnswer::Partial { start, end } => {
            resp_headers.push((CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => {
            resp_headers.insert(0, (CONTENT_LENGTH, "0".to_owned()));
            resp_headers.insert(0, (CONTENT_RANGE, format!("bytes */{size}")));
            let status = StatusCode::RANGE_NOT_SATISFIABLE;
            return Ok(with_headers(
                status,
                resp_headers,
                response::empty(),
                keep_alive,
            ));
        }
    };
    resp_headers.push((CONTENT_TYPE, "text/plain".to_owned()));
    resp_headers.push((CONTENT_LENGTH, len.to_string()));
    if is_head {
        return Ok(with_headers(
            status,
            resp_headers,
            response::empty(),
            keep_alive,
        ));
    }
    let mut file = tokio::fs::File::open(&file_path).await?;
    file.seek(io::SeekFrom::Start(start)).await?;
    let stream = ReaderStream::with_capacity(file.take(len), 64 * 1024);
    let body =
        faulty_body::faulty_body(stream, len, fault, ctx.reset.clone(), ctx.state.bandwidth());
    Ok(with_headers(status, resp_headers, body, keep_alive))
}

fn with_headers(
    status: StatusCode,
    headers: Vec<(http::HeaderName, String)>,
    body: NodeBody,
    keep_alive: bool,
) -> Response<NodeBody> {
    let mut resp = base(status, body);
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::try_from(value) {
            resp.headers_mut().insert(name, v);
        }
    }
    finish(resp, keep_alive)
}

/// A generated text body served like a file (for `/devN/usage`).
fn file_like(text: String, keep_alive: bool, is_head: bool) -> Response<NodeBody> {
    let now = response::http_date(SystemTime::now());
    let headers = vec![
        (DATE, now.clone()),
        (LAST_MODIFIED, now),
        (ACCEPT_RANGES, "bytes".to_owned()),
        (CONTENT_TYPE, "text/plain".to_owned()),
        (CONTENT_LENGTH, text.len().to_string()),
    ];
    let body = if is_head {
        response::empty()
    } else {
        response::full(text)
    };
    with_headers(StatusCode::OK, headers, body, keep_alive)
}

/// mogstored's `/devN/usage` file, made up when the device directory exists but holds no such
/// file: `key: value` lines sorted by key, sizes in KiB, `use` rounded up as `df` does.
async fn synthesized_usage(ctx: &Ctx, path: &str) -> Option<String> {
    let dev = path.strip_prefix('/')?.strip_suffix("/usage")?;
    if !dev.starts_with("dev") || dev.contains('/') {
        return None;
    }
    let dir = ctx.state.root.join(dev);
    if !tokio::fs::metadata(&dir).await.ok()?.is_dir() {
        return None;
    }
    let figures = *super::node::lock(&ctx.state.usage);
    let total = figures.total_kib;
    let used = match figures.used_kib {
        Some(used) => used,
        None => bytes_under(&dir).await.div_ceil(1024),
    };
    let available = total.saturating_sub(used);
    let pct = used
        .saturating_mul(100)
        .div_ceil(used.saturating_add(available).max(1));
    let time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(format!(
        "available: {available}\ndevice: /dev/testkit\ndisk: {}\ntime: {time}\ntotal: {total}\nuse: {pct}%\nused: {used}\n",
        dir.display()
    ))
}

/// The bytes of every file under `dir`, subdirectories included (what is unreadable counts 0).
async fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
            continue;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            match entry.metadata().await {
                Ok(m) if m.is_dir() => pending.push(entry.path()),
                Ok(m) => total = total.saturating_add(m.len()),
                Err(_) => {}
            }
        }
    }
    total
}
