//! Listing: one `list_keys` page, `list_fids`, and the [`Client::keys`] stream over all pages.
//! Their docs are on [`Client`].

use futures::Stream;
use mogile_protocol::{Fid, Key};
use mogile_protocol::{FidRow, KeyPage, ListFids, ListKeys};
use tracing::{Instrument, field};

use crate::client::Client;
use crate::error::{Ctx, Result};
use crate::options::ListOptions;
use crate::paging::KeyPager;

/// [`Client::list_keys`].
pub(crate) async fn page(client: &Client, opts: &ListOptions) -> Result<KeyPage> {
    let span = tracing::info_span!(
        "list_page",
        prefix = field::Empty,
        after = field::Empty,
        limit = opts.clamped_limit(),
        keys = field::Empty,
        next_after = field::Empty,
    );
    if !span.is_disabled() {
        let nonempty = |v: &Option<Vec<u8>>| v.as_deref().filter(|v| !v.is_empty()).map(Key::from);
        if let Some(prefix) = nonempty(&opts.prefix) {
            span.record("prefix", field::display(prefix));
        }
        if let Some(after) = nonempty(&opts.after) {
            span.record("after", field::display(after));
        }
    }
    let page = page_in_span(client, opts).instrument(span.clone()).await?;
    span.record("keys", page.keys.len());
    if let Some(next) = page.next_after.as_ref().filter(|_| !span.is_disabled()) {
        span.record("next_after", field::display(next));
    }
    Ok(page)
}

/// [`page`], in its span.
async fn page_in_span(client: &Client, opts: &ListOptions) -> Result<KeyPage> {
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
    let span = tracing::info_span!("keys", prefix = field::Empty);
    if let Some(prefix) = opts
        .prefix
        .as_deref()
        .filter(|p| !p.is_empty() && !span.is_disabled())
    {
        span.record("prefix", field::display(Key::from(prefix)));
    }
    // The `keys` span rides along with the state, so that each page's span is inside it.
    let state = (client.clone(), pager, Vec::<Key>::new().into_iter(), span);
    Box::pin(futures::stream::unfold(
        Some(state),
        move |state| async move {
            let (client, mut pager, mut ready, span) = state?;
            loop {
                if let Some(key) = ready.next() {
                    return Some((Ok(key), Some((client, pager, ready, span))));
                }
                let req = pager.next_request()?;
                let mut opts = ListOptions::new().limit(limit);
                opts.prefix = req.prefix;
                opts.after = req.after;
                match page(&client, &opts).instrument(span.clone()).await {
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
