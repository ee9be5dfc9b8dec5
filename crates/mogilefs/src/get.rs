//! Fetching a file: `get_paths` (and `file_info`, pipelined on the same connection) then a
//! [`FetchStream`] over the replicas.

use std::path::Path;

use futures::StreamExt;
use mogile_protocol::{ChecksumState, HashType, Key};
use mogile_protocol::{FileInfo, FileInfoOutput};
use mogile_storage::AtomicFile;
use tokio::io::AsyncWriteExt;
use tracing::{Instrument, Span, field};

use crate::client::Client;
use crate::error::{Ctx, Error, Result};
use crate::fetch::{Fetch, FetchStream};
use crate::files::{get_paths_cmd, nonempty};
use crate::observe::Md5Hasher;
use crate::options::GetOptions;
use crate::resume::Resume;
use crate::stripe::{Plan, Striped};

/// [`Client::get_opts`].
pub(crate) async fn fetch(client: &Client, key: Key, opts: &GetOptions) -> Result<FetchStream> {
    let span = tracing::info_span!(
        "get",
        key = %key,
        fid = field::Empty,
        length = field::Empty,
        offset = field::Empty,
        replica = field::Empty,
        resume = field::Empty,
        streams = field::Empty,
        stripe_size = field::Empty,
    );
    if opts.offset > 0 {
        span.record("offset", opts.offset);
    }
    open(client, key, opts, &span)
        .instrument(span.clone())
        .await
}

/// [`fetch`] in its `get` span, which the stream keeps.
async fn open(client: &Client, key: Key, opts: &GetOptions, span: &Span) -> Result<FetchStream> {
    let key = nonempty(key)?;
    let name = key.to_string();
    let cfg = client.config();
    let verify_length = opts.verify_length.unwrap_or(true);
    // Asked for in this call: "no checksum available" is an error. Only the client's default
    // policy: verify when the tracker has an MD5, skip otherwise (a policy must not make every
    // fetch from a class without hashtype fail).
    let explicit = opts.verify_checksum == Some(true);
    let verify_checksum = opts.verify_checksum.unwrap_or(cfg.checksum.verify());
    let paths_cmd = get_paths_cmd(client, key.clone(), &opts.paths);
    let (paths, info) = if verify_length || verify_checksum {
        // One pipelined pair on one connection: the length costs no extra round trip, and
        // no second connection, write or read.
        let info_cmd = FileInfo::new(client.domain(), key).devices(true);
        let (paths, info) = client
            .call_pair(paths_cmd, info_cmd, Ctx::key(&name))
            .await?;
        (paths?, Some(info?))
    } else {
        (client.call(paths_cmd, Ctx::key(&name)).await?, None)
    };
    if paths.is_empty() {
        return Err(Error::NoUsablePath {
            key: name,
            attempts: Vec::new(),
        });
    }
    if let Some(info) = &info {
        span.record("fid", info.fid.0);
        span.record("length", info.length);
    }
    let total = info.as_ref().filter(|_| verify_length).map(|i| i.length);
    let plan = total.and_then(|t| stripe_plan(client, opts, t, paths.len()));
    // A striped read takes part of the file from every replica, so one bad replica would spoil
    // part of every large read: when the tracker has a checksum, it is verified by default.
    let verify_checksum = verify_checksum || (plan.is_some() && opts.verify_checksum.is_none());
    let expected = match expected_md5(info.as_ref(), opts) {
        Some(c) if verify_checksum => Some(c.clone()),
        None if explicit => return Err(Error::ChecksumUnavailable { key: name }),
        Some(_) | None => {
            if verify_checksum {
                tracing::debug!(key = %name, "no MD5 to verify against; fetching unverified");
            }
            None
        }
    };
    if let Some(plan) = plan {
        tracing::debug!(
            key = %name,
            streams = plan.streams,
            stripe_size = plan.stripe_size,
            bytes = plan.end - plan.start,
            "striped fetch"
        );
        span.record("streams", plan.streams);
        span.record("stripe_size", plan.stripe_size);
        let mut striped = Striped::new(client.clone(), name, paths, plan);
        striped.verify = expected.map(|c| (Md5Hasher::default(), c));
        striped.progress = opts.progress.clone();
        return Ok(striped.into_stream(span.clone()));
    }
    let resume = Resume::new(opts.offset, opts.len, total);
    let len = total.map(|t| {
        let end = opts.len.map_or(t, |l| t.min(opts.offset.saturating_add(l)));
        end.saturating_sub(opts.offset)
    });
    let mut fetch = Fetch::new(client.clone(), name, paths, resume);
    fetch.span = span.clone();
    fetch.verify = expected.map(|c| (Md5Hasher::default(), c));
    fetch.progress = opts.progress.clone();
    Ok(fetch.into_stream(len))
}

/// How a fetch of a file `total` bytes long with `paths` readable paths is striped, or `None`
/// to read it one replica at a time: striping needs the length, at least two paths and two
/// streams, and at least `stripe_threshold` wanted bytes.
fn stripe_plan(client: &Client, opts: &GetOptions, total: u64, paths: usize) -> Option<Plan> {
    let cfg = client.config();
    let zoned = cfg.zone.is_some() || opts.paths.zone.is_some();
    let streams = match opts.streams.or(cfg.stripe_streams) {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        // Never cross to a remote data centre unasked.
        None if zoned => 1,
        None => paths.min(MAX_AUTO_STREAMS),
    }
    .min(paths);
    let start = opts.offset;
    let end = opts
        .len
        .map_or(total, |l| total.min(start.saturating_add(l)));
    let wanted = end.saturating_sub(start);
    (streams >= 2 && wanted >= cfg.stripe_threshold).then_some(Plan {
        start,
        end,
        total,
        stripe_size: cfg.stripe_size,
        streams,
    })
}

/// Stripes in flight by default: the number of paths, at most this.
const MAX_AUTO_STREAMS: usize = 4;

/// [`Client::get_to_file`].
pub(crate) async fn fetch_to_file(
    client: &Client,
    key: Key,
    path: &Path,
    opts: &GetOptions,
) -> Result<u64> {
    let io = |source| Error::Io { source };
    let mut file = AtomicFile::create(path).await.map_err(io)?;
    let mut stream = fetch(client, key, opts).await?;
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?).await.map_err(io)?;
    }
    file.commit().await.map_err(io)
}

/// The MD5 a verified fetch must match, if the tracker has one for the whole file.
fn expected_md5<'a>(
    info: Option<&'a FileInfoOutput>,
    opts: &GetOptions,
) -> Option<&'a mogile_protocol::Checksum> {
    let whole = opts.offset == 0 && opts.len.is_none();
    match info.and_then(|i| i.checksum.as_ref()) {
        Some(ChecksumState::Present(c)) if whole && c.hash == HashType::Md5 => Some(c),
        _ => None,
    }
}
