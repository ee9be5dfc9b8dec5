//! Storing one-shot bodies: streams and readers of known or unknown length.
//!
//! A one-shot body fails over to the next destination (or a new `create_open`) only while none of
//! it has been read. With [`PutOptions::spool`] it is first copied to a temporary file, which then
//! behaves like any replayable body.

use std::io;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use mogile_protocol::Key;
use mogile_storage::{OneShotBody, Payload};
use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::PutOptions;
use crate::put::{Body, PutResult, Store};
use crate::writer::CommitGate;

impl Client {
    /// Stores a stream of chunks. `len` is its exact length if known (sent as `Content-Length`);
    /// otherwise the body goes out chunked.
    ///
    /// # Errors
    ///
    /// As [`put_body`](Self::put_body).
    pub async fn put_stream<S>(
        &self,
        key: impl Into<Key>,
        stream: S,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutResult>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        self.put_body(key, OneShotBody::from_stream(stream, len), opts)
            .await
    }

    /// Stores everything `reader` yields. `len` as for [`put_stream`](Self::put_stream).
    ///
    /// # Errors
    ///
    /// As [`put_body`](Self::put_body).
    pub async fn put_reader<R>(
        &self,
        key: impl Into<Key>,
        reader: R,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutResult>
    where
        R: AsyncRead + Send + 'static,
    {
        self.put_body(key, OneShotBody::from_reader(reader, len), opts)
            .await
    }

    /// The general store of a one-shot body.
    ///
    /// The body moves on to the next destination, or to a new `create_open`, only while none of it
    /// has been read. Once bytes are gone, a failed PUT or a rejected close ends the store (never
    /// with a `create_close` for the failed attempt), and the 50-minute restart rule cannot apply:
    /// a slow one-shot upload is closed rather than restarted. [`PutOptions::spool`] lifts all of
    /// this by copying the body to a temporary file first.
    ///
    /// # Errors
    ///
    /// As [`put_opts`](Self::put_opts), and [`Error::Storage`] when a destination fails after
    /// part of the body was read (the body cannot be sent again; use [`PutOptions::spool`] for
    /// that). [`Error::Io`] when spooling fails or the body itself yields an error.
    pub async fn put_body(
        &self,
        key: impl Into<Key>,
        body: OneShotBody,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        self.store_one_shot(key.into(), body, opts, None).await
    }

    /// [`put_body`](Self::put_body), and [`Client::writer`]'s way in, with the gate that holds
    /// its close until [`Writer::finish`](crate::Writer::finish).
    pub(crate) async fn store_one_shot(
        &self,
        key: Key,
        body: OneShotBody,
        opts: &PutOptions,
        commit_gate: Option<CommitGate>,
    ) -> Result<PutResult> {
        // Refuse a bad key before spooling or reading anything.
        self.config().key_policy.check(&key)?;
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
            let result = self.store(store).await;
            drop(file);
            return result;
        }
        let store = Store::new(key, Body::OneShot(Some(body)), opts).commit_gate(commit_gate);
        self.store(store).await
    }
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
