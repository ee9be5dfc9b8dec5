//! Listing: one `list_keys` page, `list_fids`, and the [`Client::keys`] stream over all pages.
//! Their docs are on [`Client`].

use futures::Stream;
use mogile_protocol::{Fid, Key};
use mogile_protocol::{FidRow, KeyPage, ListFids, ListKeys};

use crate::client::Client;
use crate::error::{Ctx, Result};
use crate::options::ListOptions;
use crate::paging::KeyPager;

/// [`Client::list_keys`].
pub(crate) async fn page(client: &Client, opts: &ListOptions) -> Result<KeyPage> {
    let mut limit = opts.clamped_limit();
    loop {
        let mut cmd = ListKeys::new(client.domain()).limit(limit);
        if let Some(p) = opts.prefix.as_ref().filter(|p| !p.is_empty()) {
            cmd = cmd.prefix(p.clone());
        }
        if let Some(a) = opts.after.as_ref().filter(|a| !a.is_empty()) {
            cmd = cmd.after(a.clone());
        }
        match client.tracker_call(cmd, Ctx::default()).await {
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

/// [`Client::keys_opts`]: the pages of a listing, as one stream.
pub(crate) fn keys(
    client: &Client,
    opts: &ListOptions,
) -> impl Stream<Item = Result<Key>> + Send + Unpin + use<> {
    let prefix = opts.prefix.clone().unwrap_or_default();
    let pager = KeyPager::new(prefix).starting_after(opts.after.clone());
    let limit = opts.clamped_limit();
    let state = (client.clone(), pager, Vec::<Key>::new().into_iter());
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
                match page(&client, &opts).await {
                    Ok(page) => {
                        let next_after = page.next_after.clone();
                        let keys = pager.accept(page.keys, next_after.as_ref().map(Key::as_bytes));
                        ready = keys.into_iter();
                    }
                    Err(e) => return Some((Err(e), None)),
                }
            }
        },
    ))
}

/// [`Client::list_fids`].
pub(crate) async fn fids(client: &Client, from: Fid, count: u32) -> Result<Vec<FidRow>> {
    let cmd = ListFids::new().from(from).count(count.clamp(1, 500));
    client.call(cmd, Ctx::default()).await
}
