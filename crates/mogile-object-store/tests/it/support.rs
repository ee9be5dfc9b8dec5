//! Starting a store on an embedded cluster, or on an external one when `MOGILE_TEST_TRACKERS` and
//! `MOGILE_TEST_DOMAIN` are set.

use std::sync::Arc;

use mogile_object_store::MogileStore;
use mogile_testkit::TestCluster;
use object_store::ObjectStore;
use object_store::prefix::PrefixStore;

/// A store on its own embedded cluster (one tracker, one node), which lives as long as it.
pub(crate) struct Embedded {
    pub(crate) cluster: TestCluster,
    pub(crate) store: MogileStore,
}

impl Embedded {
    pub(crate) async fn start() -> Self {
        Self::start_with(1).await
    }

    /// With `nodes` storage nodes of one device each.
    pub(crate) async fn start_with(nodes: usize) -> Self {
        let cluster = TestCluster::builder()
            .trackers(1)
            .storage_nodes(nodes)
            .devices_per_node(1)
            .mindevcount(1)
            .start()
            .await
            .unwrap();
        let url = format!(
            "mogilefs://{}?trackers={}",
            cluster.domain(),
            cluster.tracker_addrs().join(",")
        );
        let store = MogileStore::builder().with_url(url).build().unwrap();
        Self { cluster, store }
    }

    pub(crate) async fn shutdown(self) {
        self.store.client().close().await;
        self.cluster.shutdown().await;
    }
}

/// Where the conformance suite runs: an external cluster (each run under its own prefix, so
/// that it never touches other keys) or an embedded one.
pub(crate) enum Target {
    External(Arc<dyn ObjectStore>),
    Embedded(Embedded),
}

impl Target {
    pub(crate) async fn start() -> Self {
        let (Ok(trackers), Ok(domain)) = (
            std::env::var("MOGILE_TEST_TRACKERS"),
            std::env::var("MOGILE_TEST_DOMAIN"),
        ) else {
            return Self::Embedded(Embedded::start().await);
        };
        let url = format!("mogilefs://{domain}?trackers={trackers}");
        let store = MogileStore::builder().with_url(url).build().unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let prefix = format!("mogile-object-store-test/{nanos}-{}", std::process::id());
        Self::External(Arc::new(PrefixStore::new(store, prefix.as_str())))
    }

    pub(crate) fn store(&self) -> Arc<dyn ObjectStore> {
        match self {
            Self::External(s) => Arc::clone(s),
            Self::Embedded(e) => Arc::new(e.store.clone()),
        }
    }

    /// The bare store, for suites that need more than `dyn ObjectStore` (embedded only).
    pub(crate) fn embedded(&self) -> Option<&MogileStore> {
        match self {
            Self::External(_) => None,
            Self::Embedded(e) => Some(&e.store),
        }
    }

    pub(crate) async fn shutdown(self) {
        if let Self::Embedded(e) = self {
            e.shutdown().await;
        }
    }
}
