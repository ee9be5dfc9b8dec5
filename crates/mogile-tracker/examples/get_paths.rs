//! Lists a domain's keys and asks where one lives, against a fake tracker started in-process
//! (pass real tracker addresses as arguments to use those instead).
//!
//! ```text
//! cargo run -p mogile-tracker --example get_paths
//! cargo run -p mogile-tracker --example get_paths -- tracker1:7001 tracker2
//! ```

use std::sync::Arc;

use mogile_protocol::{ErrorCode, GetDomains, GetPaths, ListKeys};
use mogile_testkit::tracker::{FakeTracker, Model};
use mogile_tracker::TrackerClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut trackers: Vec<String> = std::env::args().skip(1).collect();
    // Kept alive until the end of main when used.
    let mut _fake = None;
    if trackers.is_empty() {
        let model = Arc::new(Model::new());
        model.create_domain("media")?;
        let fake = FakeTracker::start(model).await?;
        trackers.push(fake.addr().to_string());
        _fake = Some(fake);
    }

    let client = TrackerClient::builder().trackers(trackers).build()?;

    for domain in client.admin().get_domains(GetDomains::new()).await? {
        let page = client
            .list_keys(ListKeys::new(domain.name.as_str()))
            .await?;
        println!(
            "domain {}: {} key(s) on the first page",
            domain.name,
            page.keys.len()
        );
    }
    match client.get_paths(GetPaths::new("media", "cats/1.jpg")).await {
        Ok(paths) => println!("cats/1.jpg: {paths:?}"),
        Err(e) if e.code() == Some(&ErrorCode::UnknownKey) => println!("cats/1.jpg: no such key"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
