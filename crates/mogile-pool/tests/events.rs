//! `tracing` events: connect, discard, expire, mark inactive and mark active, each naming
//! the endpoint.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mogile_pool::{Connector, Endpoint, Pool, PoolSettings, Pooled};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One captured event: its message and its `endpoint` and `reason` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Captured {
    message: String,
    endpoint: String,
    reason: String,
}

#[derive(Default)]
struct Fields(Captured);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "reason" => self.0.reason = value.to_owned(),
            "endpoint" => self.0.endpoint = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.0.message = text,
            "endpoint" => self.0.endpoint = text,
            "reason" => self.0.reason = text,
            _ => {}
        }
    }
}

/// A subscriber that records every event and ignores spans.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Captured>>>);

impl Recorder {
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}

impl std::error::Error for Refused {}

/// Connects unless `down`.
#[derive(Default)]
struct Toy {
    down: AtomicBool,
}

impl Connector for Toy {
    type Connection = ();
    type Error = Refused;

    async fn connect(&self, _: &Endpoint) -> Result<(), Refused> {
        if self.down.load(Ordering::SeqCst) {
            Err(Refused)
        } else {
            Ok(())
        }
    }

    fn is_open(&self, _: &()) -> bool {
        true
    }

    async fn probe(&self, _: &mut ()) -> Result<(), Refused> {
        Ok(())
    }
}

const A: &str = "127.0.0.1:7001";
const B: &str = "127.0.0.1:7002";

#[tokio::test(start_paused = true)]
async fn lifecycle_events_name_the_endpoint() {
    let recorder = Recorder::default();
    // The test's runtime is current-thread, so its tasks log to this thread's subscriber.
    let _guard = tracing::subscriber::set_default(recorder.clone());

    let toy = Arc::new(Toy::default());
    let pool = Pool::builder(Arc::clone(&toy), [A, B])
        .settings(PoolSettings {
            idle_timeout: Duration::from_secs(10),
            reap_interval: Duration::from_secs(1),
            probe_interval: Duration::from_secs(30),
            ..PoolSettings::default()
        })
        .build()
        .unwrap();
    let a = Endpoint::from(A);
    let b = Endpoint::from(B);

    let conn = pool.get(&a).await.unwrap();
    let connect = recorder.take();
    assert_eq!(
        connect,
        vec![Captured {
            message: "connect".into(),
            endpoint: A.into(),
            reason: String::new()
        }]
    );

    drop(conn);
    let discard = recorder.take();
    assert_eq!(discard.len(), 1);
    assert_eq!(
        (discard[0].message.as_str(), discard[0].endpoint.as_str()),
        ("discard", A)
    );
    assert_eq!(discard[0].reason, "dropped without release");

    Pooled::release(pool.get(&a).await.unwrap());
    recorder.take();
    tokio::time::sleep(Duration::from_secs_f64(10.5)).await;
    let expire = recorder.take();
    assert_eq!(expire.len(), 1);
    assert_eq!(
        (expire[0].message.as_str(), expire[0].reason.as_str()),
        ("expire", "idle_timeout")
    );

    toy.down.store(true, Ordering::SeqCst);
    assert!(pool.get(&b).await.is_err());
    let events = recorder.take();
    let inactive = events
        .iter()
        .find(|e| e.message == "mark inactive")
        .unwrap();
    assert_eq!(
        (inactive.endpoint.as_str(), inactive.reason.as_str()),
        (B, "connect failed")
    );

    toy.down.store(false, Ordering::SeqCst);
    // The prober runs at 30 s.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events = recorder.take();
    let active: Vec<_> = events
        .iter()
        .filter(|e| e.message == "mark active")
        .collect();
    assert_eq!(active.len(), 1, "only B was inactive: {events:?}");
    assert_eq!(active[0].endpoint, B);
}
