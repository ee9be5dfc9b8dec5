//! A failover between trackers is reported at `WARN`: the tracker that failed and why, then the
//! one that answered.

mod common;

use mogile_protocol::Noop;
use mogile_testkit::trace::Recorder;
use tracing::Level;

#[tokio::test(start_paused = true)]
async fn a_failover_is_a_warning_naming_both_trackers() {
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    ts[0].kill();
    let dead = ts[0].addr().to_string();
    let live = ts[1].addr().to_string();
    // The first tracker tried is drawn at random: find a seed that draws the dead one first.
    let mut found = None;
    for seed in 0..32 {
        let recorder = Recorder::default();
        let _guard = tracing::subscriber::set_default(recorder.clone());
        let client = common::builder(&[&ts[0], &ts[1]])
            .rng_seed(seed)
            .build()
            .unwrap();
        client.noop(Noop::new()).await.unwrap();
        if !recorder
            .events_with("tracker failed; trying another")
            .is_empty()
        {
            found = Some(recorder);
            break;
        }
    }
    let recorder = found.expect("some seed tries the dead tracker first");
    let failed = recorder.events_with("tracker failed; trying another");
    assert_eq!(failed.len(), 1, "{:#?}", recorder.events());
    let failed = &failed[0];
    assert_eq!(failed.level, Level::WARN);
    assert_eq!(failed.field("command"), Some("noop"));
    assert_eq!(failed.field("tracker"), Some(dead.as_str()));
    assert_eq!(failed.field("attempt"), Some("1"));
    assert!(failed.field("error").is_some_and(|e| !e.is_empty()));

    let answered = recorder.events_with("answered after failover");
    assert_eq!(answered.len(), 1, "{:#?}", recorder.events());
    let answered = &answered[0];
    assert_eq!(answered.level, Level::WARN);
    assert_eq!(answered.field("command"), Some("noop"));
    assert_eq!(answered.field("tracker"), Some(live.as_str()));
    assert_eq!(answered.field("attempt"), Some("2"));
    // Both happened inside the request's span.
    let span = &recorder.spans_named("tracker_request")[0];
    assert_eq!(failed.span, Some(span.id));
    assert_eq!(answered.span, Some(span.id));
}

#[tokio::test(start_paused = true)]
async fn no_warning_without_a_failover_nor_for_the_last_attempt() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let client = common::builder(&[&ts[0]]).build().unwrap();
    client.noop(Noop::new()).await.unwrap();
    assert!(
        recorder.events().iter().all(|e| e.level != Level::WARN),
        "{:#?}",
        recorder.events()
    );
    // A request that runs out of attempts ends with its error, not with "trying another".
    ts[0].kill();
    let mut config = common::config();
    config.retry_budget = Some(1);
    let one = common::builder(&[&ts[0]]).config(config).build().unwrap();
    one.noop(Noop::new()).await.unwrap_err();
    assert!(
        recorder
            .events_with("tracker failed; trying another")
            .is_empty()
    );
}
