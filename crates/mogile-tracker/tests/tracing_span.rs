//! Every request runs in a `tracker_request` span with command, tracker, attempt, callid and
//! outcome.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mogile_protocol::{ErrorCode, GetPaths, Noop};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Records the fields of every `tracker_request` span, in creation order.
#[derive(Clone, Default)]
struct Spans {
    next: Arc<AtomicU64>,
    spans: Arc<Mutex<Vec<(u64, Fields)>>>,
}

impl Spans {
    fn all(&self) -> Vec<Fields> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .map(|(_, f)| f.clone())
            .collect()
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if attrs.metadata().name() == "tracker_request" {
            let mut fields = Fields::new();
            attrs.record(&mut Visitor(&mut fields));
            self.spans.lock().unwrap().push((id, fields));
        }
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some((_, fields)) = spans.iter_mut().find(|(id, _)| *id == span.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

#[tokio::test(start_paused = true)]
async fn each_request_has_a_span_with_command_tracker_attempt_and_outcome() {
    let spans = Spans::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    let client = common::builder(&[&ts[0]]).build().unwrap();
    client.noop(Noop::new()).await.unwrap();
    let err = client
        .get_paths(GetPaths::new("testdom", "missing"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnknownKey));
    ts[1].kill();
    let down = common::builder(&[&ts[1]]).build().unwrap();
    down.noop(Noop::new()).await.unwrap_err();

    let all = spans.all();
    assert_eq!(all.len(), 3, "{all:#?}");
    let up = ts[0].addr().to_string();
    let dead = ts[1].addr().to_string();
    let expect = [
        ("noop", up.as_str(), "1", "1", "ok"),
        ("get_paths", up.as_str(), "1", "2", "tracker_error"),
        ("noop", dead.as_str(), "2", "", "failed"),
    ];
    for (fields, (command, tracker, attempt, callid, outcome)) in all.iter().zip(expect) {
        assert_eq!(field(fields, "command"), command, "{fields:?}");
        assert_eq!(field(fields, "tracker"), tracker, "{fields:?}");
        assert_eq!(field(fields, "attempt"), attempt, "{fields:?}");
        assert_eq!(field(fields, "outcome"), outcome, "{fields:?}");
        if !callid.is_empty() {
            assert_eq!(field(fields, "callid"), callid, "{fields:?}");
        }
    }
}
