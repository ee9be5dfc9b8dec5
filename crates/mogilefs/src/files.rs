//! The thin file commands: paths, info, debug, delete, rename, class. Each is one tracker call
//! through [`Client::call`]; their docs are on [`Client`].

use mogile_protocol::{
    Delete, FileDebug, FileDebugInfo, FileInfo, FileInfoOutput, GetPaths, Rename, UpdateFileClass,
};
use mogile_protocol::{Key, KeyError, StoragePath};

use crate::client::Client;
use crate::error::{Ctx, Error, Result};
use crate::options::{DeleteOptions, PathsOptions};

/// [`Client::paths_opts`].
pub(crate) async fn paths(
    client: &Client,
    key: Key,
    opts: &PathsOptions,
) -> Result<Vec<StoragePath>> {
    let key = nonempty(key)?;
    let name = key.to_string();
    let cmd = get_paths_cmd(client, key, opts);
    client.call(cmd, Ctx::key(&name)).await
}

/// The `get_paths` request for `key`: `opts` over the client's settings.
pub(crate) fn get_paths_cmd(client: &Client, key: Key, opts: &PathsOptions) -> GetPaths {
    let cfg = client.config();
    let mut cmd = GetPaths::new(client.domain(), key)
        .noverify(opts.noverify.unwrap_or(cfg.noverify))
        .pathcount(opts.pathcount.unwrap_or(cfg.pathcount).max(1));
    if let Some(zone) = opts.zone.as_ref().or(cfg.zone.as_ref()) {
        cmd = cmd.zone(zone.as_str());
    }
    cmd
}

/// [`Client::exists`].
pub(crate) async fn exists(client: &Client, key: Key) -> Result<bool> {
    match info(client, key).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// [`Client::file_info`].
pub(crate) async fn info(client: &Client, key: Key) -> Result<FileInfoOutput> {
    let key = nonempty(key)?;
    let name = key.to_string();
    let cmd = FileInfo::new(client.domain(), key).devices(true);
    client.call(cmd, Ctx::key(&name)).await
}

/// [`Client::file_debug`].
pub(crate) async fn debug(client: &Client, key: Key) -> Result<FileDebugInfo> {
    let key = nonempty(key)?;
    let name = key.to_string();
    client
        .call(FileDebug::by_key(client.domain(), key), Ctx::key(&name))
        .await
}

/// [`Client::delete_opts`].
pub(crate) async fn delete(client: &Client, key: Key, opts: &DeleteOptions) -> Result<()> {
    let key = nonempty(key)?;
    let name = key.to_string();
    match client
        .call(Delete::new(client.domain(), key), Ctx::key(&name))
        .await
    {
        Err(Error::NotFound { .. }) if opts.missing_ok => Ok(()),
        other => other,
    }
}

/// [`Client::rename`].
pub(crate) async fn rename(client: &Client, from: Key, to: Key) -> Result<()> {
    let from = nonempty(from)?;
    client.config().key_policy.check(&to)?;
    let (name, target) = (from.to_string(), to.to_string());
    let ctx = Ctx {
        target: Some(&target),
        ..Ctx::key(&name)
    };
    client
        .call(Rename::new(client.domain(), from, to), ctx)
        .await
}

/// [`Client::update_class`].
pub(crate) async fn update_class(client: &Client, key: Key, class: &str) -> Result<()> {
    let key = nonempty(key)?;
    let name = key.to_string();
    let ctx = Ctx {
        class: Some(class),
        ..Ctx::key(&name)
    };
    client
        .call(UpdateFileClass::new(client.domain(), key, class), ctx)
        .await
}

/// Refuses the empty key up front (the tracker would answer `no_key`, a client bug).
pub(crate) fn nonempty(key: Key) -> Result<Key> {
    if key.is_empty() {
        return Err(Error::KeyPolicy {
            source: KeyError::Empty,
        });
    }
    Ok(key)
}
