//! The TCP side: accept loop, per-connection line loop, fault application.

use std::collections::HashMap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::dispatch;
use super::faults::{self, ConnectionMode, Fault, FaultAction};
use super::model::Model;
use super::stats::{Stats, WireLine};
use super::wire::{Reply, ReqArgs};

use bytes::BytesMut;
use mogile_protocol::Request;

/// State shared by the accept loop, the connections and the [`FakeTracker`] handle.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) model: Arc<Model>,
    pub(crate) mode: watch::Sender<ConnectionMode>,
    pub(crate) faults: Mutex<Vec<Fault>>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) conns: Mutex<HashMap<u64, AbortHandle>>,
    pub(crate) next_conn: AtomicU64,
    pub(crate) http_timeout: Duration,
    pub(crate) max_line_len: usize,
}

/// Locks a mutex of this module; a panicking holder cannot leave counters or rules inconsistent in a
/// way that matters, so poisoning is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // e.g. out of file descriptors: back off instead of spinning
                tracing::debug!(error = %e, "fake tracker: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&inner.stats).accepted += 1;
        if *inner.mode.borrow() == ConnectionMode::Refuse {
            reset(stream);
            continue;
        }
        lock(&inner.stats).open += 1;
        let conn_inner = Arc::clone(&inner);
        let task = tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            serve(&conn_inner, stream, id).await;
            lock(&conn_inner.stats).open -= 1;
            lock(&conn_inner.conns).remove(&id);
        });
        lock(&inner.conns).insert(id, task.abort_handle());
        if task.is_finished() {
            lock(&inner.conns).remove(&id);
        }
    }
}

/// Closes with RST instead of FIN.
fn reset(stream: TcpStream) {
    if let Err(e) = stream.set_zero_linger() {
        tracing::debug!(error = %e, "fake tracker: SO_LINGER failed");
    }
    drop(stream);
}

/// What to do with the connection after a line.
enum Flow {
    Continue,
    Close,
    Reset,
    /// Read and record, never answer again.
    Mute,
}

async fn serve(inner: &Inner, mut stream: TcpStream, id: u64) {
    let mut mode = inner.mode.subscribe();
    let mut buf: Vec<u8> = Vec::new();
    let mut scanned = 0;
    let mut muted = false;
    loop {
        while let Some(pos) = buf[scanned..].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..scanned + pos + 1).collect();
            scanned = 0;
            let flow = if muted || *mode.borrow() == ConnectionMode::Hang {
                // read, recorded and counted, never answered
                let line = record(inner, id, &line);
                if !line.is_empty() {
                    count(inner, &command_name(line));
                }
                Flow::Continue
            } else {
                tokio::select! {
                    flow = handle_line(inner, &mut stream, id, &line) => flow,
                    _ = killed(&mut mode) => Flow::Reset,
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Mute => muted = true,
                Flow::Close => return,
                Flow::Reset => return reset(stream),
            }
        }
        scanned = buf.len();
        if buf.len() > inner.max_line_len {
            tracing::debug!(
                connection = id,
                "fake tracker: request line too long, closing"
            );
            return;
        }
        // Read straight into the line buffer's spare capacity: a zeroed 16 KiB chunk per read
        // was the fake's largest user-space cost under load (it shares the CPU with the client
        // being benchmarked).
        buf.reserve(16 * 1024);
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = killed(&mut mode) => return reset(stream),
        }
    }
}

/// Resolves when the tracker is switched to [`ConnectionMode::Refuse`] (or dropped).
async fn killed(mode: &mut watch::Receiver<ConnectionMode>) {
    if mode
        .wait_for(|m| *m == ConnectionMode::Refuse)
        .await
        .is_err()
    {
        std::future::pending::<()>().await;
    }
}

/// Logs a received line; returns the line without its terminator.
fn record<'a>(inner: &Inner, id: u64, line: &'a [u8]) -> &'a [u8] {
    lock(&inner.stats).log.push(WireLine {
        connection: id,
        bytes: line.to_vec(),
    });
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The name a line is counted under: the lower-cased command, or the first word of a `!` line.
fn command_name(line: &[u8]) -> String {
    let trimmed = line.trim_ascii_start();
    if trimmed.first() == Some(&b'!') {
        let word = trimmed
            .split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or_default();
        return String::from_utf8_lossy(word).to_ascii_lowercase();
    }
    match Request::decode_line(line) {
        Ok(Some(req)) => req.command().to_owned(),
        Ok(None) | Err(_) => String::new(),
    }
}

