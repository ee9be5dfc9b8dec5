//! One soak task: a seeded sequence of operations on the task's own keys, each checked against
//! the model.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::TryStreamExt;
use mogilefs::{Client, Error, PutOptions};
use rand::Rng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::Shared;
use super::model::{KeyModel, may_have_applied};
use crate::reliability::support::content;

/// Runs `ops` operations (or until `deadline`) for task `task`.
pub(super) async fn run(
    task: usize,
    client: Client,
    mut rng: StdRng,
    ops: u64,
    deadline: Instant,
    shared: Arc<Shared>,
) -> KeyModel {
    let prefix = format!("t{task:02}/");
    let keys: Vec<String> = (0..4).map(|i| format!("{prefix}k{i}")).collect();
    let mut model = KeyModel::new(prefix, &keys);
    let mut next_id = (task as u64) << 32;
    for _ in 0..ops {
        if Instant::now() >= deadline {
            break;
        }
        let key = keys[rng.random_range(0..keys.len())].clone();
        let outcome = match rng.random_range(0..100) {
            0..33 => {
                next_id += 1;
                put(&client, &mut model, &mut rng, &key, next_id).await
            }
            33..58 => get(&client, &mut model, &key).await,
            58..65 => get_range(&client, &mut model, &mut rng, &key).await,
            65..75 => delete(&client, &mut model, &key).await,
            75..87 => rename(&client, &mut model, &mut rng).await,
            _ => list(&client, &mut model).await,
        };
        match outcome {
            Ok(true) => shared.ok.fetch_add(1, Ordering::Relaxed),
            Ok(false) => shared.typed_errors.fetch_add(1, Ordering::Relaxed),
            Err(violation) => {
                shared.violation(violation);
                0
            }
        };
        shared.check_pools(&client);
        shared.ops.send_modify(|n| *n += 1);
    }
    model
}

/// `Ok(true)`: the operation succeeded; `Ok(false)`: a typed error (allowed under faults);
/// `Err`: an invariant was broken.
type Outcome = Result<bool, String>;

