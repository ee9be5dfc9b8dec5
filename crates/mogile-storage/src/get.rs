//! Downloads: `GET` as a stream, as bytes, or into a file.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::Method;
use http::header::CONTENT_RANGE;
use hyper::body::Incoming;

use crate::client::{ConnHandle, StorageClient, content_length};
use crate::error::StorageError;
use crate::options::{ByteRange, ContentRange, Extent, StorageGetOptions, TransferObserver};
use crate::speed::LowSpeed;
use crate::stream::ByteStream;
use crate::trace::Transfer;

/// Largest capacity reserved up front by [`GetResponse::bytes`] on the word of `Content-Length`.
const MAX_PREALLOC: u64 = 8 * 1024 * 1024;

impl StorageClient {
    /// `GET url`, optionally a byte range. The body is not read yet: use
    /// [`GetResponse::into_stream`] or [`GetResponse::bytes`].
    ///
    /// A range goes out as `bytes=start-end` or `bytes=start-` (never a suffix range, which
    /// mogstored gets wrong). A `206` is accepted only with a `Content-Range` that starts at the
    /// requested byte (byte 0 without a range), covers no more than was asked, and agrees with
    /// `Content-Length`; any other 2xx means the node ignored the range
    /// ([`range_honoured`](GetResponse::range_honoured) is then false and the body is the whole
    /// file). [`extent`](GetResponse::extent) says which of the two the body is.
    ///
    /// # Errors
    /// Non-2xx statuses, redirects (not followed), connection failures and timeouts; see
    /// [`StorageError`].
    pub async fn get(
        &self,
        url: &str,
        opts: &StorageGetOptions,
    ) -> Result<GetResponse, StorageError> {
        let range = match opts.range {
            None => None,
            Some(r) => Some(r.header_value().ok_or_else(|| StorageError::InvalidRange {
                url: url.to_owned(),
                reason: "empty or overflowing range",
            })?),
        };
        let transfer = Transfer::start("GET", url);
        let sent = transfer
            .run(|| self.send_checked(url, Method::GET, range))
            .await;
        let (resp, conn) = match sent {
            Ok(sent) => sent,
            Err(e) => {
                transfer.finish(None, Some(&e));
                return Err(e);
            }
        };
        let status = resp.status();
        transfer.status(status.as_u16());
        let content_length = content_length(&resp);
        let raw_range = resp
            .headers()
            .get(CONTENT_RANGE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let content_range = raw_range.as_deref().and_then(ContentRange::parse);
        let extent = if status == http::StatusCode::PARTIAL_CONTENT {
            // A request without a range asked for the file from byte 0: a `206` must start there
            // too, or its body would pass for the file's first bytes.
            let asked = opts.range.unwrap_or(ByteRange::from_offset(0));
            let fits = content_range.filter(|cr| {
                cr.start == asked.start
                    && asked.len.is_none_or(|l| cr.len() <= l)
                    && content_length.is_none_or(|cl| cl == cr.len())
            });
            let Some(part) = fits else {
                conn.poison();
                let e = StorageError::RangeNotHonoured {
                    url: url.to_owned(),
                    start: asked.start,
                    content_range: raw_range,
                };
                transfer.finish(Some(0), Some(&e));
                return Err(e);
            };
            Extent::Part(part)
        } else {
            Extent::Whole {
                len: content_length,
            }
        };
        let range_honoured = opts.range.is_none() || matches!(extent, Extent::Part(_));
        Ok(GetResponse {
            url: url.to_owned(),
            status: status.as_u16(),
            content_length,
            content_range,
            extent,
            range_honoured,
            body: resp.into_body(),
            idle: self.config().idle_timeout,
            low_speed: self.config().low_speed_limit,
            observer: opts.observer.clone(),
            conn,
            transfer,
        })
    }
}

/// A successful `GET` whose body has not been read yet.
pub struct GetResponse {
    url: String,
    status: u16,
    content_length: Option<u64>,
    content_range: Option<ContentRange>,
    extent: Extent,
    range_honoured: bool,
    body: Incoming,
    idle: std::time::Duration,
    low_speed: Option<LowSpeed>,
    observer: Option<Arc<dyn TransferObserver>>,
    conn: ConnHandle,
    /// The request's span, which the body's stream ends.
    transfer: Transfer,
}

impl GetResponse {
    /// The URL fetched.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The 2xx status (`200`, or `206` for an honoured range).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body length promised by `Content-Length`.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The parsed `Content-Range` of a `206`.
    pub fn content_range(&self) -> Option<ContentRange> {
        self.content_range
    }

    /// True if the body starts at the requested byte: always without a range; with one, only for
    /// a `206` whose `Content-Range` starts there. False means the node ignored the range and the
    /// body is the whole file.
    pub fn range_honoured(&self) -> bool {
        self.range_honoured
    }

    /// Where the body lies in the file: the whole file, or the part asked for (checked as
    /// [`StorageClient::get`] says).
    pub fn extent(&self) -> Extent {
        self.extent
    }

    /// The body as a stream of chunks (see [`ByteStream`]).
    pub fn into_stream(self) -> ByteStream {
        ByteStream::new(
            self.url,
            self.body,
            self.idle,
            self.low_speed,
            self.content_length,
            self.observer,
            self.conn,
        )
        .traced(self.transfer)
    }

    /// Drops the answer unread, for a caller that refuses it (a length or range that does not fit
    /// what it asked for): its connection is never used for another request, even if hyper had
    /// already read the whole body.
    pub fn discard(self) {
        self.conn.poison();
        self.transfer.finish(Some(0), None);
    }

    /// The whole body in memory.
    ///
    /// # Errors
    /// As for [`ByteStream`]: timeouts, broken connections, length mismatches.
    pub async fn bytes(self) -> Result<Bytes, StorageError> {
        let cap = self.content_length.unwrap_or(0).min(MAX_PREALLOC);
        // `cap` is at most 8 MiB, so the conversion cannot truncate.
        let mut buf = BytesMut::with_capacity(usize::try_from(cap).unwrap_or(0));
        let mut stream = self.into_stream();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}

impl fmt::Debug for GetResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetResponse")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("content_length", &self.content_length)
            .field("content_range", &self.content_range)
            .field("extent", &self.extent)
            .field("range_honoured", &self.range_honoured)
            .finish_non_exhaustive()
    }
}
