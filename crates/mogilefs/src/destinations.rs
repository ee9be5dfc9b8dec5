//! One attempt's PUT: the body goes to each destination `create_open` gave, in order, until one
//! takes all of it. The store loop around it is in `put.rs`.

use mogile_protocol::{Checksum, CreateOpenOutput, DevId, StoragePath, printable};
use mogile_storage::PutStreamError;
use tracing::field;

use crate::client::Client;
use crate::error::{self, Attempt, AttemptError, Result};
use crate::observe::Observer;
use crate::put::{Body, Store};

/// The destination that took the whole body: what `create_close` reports.
pub(crate) struct Placed {
    pub(crate) devid: DevId,
    pub(crate) path: StoragePath,
    /// Bytes sent: the body's whole length.
    pub(crate) size: u64,
    /// The MD5 of those bytes, when computed.
    pub(crate) checksum: Option<Checksum>,
}

impl Client {
    /// PUTs the body to each destination in order until one answers 2xx after taking the whole
    /// body; `None` when every destination failed (each failure is in `st.tried`; a one-shot
    /// body is put back if it was never touched).
    pub(crate) async fn put_destinations(
        &self,
        st: &mut Store<'_>,
        open: &CreateOpenOutput,
    ) -> Result<Option<Placed>> {
        let md5 = st.md5(self.config().checksum);
        for (i, dest) in open.destinations.iter().enumerate() {
            let url = dest.path.as_str();
            if !st.span.is_disabled() {
                st.span.record("devid", dest.devid.0);
                st.span.record("host", field::display(printable(host(url))));
            }
            let observer = Observer::new(md5, st.opts.progress.clone(), st.restarted);
            st.restarted = true;
            let mut put_opts = mogile_storage::StoragePutOptions::default();
            if observer.is_active() {
                put_opts = put_opts.observer(observer.clone());
            }
            // The length the PUT must have sent in full, when known up front.
            let expected;
            let outcome = match &mut st.body {
                Body::Replayable(payload) => {
                    expected = Some(payload.len());
                    self.inner.storage.put(url, payload, &put_opts).await
                }
                Body::OneShot(slot) => {
                    let Some(one) = slot.take() else { break };
                    expected = one.declared_len();
                    match self.inner.storage.put_stream(url, one, &put_opts).await {
                        Ok(out) => Ok(out),
                        Err(PutStreamError {
                            error,
                            body: Some(back),
                            ..
                        }) => {
                            // Nothing was read from it: the next destination can have it.
                            *slot = Some(back);
                            Err(error)
                        }
                        // Bytes are gone: no failover, and above all no create_close.
                        Err(PutStreamError {
                            error, body: None, ..
                        }) => return Err(error::from_storage(error)),
                    }
                }
            };
            match outcome {
                // The storage client reports a 2xx only once the whole body was handed over; this
                // is the facade's own check of that contract before anything is committed: the
                // size given to `create_close` is the body's, never a count cut short by an early
                // answer (and never `size=0`, which turns the tracker's size check off, for a
                // body that was not empty).
                Ok(out) if expected.is_some_and(|len| len != out.bytes_sent) => {
                    let expected = expected.unwrap_or_default();
                    tracing::warn!(
                        url = %printable(url),
                        expected,
                        sent = out.bytes_sent,
                        "storage reported a short upload as success; not committing it"
                    );
                    st.tried.push(Attempt {
                        url: url.to_owned(),
                        error: AttemptError::Length {
                            expected,
                            actual: out.bytes_sent,
                        },
                    });
                }
                Ok(out) => {
                    return Ok(Some(Placed {
                        devid: dest.devid,
                        path: dest.path.clone(),
                        size: out.bytes_sent,
                        checksum: observer.checksum(),
                    }));
                }
                // The caller's own body failed (a file that changed size, a failing reader): no
                // other destination would do better.
                Err(e) if !e.try_another_replica() => return Err(error::from_storage(e)),
                Err(e) => {
                    match open.destinations.get(i + 1) {
                        Some(next) => tracing::warn!(
                            url = %printable(url),
                            devid = dest.devid.0,
                            error = %error::Chain(&e),
                            next = %printable(next.path.as_str()),
                            "destination failed; trying the next"
                        ),
                        None => tracing::debug!(
                            url = %printable(url),
                            devid = dest.devid.0,
                            error = %error::Chain(&e),
                            "destination failed; none left"
                        ),
                    }
                    st.tried.push(Attempt {
                        url: url.to_owned(),
                        error: AttemptError::Storage(e),
                    });
                }
            }
        }
        Ok(None)
    }
}

/// The host (and port) of a storage URL, for the `put` span: what follows `://`, up to the path.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_of_a_url() {
        assert_eq!(
            super::host("http://10.0.0.1:7500/dev1/0/x.fid"),
            "10.0.0.1:7500"
        );
        assert_eq!(super::host("http://h"), "h");
        assert_eq!(super::host("odd"), "odd");
    }
}