async fn put(
    client: &Client,
    model: &mut KeyModel,
    rng: &mut StdRng,
    key: &str,
    id: u64,
) -> Outcome {
    let len = match rng.random_range(0..100) {
        0..5 => 0,
        5..50 => rng.random_range(1..1024),
        50..90 => rng.random_range(1024..64 * 1024),
        _ => rng.random_range(64 * 1024..512 * 1024),
    };
    let data = content(key, id, len);
    model.remember(id, data.clone());
    let opts = match rng.random_range(0..3) {
        0 => PutOptions::new(),
        1 => PutOptions::new().class("c2"),
        _ => PutOptions::new().class("md5").md5(true),
    };
    // One store in four goes as a one-shot stream (no failover once its first byte is out).
    let stored = if rng.random_range(0..4) == 0 {
        let chunks: Vec<io::Result<Bytes>> = data
            .chunks(16 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let stream = futures::stream::iter(chunks);
        client
            .put_stream(key, stream, Some(len as u64), &opts)
            .await
    } else {
        client.put_opts(key, data, &opts).await
    };
    match stored {
        Ok(res) if res.size == len as u64 => {
            model.set(key, Some(id));
            Ok(true)
        }
        Ok(res) => Err(format!("{key}: put of {len} bytes reported {}", res.size)),
        // Invariant 2: only OutcomeUnknown may have changed the key.
        Err(Error::OutcomeUnknown { .. }) => {
            model.maybe(key, Some(id));
            // A close that died after deleting the old fid leaves the key with no content.
            model.maybe(key, None);
            Ok(false)
        }
        Err(_) => Ok(false),
    }
}

async fn get(client: &Client, model: &mut KeyModel, key: &str) -> Outcome {
    match client.get_bytes(key).await {
        Ok(data) => model.observe_bytes(key, &data).map(|()| true),
        Err(Error::NotFound { .. }) => model.observe_absent(key).map(|()| true),
        Err(_) => Ok(false),
    }
}

/// A byte range of a key that certainly holds a content: exactly those bytes, or an error.
async fn get_range(client: &Client, model: &mut KeyModel, rng: &mut StdRng, key: &str) -> Outcome {
    let Some(Some(id)) = model.definite(key) else {
        return get(client, model, key).await;
    };
    let data = model.bytes_of(id);
    if data.len() < 2 {
        return get(client, model, key).await;
    }
    let offset = rng.random_range(0..data.len() - 1);
    let len = rng.random_range(1..=data.len() - offset);
    match client.get_range(key, offset as u64, Some(len as u64)).await {
        Ok(got) if got[..] == data[offset..offset + len] => Ok(true),
        Ok(got) => Err(format!(
            "{key}: range {offset}+{len} returned {} wrong bytes",
            got.len()
        )),
        Err(Error::NotFound { .. }) => model.observe_absent(key).map(|()| true),
        Err(_) => Ok(false),
    }
}

async fn delete(client: &Client, model: &mut KeyModel, key: &str) -> Outcome {
    match client.delete(key).await {
        Ok(()) => {
            model.set(key, None);
            Ok(true)
        }
        Err(Error::NotFound { .. }) => model.observe_absent(key).map(|()| true),
        Err(e) => {
            if may_have_applied(&e) {
                model.maybe(key, None);
            }
            Ok(false)
        }
    }
}

/// Renames a certainly present key onto a certainly absent one (so a definite refusal is a
/// model violation); a plain fetch when no such pair exists.
async fn rename(client: &Client, model: &mut KeyModel, rng: &mut StdRng) -> Outcome {
    let keys = model.keys();
    let present: Vec<&String> = keys
        .iter()
        .filter(|k| matches!(model.definite(k), Some(Some(_))))
        .collect();
    let absent: Vec<&String> = keys
        .iter()
        .filter(|k| model.definite(k) == Some(None))
        .collect();
    if present.is_empty() || absent.is_empty() {
        let key = keys[rng.random_range(0..keys.len())].clone();
        return get(client, model, &key).await;
    }
    let from = present[rng.random_range(0..present.len())].clone();
    let to = absent[rng.random_range(0..absent.len())].clone();
    let Some(content) = model.definite(&from) else {
        return Ok(false);
    };
    match client.rename(from.as_str(), to.as_str()).await {
        Ok(()) => {
            model.set(&from, None);
            model.set(&to, content);
            Ok(true)
        }
        Err(e @ (Error::NotFound { .. } | Error::AlreadyExists { .. })) => Err(format!(
            "rename {from} -> {to}: {e} although {from} held {content:?} and {to} was absent"
        )),
        Err(e) => {
            if may_have_applied(&e) {
                model.maybe(&from, None);
                model.maybe(&to, content);
            }
            Ok(false)
        }
    }
}

async fn list(client: &Client, model: &mut KeyModel) -> Outcome {
    let listed: Result<Vec<_>, _> = client.keys(model.prefix.as_bytes()).try_collect().await;
    match listed {
        Ok(keys) => {
            let listed: BTreeSet<String> = keys.iter().map(ToString::to_string).collect();
            model.observe_listing(&listed).map(|()| true)
        }
        Err(_) => Ok(false),
    }
}

/// The final check, with every fault cleared and the files replicated: every key must be
/// readable (or absent, where that is admissible) and hold an admissible content, and the
/// listing must agree. Any error now is a violation of invariant 1.
pub(crate) async fn verify(client: &Client, model: &mut KeyModel) -> Vec<String> {
    let mut violations = Vec::new();
    for key in model.keys() {
        let result = match client.get_bytes(key.as_str()).await {
            Ok(data) => model.observe_bytes(&key, &data),
            Err(Error::NotFound { .. }) => model.observe_absent(&key),
            Err(e) => Err(format!("{key}: unreadable with every fault cleared: {e:?}")),
        };
        violations.extend(result.err());
    }
    match client
        .keys(model.prefix.as_bytes())
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(keys) => {
            let listed: BTreeSet<String> = keys.iter().map(ToString::to_string).collect();
            violations.extend(model.observe_listing(&listed).err());
        }
        Err(e) => violations.push(format!("listing {}: {e:?}", model.prefix)),
    }
    violations
}
