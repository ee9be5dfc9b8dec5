//! A hostile tracker against the facade: bad replies and unusable URLs are the facade's own typed
//! errors, and an upload that went nowhere is never closed.

use std::time::Duration;

use mogilefs::{Client, Error, StorageConfig, TrackerConfig};

use super::hostile_tracker::{garbage_lines, line};
use super::support::{Act, HostileTracker, assert_no_library_panics, watch_panics};

/// The facade against a tracker whose paths and destinations are unusable URLs: typed errors,
/// and no `create_close` for an upload that went nowhere.
#[tokio::test]
async fn unusable_urls_from_the_tracker_are_typed_errors_in_the_facade() {
    watch_panics();
    let bad = [
        "ftp://127.0.0.1:1/dev1/0/000/000/0000000005.fid",
        "https://127.0.0.1:1/dev1/0/000/000/0000000005.fid",
        "http:///dev1/0/000/000/0000000005.fid",
        "http://:80/dev1/x.fid",
        "/dev1/0/000/000/0000000005.fid",
        "not a url at all",
    ];
    let t = HostileTracker::start(move |req| {
        let urls = bad;
        match req.command.as_str() {
            "get_paths" => {
                let mut args = format!("paths={}", urls.len());
                for (i, u) in urls.iter().enumerate() {
                    args.push_str(&format!("&path{}={}", i + 1, u.replace(' ', "+")));
                }
                vec![req.ok(&args)]
            }
            "create_open" => {
                let mut args = format!("fid=5&dev_count={}", urls.len());
                for (i, u) in urls.iter().enumerate() {
                    args.push_str(&format!(
                        "&devid_{}={}&path_{}={}",
                        i + 1,
                        i + 1,
                        i + 1,
                        u.replace(' ', "+")
                    ));
                }
                vec![req.ok(&args)]
            }
            "file_info" => vec![req.ok("fid=5&domain=d&key=k&class=default&devcount=6&length=3")],
            "create_close" => vec![req.ok("")],
            _ => vec![],
        }
    })
    .await;
    let client = Client::builder()
        .trackers([t.addr()])
        .domain("d")
        .storage(StorageConfig {
            connect_timeout: Duration::from_secs(2),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let err = client.get_bytes("k").await.unwrap_err();
    match &err {
        Error::NoUsablePath { attempts, .. } => assert_eq!(attempts.len(), bad.len(), "{err:?}"),
        other => panic!("get: {other:?}"),
    }
    let err = client.put("k", &b"abc"[..]).await.unwrap_err();
    assert!(matches!(err, Error::NoUsablePath { .. }), "put: {err:?}");
    let closes = t
        .lines()
        .iter()
        .filter(|l| l.starts_with(b"create_close"))
        .count();
    assert_eq!(
        closes, 0,
        "create_close sent for an upload that went nowhere"
    );
    assert_no_library_panics();
}

/// The facade turns every hostile tracker reply into its own typed error, never a panic.
#[tokio::test]
async fn the_facade_maps_hostile_replies_to_typed_errors() {
    watch_panics();
    // The facade's tracker client keeps the default 1 MiB limit.
    // The facade's tracker client keeps the default 1 MiB limit.
    let mut replies: Vec<(&str, Vec<Act>, bool)> = garbage_lines()
        .into_iter()
        .map(|(name, acts)| (name, acts, true))
        .collect();
    replies[0].1 = vec![Act::Send(
        format!("OK a={}\r\n", "x".repeat(2 << 20)).into_bytes(),
    )];
    replies.push(("foreign callid", line("OK paths=0&callid=424242\r\n"), true));
    // `delete` needs no field, so only the commands that read fields fail on this one.
    replies.push(("absurd count", line("OK paths=1000000\r\n"), false));
    for (name, hostile, delete_fails) in replies {
        let t = HostileTracker::start(move |req| match req.command.as_str() {
            "noop" => vec![],
            _ => hostile.clone(),
        })
        .await;
        let client = Client::builder()
            .trackers([t.addr()])
            .domain("d")
            .tracker(TrackerConfig {
                file_timeout: Duration::from_secs(5),
                ..TrackerConfig::default()
            })
            .build()
            .unwrap();
        let mut errors = vec![
            client.get_bytes("k").await.expect_err(name),
            client.put("k", &b"abc"[..]).await.expect_err(name),
            client.file_info("k").await.expect_err(name),
        ];
        match client.delete("k").await {
            Err(e) => errors.push(e),
            Ok(()) => assert!(!delete_fails, "{name}: delete succeeded"),
        }
        for err in errors {
            assert!(matches!(err, Error::Tracker { .. }), "{name}: {err:?}");
        }
    }
    assert_no_library_panics();
}
