//! What the facade reports through `tracing` (docs/architecture.md, "Observing a client"): the
//! `put`, `get`, `keys` and `list_page` spans with their fields, the storage transfers inside them,
//! and a `WARN` event for each failover decision.

use http::Method;
use mogile_testkit::storage::{Fault, FaultRule};
use mogile_testkit::trace::{EventRecord, Recorder, SpanRecord};
use mogile_tests::{Harness, PLAIN_CLASS, pattern};
use mogilefs::{ListOptions, PutOptions};
use tracing::Level;

fn only(spans: Vec<SpanRecord>) -> SpanRecord {
    assert_eq!(spans.len(), 1, "{spans:#?}");
    spans.into_iter().next().unwrap()
}

fn one_event(recorder: &Recorder, message: &str) -> EventRecord {
    let events = recorder.events_with(message);
    assert_eq!(events.len(), 1, "{message}: {:#?}", recorder.events());
    events.into_iter().next().unwrap()
}

/// The storage transfers made inside span `within`, as `(method, status)`.
fn transfers_within(recorder: &Recorder, within: u64) -> Vec<(String, String)> {
    recorder
        .spans_named("storage_transfer")
        .into_iter()
        .filter(|s| recorder.is_within(s.id, within))
        .map(|s| {
            let f = |n| s.field(n).unwrap_or_default().to_owned();
            (f("method"), f("status"))
        })
        .collect()
}

