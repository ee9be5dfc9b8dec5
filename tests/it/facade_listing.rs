//! `keys()` and `list_keys`: paging over thousands of keys, the real tracker's case-insensitive
//! and regex-checked prefixes, empty listings.

use futures::{StreamExt, TryStreamExt};
use mogile_tests::Harness;
use mogilefs::{ListOptions, TrackerConfig};

async fn keys(client: &mogilefs::Client, prefix: &str) -> Vec<String> {
    client
        .keys(prefix)
        .map_ok(|k| k.to_string())
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_pages_through_2500_keys() {
    let h = Harness::start(1).await;
    let client = h.client();
    let mut expected: Vec<String> = (0..2500).map(|i| format!("many/{i:05}")).collect();
    futures::stream::iter(expected.clone())
        .map(|k| {
            let client = client.clone();
            async move { client.put(k, bytes::Bytes::new()).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    client.put("other", bytes::Bytes::new()).await.unwrap();
    expected.sort();
    let got = keys(&client, "many/").await;
    assert_eq!(got, expected);
    // Three full pages of 1000 at most, and the final empty page.
    assert!(h.tracker().requests("list_keys") >= 3);

    let page = client
        .list_keys(&ListOptions::new().prefix("many/").limit(10))
        .await
        .unwrap();
    assert_eq!(page.keys.len(), 10);
    assert_eq!(page.next_after.unwrap().to_string(), "many/00009");
    let page = client
        .list_keys(&ListOptions::new().prefix("many/").limit(5000))
        .await
        .unwrap();
    assert_eq!(page.keys.len(), 1000, "limit clamped to 1000");
}

#[tokio::test]
async fn prefix_cases_of_the_real_tracker() {
    let h = Harness::start(1).await;
    let client = h.client();
    for k in [
        "lk/a", "lk/b", "lk/c", "lk/d", "lk/e", "LK/upper", "lk_x", "lk%y", "lk(a", "lk(b", "lkz",
    ] {
        client.put(k, bytes::Bytes::new()).await.unwrap();
    }
    // The tracker matches case-insensitively (LK/upper for lk/): filtered out.
    assert_eq!(
        keys(&client, "lk/").await,
        ["lk/a", "lk/b", "lk/c", "lk/d", "lk/e"]
    );
    assert_eq!(keys(&client, "LK/").await, ["LK/upper"]);
    // LIKE wildcards are literal.
    assert_eq!(keys(&client, "lk_").await, ["lk_x"]);
    assert_eq!(keys(&client, "lk%").await, ["lk%y"]);
    // A regex metacharacter in the prefix never reaches the tracker with `after`.
    assert_eq!(keys(&client, "lk(").await, ["lk(a", "lk(b"]);

    // Pages of 2, so `after` is sent with every prefix.
    for (prefix, expected) in [
        ("lk/", vec!["lk/a", "lk/b", "lk/c", "lk/d", "lk/e"]),
        ("lk(", vec!["lk(a", "lk(b"]),
        (
            "lk",
            vec![
                "lk%y", "lk(a", "lk(b", "lk/a", "lk/b", "lk/c", "lk/d", "lk/e", "lk_x", "lkz",
            ],
        ),
    ] {
        let mut got = Vec::new();
        let mut pager = client.keys_opts(&ListOptions::new().prefix(prefix).limit(2));
        while let Some(k) = pager.next().await {
            got.push(k.unwrap().to_string());
        }
        assert_eq!(got, expected, "{prefix}");
    }
}

#[tokio::test]
async fn empty_listing() {
    let h = Harness::start(1).await;
    let client = h.client();
    assert!(keys(&client, "").await.is_empty());
    assert!(keys(&client, "nothing/").await.is_empty());
    let page = client
        .list_keys(&ListOptions::new().prefix("nothing/"))
        .await
        .unwrap();
    assert!(page.keys.is_empty());
    assert!(page.next_after.is_none());
}

#[tokio::test]
async fn list_fids() {
    let h = Harness::start(1).await;
    let client = h.client();
    client.put("a", &b"1"[..]).await.unwrap();
    client.put("b", &b"22"[..]).await.unwrap();
    let rows = client.list_fids(mogilefs::Fid(0), 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].length, 2);
}

#[tokio::test]
async fn a_reply_line_too_long_is_asked_again_with_a_smaller_page() {
    use mogile_testkit::tracker::{Fault, FaultAction};
    let h = Harness::start(1).await;
    // One attempt per request, so the tracker client does not repeat the page itself.
    let client = h
        .builder()
        .tracker(TrackerConfig {
            retry_budget: Some(1),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();
    client.put("a", bytes::Bytes::new()).await.unwrap();
    // Longer than the tracker client's default reply limit (1 MiB).
    h.tracker().inject(
        Fault::new(FaultAction::LongLine(2 << 20))
            .command("list_keys")
            .times(1),
    );
    let page = client.list_keys(&ListOptions::new()).await.unwrap();
    assert_eq!(page.keys.len(), 1);
    let limits: Vec<String> = h
        .tracker()
        .wire_log()
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .filter(|l| l.starts_with("list_keys "))
        .collect();
    assert_eq!(limits.len(), 2, "{limits:?}");
    assert!(
        limits[0].contains("limit=1000") && limits[1].contains("limit=500"),
        "{limits:?}"
    );
}
