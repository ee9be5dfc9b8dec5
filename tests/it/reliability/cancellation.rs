//! Cancellation: every operation's future dropped at random points (tiny `timeout`s, and a
//! `select!` that gives up after a random number of scheduler turns), then the same client keeps
//! working: its pools hold no leaked checkout, and every answer still matches the model.

use std::future::Future;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use mogile_testkit::TestCluster;
use mogilefs::{
    Client, ClientConfig, Error, KeyPolicy, PoolSettings, StorageConfig, TrackerConfig,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::soak::model::{KeyModel, may_have_applied};
use super::soak::worker::verify;
use super::support::{assert_no_library_panics, content, seed, watch_panics};

/// Where an operation's future is dropped.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// After this much real time.
    Deadline(Duration),
    /// After this many turns of the scheduler.
    Polls(u32),
    /// Never: the operation completes.
    Never,
}

impl Cut {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.random_range(0..10) {
            0..4 => Self::Deadline(Duration::from_micros(rng.random_range(0..8000))),
            4..8 => Self::Polls(rng.random_range(0..40)),
            _ => Self::Never,
        }
    }

    /// Runs `fut` until it completes (`Some`) or the cut drops it (`None`).
    async fn run<F: Future>(self, fut: F) -> Option<F::Output> {
        match self {
            Self::Deadline(d) => tokio::time::timeout(d, fut).await.ok(),
            Self::Polls(k) => {
                let stop = async {
                    for _ in 0..k {
                        tokio::task::yield_now().await;
                    }
                };
                tokio::select! {
                    biased;
                    out = fut => Some(out),
                    () = stop => None,
                }
            }
            Self::Never => Some(fut.await),
        }
    }
}

/// Retires `key` (see the test) and puts a fresh key in its place among the active ones.
fn retire(model: &mut KeyModel, keys: &mut [String], key: &str, tag: u64) {
    model.retire(key);
    let fresh = format!("cancel/r{tag}");
    model.add_key(&fresh);
    if let Some(i) = keys.iter().position(|k| k == key) {
        keys[i] = fresh;
    }
}

/// No checkout leaked by a dropped future, no waiter left behind, no pool over its size.
fn assert_pools_consistent(client: &Client, context: &str) {
    for ep in client.tracker().status().endpoints {
        assert!(
            ep.in_use == 0 && ep.waiters == 0 && ep.open <= ep.max_size,
            "{context}: {ep:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_dropped_at_random_points_leave_the_client_consistent() {
    watch_panics();
    let (seed, _guard) = seed("cancellation");
    let mut rng = StdRng::seed_from_u64(seed);
    let cluster = TestCluster::builder()
        .trackers(2)
        .storage_nodes(3)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .config(ClientConfig {
            key_policy: KeyPolicy::Strict,
            ..ClientConfig::default()
        })
        .tracker(TrackerConfig {
            file_timeout: Duration::from_secs(5),
            pool: PoolSettings {
                max_size: 4,
                ..PoolSettings::default()
            },
            ..TrackerConfig::default()
        })
        .storage(StorageConfig {
            idle_timeout: Duration::from_secs(5),
            headers_timeout: Duration::from_secs(5),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    // A mutation dropped after its line may have left can still run on the tracker later, even
    // after requests sent after it (the tracker reads it when it gets to it): its keys are
    // retired from the active set, and fresh keys take their place.
    let mut keys: Vec<String> = (0..6).map(|i| format!("cancel/k{i}")).collect();
    let mut model = KeyModel::new("cancel/".into(), &keys);

    let (mut dropped, mut completed) = (0u32, 0u32);
    for step in 0..240u64 {
        let key = keys[rng.random_range(0..keys.len())].clone();
        let cut = Cut::draw(&mut rng);
        let finished = match rng.random_range(0..7) {
            0 | 1 => {
                let len = rng.random_range(0..200_000);
                let data = content(&key, step, len);
                model.remember(step, data.clone());
                let out = cut.run(client.put(key.as_str(), data)).await;
                match &out {
                    Some(Ok(_)) => model.set(&key, Some(step)),
                    // In doubt: old or new, whole (invariant 2).
                    Some(Err(Error::OutcomeUnknown { .. })) => model.maybe(&key, Some(step)),
                    None => {
                        model.maybe(&key, Some(step));
                        retire(&mut model, &mut keys, &key, step);
                    }
                    Some(Err(e)) => panic!("put {key}: {e:?}"),
                }
                out.is_some()
            }
            2 => {
                let out = cut.run(client.get_bytes(key.as_str())).await;
                match &out {
                    Some(Ok(data)) => model.observe_bytes(&key, data).unwrap(),
                    Some(Err(Error::NotFound { .. })) => model.observe_absent(&key).unwrap(),
                    Some(Err(e)) => panic!("get {key}: {e:?}"),
                    None => {}
                }
                out.is_some()
            }
            3 => {
                // A stream dropped after its first chunk, mid-body.
                let out = cut
                    .run(async {
                        match client.get(key.as_str()).await {
                            Ok(mut s) => s.next().await.map(|c| c.map(|b| b.len())),
                            Err(e) => Some(Err(e)),
                        }
                    })
                    .await;
                if let Some(Some(Err(e))) = &out {
                    assert!(e.is_not_found(), "partial read {key}: {e:?}");
                }
                out.is_some()
            }
            4 => {
                let out = cut.run(client.delete(key.as_str())).await;
                match &out {
                    Some(Ok(())) => model.set(&key, None),
                    Some(Err(Error::NotFound { .. })) => model.observe_absent(&key).unwrap(),
                    Some(Err(e)) if may_have_applied(e) => model.maybe(&key, None),
                    Some(Err(e)) => panic!("delete {key}: {e:?}"),
                    None => {
                        model.maybe(&key, None);
                        retire(&mut model, &mut keys, &key, step);
                    }
                }
                out.is_some()
            }
            5 => {
                let to = keys[rng.random_range(0..keys.len())].clone();
                let (Some(Some(id)), Some(None)) = (model.definite(&key), model.definite(&to))
                else {
                    continue;
                };
                let out = cut.run(client.rename(key.as_str(), to.as_str())).await;
                match &out {
                    Some(Ok(())) => {
                        model.set(&key, None);
                        model.set(&to, Some(id));
                    }
                    Some(Err(e)) if !may_have_applied(e) => panic!("rename {key}: {e:?}"),
                    _ => {
                        model.maybe(&key, None);
                        model.maybe(&to, Some(id));
                        if out.is_none() {
                            retire(&mut model, &mut keys, &key, step);
                            retire(&mut model, &mut keys, &to, step + 1_000_000);
                        }
                    }
                }
                out.is_some()
            }
            _ => {
                let out = cut
                    .run(client.keys("cancel/").try_collect::<Vec<_>>())
                    .await;
                if let Some(listed) = &out {
                    let listed = listed.as_ref().unwrap().iter().map(ToString::to_string);
                    model.observe_listing(&listed.collect()).unwrap();
                }
                out.is_some()
            }
        };
        if finished {
            completed += 1;
        } else {
            dropped += 1;
        }
        assert_pools_consistent(&client, &format!("step {step} ({cut:?})"));
    }
    eprintln!("cancellation: {dropped} operations dropped, {completed} completed");
    assert!(
        dropped > 20,
        "too few cancellations to mean anything: {dropped}"
    );
    // Nothing was damaged: every key reads back as an admissible content, and listings agree.
    let violations = verify(&client, &mut model).await;
    assert!(violations.is_empty(), "{violations:#?}");
    assert_pools_consistent(&client, "after the checks");
    cluster.shutdown().await;
    assert_no_library_panics();
}