#[tokio::test]
async fn put_span_and_destination_failover_event() {
    let h = Harness::start(2).await;
    h.fault(1, Method::PUT, Fault::Status(500));
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let opts = PutOptions::new().class(PLAIN_CLASS);
    let r = h
        .client()
        .put_opts("tr/put", pattern(1000), &opts)
        .await
        .unwrap();
    assert_eq!(r.devid.0, 2);

    let put = only(recorder.spans_named("put"));
    assert_eq!(put.level, Level::INFO);
    assert_eq!(put.field("key"), Some("tr/put"));
    assert_eq!(put.field("class"), Some(PLAIN_CLASS));
    assert_eq!(put.field("size"), Some("1000"));
    assert_eq!(put.field("fid"), Some(r.fid.0.to_string().as_str()));
    assert_eq!(put.field("attempt"), Some("1"));
    // Each destination tried, in order: the span ends on the one that took the file.
    assert_eq!(put.values("devid"), ["1", "2"]);
    let host2 = h.node(2).addr().to_string();
    assert_eq!(put.field("host"), Some(host2.as_str()));

    let failover = one_event(&recorder, "destination failed; trying the next");
    assert_eq!(failover.level, Level::WARN);
    assert_eq!(failover.span, Some(put.id));
    assert_eq!(failover.field("devid"), Some("1"));
    let host1 = h.node(1).addr().to_string();
    assert!(
        failover.field("url").unwrap().contains(&host1),
        "{failover:?}"
    );
    assert!(
        failover.field("next").unwrap().contains(&host2),
        "{failover:?}"
    );
    assert!(
        failover.field("error").unwrap().contains("500"),
        "{failover:?}"
    );

    let puts = transfers_within(&recorder, put.id);
    assert_eq!(
        puts,
        [("PUT".into(), "500".into()), ("PUT".into(), "200".into())]
    );
    // The tracker requests of the store are inside its span too.
    let inside = recorder
        .spans_named("tracker_request")
        .into_iter()
        .filter(|s| recorder.is_within(s.id, put.id))
        .map(|s| s.field("command").unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(inside, ["create_open", "create_close"]);
}

#[tokio::test]
async fn a_restarted_upload_is_a_warning_with_the_new_attempt() {
    let h = Harness::start(1).await;
    h.node(1).inject(
        FaultRule::new(Fault::Status(503))
            .method(Method::PUT)
            .times(1),
    );
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let r = h.client().put("tr/restart", pattern(10)).await.unwrap();
    assert_eq!(r.attempts, 2);

    let put = only(recorder.spans_named("put"));
    assert_eq!(put.values("attempt"), ["1", "2"]);
    assert_eq!(put.field("fid"), Some(r.fid.0.to_string().as_str()));
    // The only destination failed: nothing to fail over to within the attempt.
    assert!(
        recorder
            .events_with("destination failed; trying the next")
            .is_empty()
    );
    let restart = one_event(&recorder, "every destination failed; restarting the upload");
    assert_eq!(restart.level, Level::WARN);
    assert_eq!(restart.field("key"), Some("tr/restart"));
    assert_eq!(restart.field("attempt"), Some("2"));
    assert_eq!(restart.span, Some(put.id));
}

#[tokio::test]
async fn get_span_records_the_replicas_and_the_resume() {
    let h = Harness::start(3).await;
    let data = pattern(1 << 20);
    let opts = PutOptions::new().class(PLAIN_CLASS);
    let stored = h
        .client()
        .put_opts("tr/get", data.clone(), &opts)
        .await
        .unwrap();
    h.replicate().await;
    h.fault(
        1,
        Method::GET,
        Fault::ResetAfter {
            body_bytes: 1 << 19,
        },
    );
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let got = h.client().get_bytes("tr/get").await.unwrap();
    assert!(got == data);

    let get = only(recorder.spans_named("get"));
    assert_eq!(get.level, Level::INFO);
    assert_eq!(get.field("key"), Some("tr/get"));
    assert_eq!(get.field("fid"), Some(stored.fid.0.to_string().as_str()));
    assert_eq!(get.field("length"), Some((1u64 << 20).to_string().as_str()));
    let replicas = get.values("replica");
    assert_eq!(replicas.len(), 2, "{get:?}");
    assert!(replicas[0].contains(&h.node(1).addr().to_string()));
    assert!(replicas[1].contains(&h.node(2).addr().to_string()));
    let resume: u64 = get.field("resume").unwrap().parse().unwrap();
    assert!(resume > 0 && resume <= 1 << 19, "{get:?}");

    let event = one_event(&recorder, "replica failed; resuming on the next");
    assert_eq!(event.level, Level::WARN);
    assert_eq!(event.span, Some(get.id));
    assert_eq!(event.field("failed"), Some(replicas[0]));
    assert_eq!(event.field("next"), Some(replicas[1]));
    assert_eq!(event.field("offset"), Some(resume.to_string().as_str()));
    assert!(event.field("error").is_some());

    // Both GETs are transfers of the get; the first one ended with the reset.
    let gets = transfers_within(&recorder, get.id);
    assert_eq!(
        gets,
        [("GET".into(), "200".into()), ("GET".into(), "206".into())]
    );
    let first = &recorder.spans_named("storage_transfer")[0];
    assert!(first.field("error").is_some(), "{first:?}");
    assert_eq!(first.field("bytes"), Some(resume.to_string().as_str()));
}

#[tokio::test]
async fn keys_and_list_pages_have_spans() {
    let h = Harness::start(1).await;
    let client = h.client();
    for i in 0..5 {
        client.put(format!("tr/l{i}"), pattern(1)).await.unwrap();
    }
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let opts = ListOptions::new().prefix("tr/").limit(2);
    let keys: Vec<_> = futures::TryStreamExt::try_collect(client.keys_opts(&opts))
        .await
        .unwrap();
    assert_eq!(keys.len(), 5);

    let listing = only(recorder.spans_named("keys"));
    assert_eq!(listing.level, Level::INFO);
    assert_eq!(listing.field("prefix"), Some("tr/"));
    let pages = recorder.spans_named("list_page");
    // 2 + 2 + 1 keys, then the empty page that ends the listing.
    let counts: Vec<_> = pages.iter().map(|p| p.field("keys").unwrap()).collect();
    assert_eq!(counts, ["2", "2", "1", "0"], "{pages:#?}");
    for p in &pages {
        assert_eq!(p.parent, Some(listing.id));
        assert_eq!(p.field("prefix"), Some("tr/"));
        assert_eq!(p.field("limit"), Some("2"));
    }
    assert_eq!(pages[0].field("after"), None);
    assert_eq!(pages[0].field("next_after"), Some("tr/l1"));
    assert_eq!(pages[1].field("after"), Some("tr/l1"));

    // One page asked for directly is a `list_page` span of its own.
    let page = client
        .list_keys(&ListOptions::new().prefix("tr/").limit(3))
        .await
        .unwrap();
    assert_eq!(page.keys.len(), 3);
    let last = recorder.spans_named("list_page").pop().unwrap();
    assert_eq!(last.parent, None);
    assert_eq!(last.field("keys"), Some("3"));
    assert_eq!(last.field("next_after"), Some("tr/l2"));
}

#[tokio::test]
async fn wire_text_in_fields_is_escaped() {
    let h = Harness::start(1).await;
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let key = "tr/\u{1b}[2J\r\nforged";
    h.client().put(key, pattern(3)).await.unwrap();
    let put = only(recorder.spans_named("put"));
    let shown = put.field("key").unwrap();
    assert!(!shown.contains(['\u{1b}', '\r', '\n']), "{shown:?}");
    assert!(shown.contains("forged"));
}
