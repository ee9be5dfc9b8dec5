//! Reads a file through `Arc<dyn ObjectStore>` with object_store's `BufReader`, and lists a prefix.
//!
//! With `MOGILE_TRACKERS` and `MOGILE_DOMAIN` set (and optionally `MOGILE_CLASS`) it works on that
//! cluster, under `mogile-object-store-example/`; otherwise it starts an embedded test cluster on
//! 127.0.0.1.
//!
//! ```text
//! cargo run -p mogile-object-store --example read_and_list
//! ```

use std::sync::Arc;

use futures::TryStreamExt;
use mogile_object_store::MogileStoreBuilder;
use object_store::buffered::BufReader;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncBufReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cluster = None;
    let builder = if std::env::var_os("MOGILE_TRACKERS").is_some() {
        MogileStoreBuilder::from_env()
    } else {
        let c = mogile_testkit::TestCluster::start().await?;
        let url = format!(
            "mogilefs://{}?trackers={}",
            c.domain(),
            c.tracker_addrs().join(",")
        );
        cluster = Some(c);
        MogileStoreBuilder::new().with_url(url)
    };
    let store: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
    println!("store: {store}");

    let dir = Path::from("mogile-object-store-example");
    let csv = dir.clone().join("cities.csv");
    let body = "city,country\nLisbon,PT\nOsaka,JP\nQuito,EC\n";
    store.put(&csv, body.into()).await?;
    store
        .put(&dir.clone().join("notes.txt"), "hello".into())
        .await?;

    // Read it line by line through the buffered reader, as Arrow's CSV and JSON readers do.
    let meta = store.head(&csv).await?;
    println!(
        "{}: {} bytes, e_tag {:?}",
        meta.location, meta.size, meta.e_tag
    );
    let mut lines = BufReader::new(Arc::clone(&store), &meta).lines();
    while let Some(line) = lines.next_line().await? {
        println!("  | {line}");
    }

    // List the prefix.
    let mut listed: Vec<_> = store.list(Some(&dir)).try_collect().await?;
    listed.sort_by(|a, b| a.location.cmp(&b.location));
    for m in &listed {
        println!("listed {} ({} bytes)", m.location, m.size);
    }

    for m in listed {
        store.delete(&m.location).await?;
    }
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    Ok(())
}
