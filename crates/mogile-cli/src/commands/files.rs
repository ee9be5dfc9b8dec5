//! `rm`, `mv`, `info`, `debug` and `paths`: one tracker command each.

use mogilefs::PathsOptions;
use serde_json::json;

use super::{Ctx, op_failure};
use crate::exit::Failure;
use crate::key_text::{display, json as key_json};
use crate::output::Fields;

/// `mogile rm KEY`.
pub(crate) async fn rm(ctx: &mut Ctx, key: Vec<u8>) -> Result<(), Failure> {
    let what = format!("rm {}", display(&key));
    ctx.client
        .delete(key.clone())
        .await
        .map_err(|e| op_failure(&what, &e, true))?;
    if ctx.out.is_json() {
        ctx.out
            .json(&json!({ "key": key_json(&key), "deleted": true }))
    } else if ctx.quiet {
        Ok(())
    } else {
        ctx.out.line(&format!("deleted {}", display(&key)))
    }
}

/// `mogile mv OLD NEW`.
pub(crate) async fn mv(ctx: &mut Ctx, old: Vec<u8>, new: Vec<u8>) -> Result<(), Failure> {
    let what = format!("mv {} -> {}", display(&old), display(&new));
    ctx.client
        .rename(old.clone(), new.clone())
        .await
        .map_err(|e| op_failure(&what, &e, true))?;
    if ctx.out.is_json() {
        ctx.out
            .json(&json!({ "from": key_json(&old), "to": key_json(&new) }))
    } else if ctx.quiet {
        Ok(())
    } else {
        ctx.out
            .line(&format!("renamed {} -> {}", display(&old), display(&new)))
    }
}

/// `mogile info KEY`.
pub(crate) async fn info(ctx: &mut Ctx, key: Vec<u8>) -> Result<(), Failure> {
    let what = format!("info {}", display(&key));
    let info = ctx
        .client
        .file_info(key)
        .await
        .map_err(|e| op_failure(&what, &e, true))?;
    // Strings are the tracker's text: the output shows them escaped (`output::text`).
    let mut f = Fields::default();
    f.push("key", key_json(info.key.as_bytes()));
    f.push("fid", info.fid.0);
    f.push("domain", info.domain);
    f.push("class", info.class);
    f.push("length", info.length);
    f.push("devcount", info.devcount);
    let devids = info
        .devids
        .map(|ids| ids.iter().map(|d| d.0).collect::<Vec<_>>());
    f.push("devids", devids);
    f.push("checksum", info.checksum.map(|c| c.to_string()));
    ctx.out.fields(&f)
}

/// `mogile debug KEY`: every field of `file_debug`, in the tracker's order.
pub(crate) async fn debug(ctx: &mut Ctx, key: Vec<u8>) -> Result<(), Failure> {
    let what = format!("debug {}", display(&key));
    let info = ctx
        .client
        .file_debug(key)
        .await
        .map_err(|e| op_failure(&what, &e, true))?;
    let mut f = Fields::default();
    for (name, value) in info.fields.iter() {
        // Values are tracker text, except `fid_dkey`, which is a key: show each like a key.
        f.push(String::from_utf8_lossy(name), key_json(value));
    }
    ctx.out.fields(&f)
}

/// `mogile paths KEY`.
pub(crate) async fn paths(
    ctx: &mut Ctx,
    key: Vec<u8>,
    noverify: bool,
    pathcount: Option<u32>,
) -> Result<(), Failure> {
    let what = format!("paths {}", display(&key));
    let mut opts = PathsOptions::new().noverify(noverify);
    if let Some(n) = pathcount {
        opts = opts.pathcount(n);
    }
    let paths = ctx
        .client
        .paths_opts(key.clone(), &opts)
        .await
        .map_err(|e| op_failure(&what, &e, true))?;
    if paths.is_empty() {
        // `OK paths=0`: the file exists but no replica is readable now; not "not found".
        return Err(Failure::failed(format!(
            "{what}: no readable replica right now"
        )));
    }
    if ctx.out.is_json() {
        let urls: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
        return ctx
            .out
            .json(&json!({ "key": key_json(&key), "paths": urls }));
    }
    for p in &paths {
        // The tracker's URL, shown like any text from it.
        ctx.out.line(&display(p.as_str()))?;
    }
    Ok(())
}
