//! Storing one-shot bodies: streams and readers of known or unknown length.
//!
//! A one-shot body fails over to the next destination (or a new `create_open`) only while none of
//! it has been read. With [`PutOptions::spool`] it is first copied to a temporary file, which then
//! behaves like any replayable body.

use std::io;

use futures::StreamExt;
use mogile_protocol::Key;
use mogile_storage::{OneShotBody, Payload};
use tokio::io::AsyncWriteExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::PutOptions;
use crate::put::{Body, PutResult, Store};
use crate::writer::CommitGate;

/// [`Client::put_body`], and [`Client::writer`]'s way in, with the gate that holds
/// its close until [`Writer::finish`](crate::Writer::finish).
pub(crate) async fn store_one_shot(
    client: &Client,
    key: Key,
    body: OneShotBody,
    opts: &PutOptions,
    commit_gate: Option<CommitGate>,
) -> Result<PutResult> {
    // Refuse a bad key before spooling or reading anything.
    client.config().key_policy.check(&key)?;
    if opts.spool {
        let (file, len) = spool(body).await.map_err(|source| Error::Io { source })?;
        let payload = Payload::file(file.path())
            .await
            .map_err(|source| Error::Io { source })?;
        if payload.len() != len {
            return Err(Error::Io {
                source: io::Error::other("spool file changed while in use"),
            });
        }
        let store = Store::new(key, Body::Replayable(payload), opts).commit_gate(commit_gate);
        // `file` stays alive (and on disk) until the store is over.
        let result = client.store(store).await;
        drop(file);
        return result;
    }
    let store = Store::new(key, Body::OneShot(Some(body)), opts).commit_gate(commit_gate);
    client.store(store).await
}

/// Copies a one-shot body into a fresh temporary file; returns it with its length.
async fn spool(mut body: OneShotBody) -> io::Result<(tempfile::NamedTempFile, u64)> {
    let declared = body.declared_len();
    let named = tokio::task::spawn_blocking(tempfile::NamedTempFile::new)
        .await
        .map_err(io::Error::other)??;
    let mut file = tokio::fs::File::from_std(named.reopen()?);
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    if declared.is_some_and(|d| d != len) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("body declared {declared:?} bytes but yielded {len}"),
        ));
    }
    Ok((named, len))
}
