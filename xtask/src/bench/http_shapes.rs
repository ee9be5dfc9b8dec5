//! `xtask bench http-shapes URL [GETS [SHAPE]]`: a diagnostic, not a part of the page. The CPU of one small
//! GET of `URL`, one request at a time on a two-worker runtime, through each layer of the HTTP
//! stack the client uses, alternating rounds:
//!
//! - `raw`: the bench's hand-written HTTP/1.1 loop ([`HttpConn`]);
//! - `hyper`: hyper's own connection API, one `SendRequest` held across requests and its
//!   connection task spawned;
//! - `legacy`: hyper-util's pooled `legacy::Client`, which `mogile-storage` is built on;
//! - `storage`: `mogile-storage`'s `StorageClient::get` (the legacy client plus its timeouts,
//!   low-speed meter, connection capture and tracing), the body collected.
//!
//! It says how much of the facade's small-file cost is each layer's (see "Where the time goes" in
//! notes.md).

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mogilefs::lower::storage::{StorageClient, StorageGetOptions};
use tokio::net::TcpStream;

use super::measure::{median, process_cpu};
use super::raw::{HttpConn, split_url};

const SHAPES: [&str; 4] = ["raw", "hyper", "legacy", "storage"];
const ROUNDS: usize = 7;

pub(crate) fn run(args: &[String]) -> ExitCode {
    let result = (|| {
        let url = args
            .first()
            .ok_or("usage: bench http-shapes URL [GETS]")?
            .clone();
        let gets: usize = match args.get(1) {
            Some(n) => n.parse().map_err(|_| format!("not a count: {n}"))?,
            None => 2000,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        // One shape only, for `perf record`.
        let only = args.get(2).map(String::as_str);
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); SHAPES.len()];
        for _ in 0..ROUNDS {
            for (i, shape) in SHAPES.iter().enumerate() {
                if only.is_some_and(|o| o != *shape) {
                    continue;
                }
                let url = url.clone();
                let per_get = runtime.block_on(async move {
                    tokio::spawn(async move { round(shape, &url, gets).await })
                        .await
                        .map_err(|e| format!("{shape}: {e}"))?
                })?;
                cpu[i].push(per_get.as_secs_f64() * 1e6);
            }
        }
        let raw = median(&cpu[0]);
        for (shape, samples) in SHAPES.iter().zip(&cpu).filter(|(_, s)| !s.is_empty()) {
            let m = median(samples);
            println!(
                "{shape:8} {m:7.1} µs CPU per GET (median of {ROUNDS} rounds of {gets}), {:.2}x raw",
                m / raw
            );
        }
        Ok::<(), String>(())
    })();
    super::client::finish(result, "http-shapes")
}

/// The process CPU per GET of `gets` GETs of `url` through `shape`, its connection opened first
/// (and not counted).
async fn round(shape: &str, url: &str, gets: usize) -> Result<Duration, String> {
    let (host, path) = split_url(url)?;
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let err = |e: &dyn std::fmt::Display| format!("{shape}: {e}");
    let mut bytes = 0usize;
    let start;
    match shape {
        "raw" => {
            let mut slot = None;
            let mut body = Vec::new();
            HttpConn::to(&mut slot, host)
                .await?
                .get(path, &mut body)
                .await?;
            start = process_cpu();
            for _ in 0..gets {
                HttpConn::to(&mut slot, host)
                    .await?
                    .get(path, &mut body)
                    .await?;
                bytes += body.len();
            }
        }
        "hyper" => {
            let stream = TcpStream::connect(host).await.map_err(|e| err(&e))?;
            stream.set_nodelay(true).map_err(|e| err(&e))?;
            let (mut send, conn) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                    .await
                    .map_err(|e| err(&e))?;
            drop(tokio::spawn(conn));
            start = process_cpu();
            for _ in 0..gets {
                send.ready().await.map_err(|e| err(&e))?;
                let req = http::Request::get(path)
                    .header(http::header::HOST, host)
                    .body(Empty::new())
                    .map_err(|e| err(&e))?;
                let resp = send.send_request(req).await.map_err(|e| err(&e))?;
                let body = resp.into_body().collect().await.map_err(|e| err(&e))?;
                bytes += body.to_bytes().len();
            }
        }
        "legacy" => {
            let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build_http::<Empty<Bytes>>();
            client.get(uri.clone()).await.map_err(|e| err(&e))?;
            start = process_cpu();
            for _ in 0..gets {
                let resp = client.get(uri.clone()).await.map_err(|e| err(&e))?;
                let body = resp.into_body().collect().await.map_err(|e| err(&e))?;
                bytes += body.to_bytes().len();
            }
        }
        _ => {
            let client = StorageClient::builder().build().map_err(|e| err(&e))?;
            let opts = StorageGetOptions::default();
            let first = client.get(url, &opts).await.map_err(|e| err(&e))?;
            first.bytes().await.map_err(|e| err(&e))?;
            start = process_cpu();
            for _ in 0..gets {
                let resp = client.get(url, &opts).await.map_err(|e| err(&e))?;
                bytes += resp.bytes().await.map_err(|e| err(&e))?.len();
            }
        }
    }
    let cpu = process_cpu().saturating_sub(start);
    if bytes == 0 && gets > 0 {
        return Err(format!("{shape}: every GET was empty"));
    }
    Ok(cpu / u32::try_from(gets.max(1)).unwrap_or(u32::MAX))
}
