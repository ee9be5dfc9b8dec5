//! `put` and `get`: streaming transfers with progress bars.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use mogilefs::{GetOptions, PutOptions};
use tokio::io::AsyncWriteExt;

use super::{Ctx, op_failure};
use crate::cli::{ByteRange, ChecksumAlgo};
use crate::exit::{Failure, Kind};
use crate::key_text::{display, json as key_json};
use crate::output::Fields;
use crate::progress::Bar;

/// `mogile put KEY FILE`.
pub(crate) async fn put(
    ctx: &mut Ctx,
    key: Vec<u8>,
    file: &Path,
    class: Option<String>,
    checksum: Option<ChecksumAlgo>,
) -> Result<(), Failure> {
    let what = format!("put {}", display(&key));
    let class = class.or_else(|| ctx.settings.class.clone());
    let mut opts = PutOptions::new();
    if let Some(class) = &class {
        opts = opts.class(class.clone());
    }
    if checksum == Some(ChecksumAlgo::Md5) {
        opts = opts.md5(true);
    }
    let stdin = file.as_os_str() == "-";
    let len = if stdin {
        None
    } else {
        // Checked here so the message names the file (and the bar knows the total).
        let meta = tokio::fs::metadata(file)
            .await
            .map_err(|e| Failure::failed(format!("{what}: cannot read {}: {e}", file.display())))?;
        if meta.is_dir() {
            // Status 1, as before the hint was added: scripts may test for it.
            return Err(Failure::failed(format!(
                "{what}: {} is a directory; to store every file under it, use `mogile put -r DIR PREFIX`",
                file.display()
            )));
        }
        Some(meta.len())
    };
    let bar = Bar::new(ctx.quiet, "put", len);
    if bar.is_drawn() {
        opts = opts.progress(Arc::new(bar.clone()));
    }
    let result = if stdin {
        // One-shot: fails over to another destination only before its first byte.
        ctx.client
            .put_reader(key.clone(), tokio::io::stdin(), None, &opts)
            .await
    } else {
        ctx.client.put_file(key.clone(), file, &opts).await
    };
    bar.finish();
    let stored = result.map_err(|e| match e {
        // Reading the local file or stdin failed: name it.
        mogilefs::Error::Io { .. } => {
            let from = if stdin {
                "stdin".into()
            } else {
                file.display().to_string()
            };
            Failure::from_error(Kind::Failed, &format!("{what} from {from}"), &e)
        }
        e => op_failure(&what, &e, false),
    })?;
    if ctx.out.is_json() {
        let mut f = Fields::default();
        f.push("key", key_json(&key));
        f.push("bytes", stored.size);
        f.push("fid", stored.fid.0);
        f.push("class", class);
        f.push("checksum", stored.checksum.map(|c| c.to_string()));
        ctx.out.json(&f.to_json())
    } else if ctx.quiet {
        Ok(())
    } else {
        ctx.out.line(&format!(
            "stored {}: {} bytes (fid {})",
            display(&key),
            stored.size,
            stored.fid.0
        ))
    }
}

/// `mogile get KEY [FILE]`.
pub(crate) async fn get(
    ctx: &mut Ctx,
    key: Vec<u8>,
    file: Option<&Path>,
    verify: bool,
    range: Option<ByteRange>,
    streams: Option<u32>,
) -> Result<(), Failure> {
    let what = format!("get {}", display(&key));
    let mut opts = GetOptions::new();
    if let Some(n) = streams {
        opts = opts.streams(n);
    }
    if verify {
        opts = opts.verify_checksum(true);
    }
    if let Some(r) = range {
        opts = opts.range(r.start, r.len);
    }
    match file.filter(|f| f.as_os_str() != "-") {
        None => to_stdout(ctx, &key, &what, opts).await,
        Some(path) => to_file(ctx, &key, &what, opts, path).await,
    }
}

/// Streams the body to stdout. The facade resumes a failed replica on the next one without
/// repeating bytes; if it cannot, the stream ends with an error and so does the command, having
/// written a prefix of the file and nothing else.
async fn to_stdout(
    ctx: &mut Ctx,
    key: &[u8],
    what: &str,
    mut opts: GetOptions,
) -> Result<(), Failure> {
    let bar = Bar::new(ctx.quiet, "get", None);
    if bar.is_drawn() {
        opts = opts.progress(Arc::new(bar.clone()));
    }
    let mut stream = ctx
        .client
        .get_opts(key.to_vec(), &opts)
        .await
        .map_err(|e| op_failure(what, &e, true))?;
    if let Some(len) = stream.len() {
        bar.set_len(len);
    }
    // Anything buffered on the synchronous stdout goes first (nothing is, but keep the order).
    ctx.out.flush()?;
    let mut stdout = tokio::io::stdout();
    let result = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| op_failure(what, &e, true))?;
            stdout
                .write_all(&chunk)
                .await
                .map_err(|e| Failure::stdout(&e))?;
        }
        stdout.flush().await.map_err(|e| Failure::stdout(&e))
    }
    .await;
    bar.finish();
    result
}

/// Fetches into `path` through a temporary file renamed on success (the facade's `get_to_file`).
async fn to_file(
    ctx: &mut Ctx,
    key: &[u8],
    what: &str,
    mut opts: GetOptions,
    path: &Path,
) -> Result<(), Failure> {
    let bar = Bar::new(ctx.quiet, "get", None);
    if bar.is_drawn() {
        // Only for the bar's total and ETA, so only on a terminal: one extra `file_info`.
        if let Ok(info) = ctx.client.file_info(key.to_vec()).await {
            let from = opts.offset.min(info.length);
            let len = opts
                .len
                .map_or(info.length - from, |l| l.min(info.length - from));
            bar.set_len(len);
        }
        opts = opts.progress(Arc::new(bar.clone()));
    }
    let result = ctx.client.get_to_file(key.to_vec(), path, &opts).await;
    bar.finish();
    let bytes = result.map_err(|e| match e {
        mogilefs::Error::Io { .. } => {
            Failure::from_error(Kind::Failed, &format!("{what} to {}", path.display()), &e)
        }
        e => op_failure(what, &e, true),
    })?;
    if ctx.out.is_json() {
        let mut f = Fields::default();
        f.push("key", key_json(key));
        f.push("bytes", bytes);
        f.push("file", path.to_string_lossy().into_owned());
        ctx.out.json(&f.to_json())
    } else if ctx.quiet {
        Ok(())
    } else {
        ctx.out.line(&format!(
            "fetched {}: {bytes} bytes to {}",
            display(key),
            path.display()
        ))
    }
}
