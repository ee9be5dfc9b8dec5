//! A `tracing` subscriber that records every span and event, for tests that check what a client
//! reports: names, levels, fields and which span an event or span happened in.
//!
//! ```
//! use mogile_testkit::trace::Recorder;
//!
//! let recorder = Recorder::default();
//! {
//!     let _guard = tracing::subscriber::set_default(recorder.clone());
//!     let span = tracing::info_span!("put", key = "a", fid = tracing::field::Empty);
//!     let _in = span.enter();
//!     span.record("fid", 7);
//!     tracing::warn!(url = "http://h/x", "destination failed");
//! }
//! let put = &recorder.spans_named("put")[0];
//! assert_eq!(put.field("fid"), Some("7"));
//! let event = &recorder.events_with("destination failed")[0];
//! assert_eq!(event.field("url"), Some("http://h/x"));
//! assert_eq!(event.span, Some(put.id));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A recorded span: its fields as created and as later recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRecord {
    /// The recorder's id of the span (see [`EventRecord::span`]).
    pub id: u64,
    /// The span's name (`put`, `storage_transfer`, ...).
    pub name: &'static str,
    /// Its level.
    pub level: Level,
    /// The module path it was created in.
    pub target: String,
    /// The span it was created in, if any.
    pub parent: Option<u64>,
    /// Each field's last value (`Display` and `Debug` values as formatted, strings as they are).
    pub fields: BTreeMap<String, String>,
    /// Every value recorded, in order, for fields recorded more than once.
    pub history: Vec<(String, String)>,
}

impl SpanRecord {
    /// A field's last value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every value a field was given, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.history
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Its level.
    pub level: Level,
    /// The module path it was emitted from.
    pub target: String,
    /// The `message` field.
    pub message: String,
    /// The other fields.
    pub fields: BTreeMap<String, String>,
    /// The span it happened in, if any.
    pub span: Option<u64>,
}

impl EventRecord {
    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct State {
    spans: Vec<SpanRecord>,
    events: Vec<EventRecord>,
    /// The spans each thread is in, innermost last.
    stacks: HashMap<ThreadId, Vec<u64>>,
}

/// Records every span and event of every level; clones share the record. Install it with
/// `tracing::subscriber::set_default` (on a current-thread runtime, every task of the test then
/// reports to it).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every span so far, in creation order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.lock().spans.clone()
    }

    /// The spans named `name`, in creation order.
    pub fn spans_named(&self, name: &str) -> Vec<SpanRecord> {
        self.lock()
            .spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// The span with the recorder's id `id`.
    pub fn span(&self, id: u64) -> Option<SpanRecord> {
        self.lock().spans.iter().find(|s| s.id == id).cloned()
    }

    /// Whether span `id` is `ancestor` or was created (directly or not) inside it.
    pub fn is_within(&self, id: u64, ancestor: u64) -> bool {
        let state = self.lock();
        let mut current = Some(id);
        while let Some(c) = current {
            if c == ancestor {
                return true;
            }
            current = state
                .spans
                .iter()
                .find(|s| s.id == c)
                .and_then(|s| s.parent);
        }
        false
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<EventRecord> {
        self.lock().events.clone()
    }

    /// The events whose message is `message`.
    pub fn events_with(&self, message: &str) -> Vec<EventRecord> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.message == message)
            .cloned()
            .collect()
    }

    fn current(state: &State) -> Option<u64> {
        state
            .stacks
            .get(&std::thread::current().id())
            .and_then(|s| s.last().copied())
    }
}

struct Visitor<'a> {
    fields: &'a mut BTreeMap<String, String>,
    history: Option<&'a mut Vec<(String, String)>>,
    message: Option<&'a mut String>,
}

impl Visitor<'_> {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            if let Some(m) = self.message.as_deref_mut() {
                *m = value;
                return;
            }
        }
        if let Some(h) = self.history.as_deref_mut() {
            h.push((field.name().to_owned(), value.clone()));
        }
        self.fields.insert(field.name().to_owned(), value);
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut state = self.lock();
        let id = state.spans.len() as u64 + 1;
        let parent = if attrs.is_root() {
            None
        } else if let Some(p) = attrs.parent() {
            Some(p.into_u64())
        } else {
            Self::current(&state)
        };
        let meta = attrs.metadata();
        let mut record = SpanRecord {
            id,
            name: meta.name(),
            level: *meta.level(),
            target: meta.target().to_owned(),
            parent,
            fields: BTreeMap::new(),
            history: Vec::new(),
        };
        attrs.record(&mut Visitor {
            fields: &mut record.fields,
            history: Some(&mut record.history),
            message: None,
        });
        state.spans.push(record);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.lock();
        if let Some(s) = state.spans.iter_mut().find(|s| s.id == span.into_u64()) {
            values.record(&mut Visitor {
                fields: &mut s.fields,
                history: Some(&mut s.history),
                message: None,
            });
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut state = self.lock();
        let span = if event.is_root() {
            None
        } else if let Some(p) = event.parent() {
            Some(p.into_u64())
        } else {
            Self::current(&state)
        };
        let meta = event.metadata();
        let mut record = EventRecord {
            level: *meta.level(),
            target: meta.target().to_owned(),
            message: String::new(),
            fields: BTreeMap::new(),
            span,
        };
        event.record(&mut Visitor {
            fields: &mut record.fields,
            history: None,
            message: Some(&mut record.message),
        });
        state.events.push(record);
    }

    fn enter(&self, span: &Id) {
        let mut state = self.lock();
        let thread = std::thread::current().id();
        state
            .stacks
            .entry(thread)
            .or_default()
            .push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.lock();
        let thread = std::thread::current().id();
        if let Some(stack) = state.stacks.get_mut(&thread) {
            if let Some(i) = stack.iter().rposition(|&s| s == span.into_u64()) {
                stack.remove(i);
            }
        }
    }
}