fn count(inner: &Inner, command: &str) {
    *lock(&inner.stats)
        .requests
        .entry(command.to_owned())
        .or_insert(0) += 1;
}

async fn handle_line(inner: &Inner, stream: &mut TcpStream, id: u64, raw: &[u8]) -> Flow {
    let line = record(inner, id, raw);
    if line.is_empty() {
        return Flow::Continue; // blank lines are skipped without a reply
    }
    if line.trim_ascii_start().first() == Some(&b'!') {
        return admin_line(inner, stream, line.trim_ascii_start()).await;
    }
    // `^\s*(\w+)\s*(.*)`, command lower-cased; no command word (a whitespace-only line) gives an
    // empty command, answered with `unknown_command`.
    let (cmd, args) = match Request::decode_line(line) {
        Ok(Some(req)) => {
            let (cmd, args) = req.into_parts();
            (cmd, ReqArgs::from(args))
        }
        Ok(None) | Err(_) => (String::new(), ReqArgs::default()),
    };
    count(inner, &cmd);
    let fault = faults::take(&mut lock(&inner.faults), &cmd);
    let callid = args.get("callid").map(<[u8]>::to_vec);
    let run = || async {
        let reply = if cmd.is_empty() {
            Reply::err("unknown_command")
        } else {
            dispatch::execute(&inner.model, &cmd, &args, inner.http_timeout).await
        };
        let mut out = BytesMut::new();
        reply.encode(callid.as_deref(), &mut out);
        out.to_vec()
    };
    let Some((action, execute)) = fault else {
        return write(stream, &run().await).await;
    };
    tracing::debug!(connection = id, command = %cmd, ?action, execute, "fake tracker: fault");
    if let FaultAction::Interleave(other) = &action {
        interleave(inner, other).await;
    }
    let reply = if execute { run().await } else { Vec::new() };
    match action {
        FaultAction::Delay(d) => {
            tokio::time::sleep(d).await;
            write(stream, &reply).await
        }
        FaultAction::Hang => Flow::Mute,
        FaultAction::Drop => Flow::Close,
        FaultAction::Reset => Flow::Reset,
        FaultAction::CloseMidReply => {
            let half = reply.len() / 2;
            let _ = stream
                .write_all(&reply[..half.max(1).min(reply.len())])
                .await;
            Flow::Close
        }
        FaultAction::Garbage(bytes) => write(stream, &bytes).await,
        FaultAction::LongLine(n) => {
            let mut line = Vec::with_capacity(n + 2);
            line.extend_from_slice(b"OK x=");
            line.resize(n.max(5), b'x');
            line.extend_from_slice(b"\r\n");
            write(stream, &line).await
        }
        FaultAction::Rerun => write(stream, &run().await).await,
        FaultAction::DieMidClose => {
            if cmd == "create_close" {
                inner
                    .model
                    .create_close_dying(&args, inner.http_timeout)
                    .await;
            }
            Flow::Close
        }
        FaultAction::Interleave(_) => write(stream, &reply).await,
        FaultAction::StrayLine(extra) => {
            let mut out = reply;
            out.extend_from_slice(&extra);
            write(stream, &out).await
        }
    }
}

/// Runs another client's request against the model, as [`FaultAction::Interleave`] says.
async fn interleave(inner: &Inner, line: &[u8]) {
    let Ok(Some(req)) = Request::decode_line(line) else {
        tracing::warn!("fake tracker: an Interleave line that is not a request was ignored");
        return;
    };
    let (cmd, args) = req.into_parts();
    count(inner, &cmd);
    let reply =
        dispatch::execute(&inner.model, &cmd, &ReqArgs::from(args), inner.http_timeout).await;
    tracing::debug!(command = %cmd, ?reply, "fake tracker: interleaved request");
}

async fn admin_line(inner: &Inner, stream: &mut TcpStream, line: &[u8]) -> Flow {
    let word = command_name(line);
    count(inner, &word);
    if let Some((action, _)) = faults::take(&mut lock(&inner.faults), &word) {
        match action {
            FaultAction::Drop => return Flow::Close,
            FaultAction::Reset => return Flow::Reset,
            FaultAction::Hang => return Flow::Mute,
            _ => {}
        }
    }
    if word == "!shutdown" {
        inner.mode.send_replace(ConnectionMode::Refuse);
        return Flow::Reset;
    }
    let snapshot = lock(&inner.stats).snapshot();
    let mut out = dispatch::admin_lines(line, &snapshot);
    out.extend_from_slice(b".\r\n");
    write(stream, &out).await
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Flow {
    match stream.write_all(bytes).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::Close,
    }
}
