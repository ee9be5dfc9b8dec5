//! A MogileFS domain and key prefix as a side, through the facade.

use bytes::BytesMut;
use futures::{StreamExt, TryStreamExt};
use mogilefs::{ChecksumState, Client, DeleteOptions, HashType, Key, KeyPolicy, PutOptions};

use super::side::{Body, Listed, Listing, Meta, SideError, Tally, md5_hex};
use super::sort::Entry;

/// Streams up to this size are gathered in memory before they are stored, so the upload can
/// fail over to another destination; larger ones are spooled to a temporary file for that.
const GATHER_MAX: u64 = 8 * 1024 * 1024;

/// Keys under a prefix of one domain.
#[derive(Debug, Clone)]
pub(crate) struct MogileSide {
    client: Client,
    prefix: Vec<u8>,
}

impl MogileSide {
    /// The keys of `client`'s domain that start with `prefix`.
    pub(crate) fn new(client: Client, prefix: Vec<u8>) -> Self {
        Self { client, prefix }
    }

    /// Closes the client's connections.
    pub(crate) async fn close(&self) {
        self.client.close().await;
    }

    fn full(&self, key: &[u8]) -> Key {
        Key::from([self.prefix.as_slice(), key].concat())
    }

    /// `list_keys` pages through the facade (byte-wise prefix matching whatever the database's
    /// collation does); sizes are not listed, so they are asked later, only for keys on both
    /// sides.
    pub(crate) fn list(&self) -> Listing {
        let prefix = self.prefix.clone();
        self.client
            .keys(prefix.clone())
            .map_err(SideError::from)
            .try_filter_map(move |key| {
                let rel = key
                    .as_bytes()
                    .strip_prefix(prefix.as_slice())
                    .map(<[u8]>::to_vec);
                let item = match rel {
                    // The facade already drops keys outside the prefix.
                    None => None,
                    Some(rel) if rel.is_empty() => Some(Listed::Bad {
                        key: rel,
                        reason: "the key is the prefix itself, which names no file under it".into(),
                    }),
                    Some(rel) => Some(Listed::Entry(Entry {
                        key: rel,
                        size: None,
                    })),
                };
                futures::future::ready(Ok(item))
            })
            .boxed()
    }

    /// Why `key` cannot be stored: the client's key policy (1 to 255 bytes, no NUL).
    pub(crate) fn refuses(&self, key: &[u8]) -> Option<String> {
        KeyPolicy::default()
            .check(&self.full(key))
            .err()
            .map(|e| e.to_string())
    }

    pub(crate) async fn meta(&self, key: &[u8]) -> Result<Meta, SideError> {
        let info = self.client.file_info(self.full(key)).await?;
        let md5 = match &info.checksum {
            Some(ChecksumState::Present(c)) if c.hash == HashType::Md5 => md5_hex(&c.hex),
            _ => None,
        };
        Ok(Meta {
            size: info.length,
            md5,
            class: Some(info.class),
        })
    }

    pub(crate) async fn open(&self, key: &[u8]) -> Result<Body, SideError> {
        let stream = self.client.get(self.full(key)).await?;
        let Some(len) = stream.len() else {
            // A whole-file get always knows its length (the facade checks it against
            // `file_info`); without it the copy could not be checked.
            return Err(SideError::UnknownLength);
        };
        Ok(Body::Stream {
            stream: stream.map_err(std::io::Error::other).boxed(),
            len,
        })
    }

    /// Stores `key`: a local file directly (replayable), a small stream gathered in memory, a
    /// large one spooled; only a complete upload is committed (`create_close`).
    pub(crate) async fn write(
        &self,
        key: &[u8],
        body: Body,
        class: Option<&str>,
        tally: Tally,
    ) -> Result<u64, SideError> {
        let mut opts = PutOptions::new();
        if let Some(class) = class {
            opts = opts.class(class);
        }
        let expected = body.len();
        let stored = match body {
            Body::File { path, .. } => {
                opts = opts.progress(std::sync::Arc::new(tally));
                self.client.put_file(self.full(key), &path, &opts).await?
            }
            body if expected <= GATHER_MAX => {
                let mut stream = body.into_stream(tally).await?;
                let mut buf = BytesMut::with_capacity(expected as usize);
                while let Some(chunk) = stream.next().await {
                    buf.extend_from_slice(&chunk?);
                }
                if buf.len() as u64 != expected {
                    return Err(SideError::Length {
                        expected,
                        got: buf.len() as u64,
                    });
                }
                self.client
                    .put_opts(self.full(key), buf.freeze(), &opts)
                    .await?
            }
            body => {
                let stream = body.into_stream(tally).await?;
                opts = opts.spool(true);
                self.client
                    .put_stream(self.full(key), stream, Some(expected), &opts)
                    .await?
            }
        };
        Ok(stored.size)
    }

    pub(crate) async fn delete(&self, key: &[u8]) -> Result<(), SideError> {
        self.client
            .delete_opts(self.full(key), &DeleteOptions::new().missing_ok(true))
            .await?;
        Ok(())
    }
}
