//! Listing: one `list_keys` page, `list_fids`, and the [`Client::keys`] stream over all pages.

use futures::Stream;
use mogile_protocol::{Fid, Key};
use mogile_protocol::{FidRow, KeyPage, ListFids, ListKeys};

use crate::client::Client;
use crate::error::{Ctx, Result};
use crate::options::ListOptions;
use crate::paging::KeyPager;

impl Client {
    /// One `list_keys` page: keys after `opts.after` that the tracker matches with `opts.prefix`,
    /// in byte order. An empty listing (`ERR none_match`) is an empty page.
    ///
    /// The page size is clamped to `1..=1000`. If a reply line is too long for the tracker
    /// client's limit, the page is asked again with half the size (down to 1).
    ///
    /// This is the raw page: on a real 2.73 tracker the prefix matches case-insensitively and is
    /// also used as a regular expression against `after`. [`keys`](Self::keys) handles both.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`](crate::Error::UnknownDomain) or a tracker failure
    /// (`after_mismatch` when `after` does not start with `prefix`).
    pub async fn list_keys(&self, opts: &ListOptions) -> Result<KeyPage> {
        let mut limit = opts.clamped_limit();
        loop {
            let mut cmd = ListKeys::new(&*self.domain).limit(limit);
            if let Some(p) = opts.prefix.as_ref().filter(|p| !p.is_empty()) {
                cmd = cmd.prefix(p.clone());
            }
            if let Some(a) = opts.after.as_ref().filter(|a| !a.is_empty()) {
                cmd = cmd.after(a.clone());
            }
            match self.tracker_call(cmd, Ctx::default()).await {
                Ok(page) => return Ok(page),
                Err(e) if e.is_reply_too_long() && limit > 1 => {
                    limit /= 2;
                    tracing::debug!(
                        limit,
                        "list_keys reply line too long; asking for a smaller page"
                    );
                }
                Err(e) => return Err(e.into_error()),
            }
        }
    }

    /// Every key whose bytes start with `prefix` (empty: every key in the domain), page by page,
    /// in byte order; the stream ends cleanly after the last page.
    ///
    /// Matching is exact and byte-wise, whatever the tracker's database does: the tracker's
    /// case-insensitive matches (`LK/upper` for `lk/`) are filtered out, and prefixes holding
    /// regular-expression metacharacters (`lk(`) or `LIKE` wildcards (`lk_`, `lk%`) work. For
    /// every page after the first, the prefix sent is the longest metacharacter-free leading part
    /// of `prefix` that the cursor also starts with, so the 2.73 tracker's regex check of `after`
    /// against the prefix cannot fail; the listing stops on an empty page (`none_match`) or once a
    /// page sorts past every key that can start with `prefix`.
    ///
    /// # Errors
    ///
    /// The stream yields the first failure of a page request and then ends.
    pub fn keys<P: AsRef<[u8]>>(
        &self,
        prefix: P,
    ) -> impl Stream<Item = Result<Key>> + Send + Unpin + use<P> {
        self.keys_opts(&ListOptions::new().prefix(prefix))
    }

    /// [`keys`](Self::keys) with options: `prefix`, the page size (`limit`, default 1000), and
    /// `after` to start after a key.
    ///
    /// # Errors
    ///
    /// As [`keys`](Self::keys).
    pub fn keys_opts(
        &self,
        opts: &ListOptions,
    ) -> impl Stream<Item = Result<Key>> + Send + Unpin + use<> {
        let prefix = opts.prefix.clone().unwrap_or_default();
        let pager = KeyPager::new(prefix).starting_after(opts.after.clone());
        let limit = opts.clamped_limit();
        let state = (self.clone(), pager, Vec::<Key>::new().into_iter());
        Box::pin(futures::stream::unfold(
            Some(state),
            move |state| async move {
                let (client, mut pager, mut ready) = state?;
                loop {
                    if let Some(key) = ready.next() {
                        return Some((Ok(key), Some((client, pager, ready))));
                    }
                    let req = pager.next_request()?;
                    let mut opts = ListOptions::new().limit(limit);
                    opts.prefix = req.prefix;
                    opts.after = req.after;
                    match client.list_keys(&opts).await {
                        Ok(page) => {
                            let next_after = page.next_after.clone();
                            let keys =
                                pager.accept(page.keys, next_after.as_ref().map(Key::as_bytes));
                            ready = keys.into_iter();
                        }
                        Err(e) => return Some((Err(e), None)),
                    }
                }
            },
        ))
    }

    /// Up to `count` files (the tracker caps it at 500) starting at fid `from`, across domains
    /// (`list_fids`).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn list_fids(&self, from: Fid, count: u32) -> Result<Vec<FidRow>> {
        let cmd = ListFids::new().from(from).count(count.clamp(1, 500));
        self.call(cmd, Ctx::default()).await
    }
}
