//! Every request runs in a `storage_transfer` span with its method, URL, status, bytes and
//! duration, whether it succeeds or fails.

use futures_util::{StreamExt, stream};
use mogile_storage::{
    ByteRange, OneShotBody, Payload, StorageClient, StorageGetOptions, StoragePutOptions,
};
use mogile_testkit::storage::StorageNode;
use mogile_testkit::trace::{Recorder, SpanRecord};

fn transfers(recorder: &Recorder) -> Vec<SpanRecord> {
    recorder.spans_named("storage_transfer")
}

fn check(span: &SpanRecord, method: &str, url: &str, status: &str, bytes: Option<&str>) {
    assert_eq!(span.field("method"), Some(method), "{span:?}");
    assert_eq!(span.field("url"), Some(url), "{span:?}");
    assert_eq!(span.field("status"), Some(status), "{span:?}");
    assert_eq!(span.field("bytes"), bytes, "{span:?}");
    assert!(span.field("duration").is_some(), "{span:?}");
    assert_eq!(span.level, tracing::Level::DEBUG);
}

#[tokio::test]
async fn each_transfer_has_a_span_with_method_url_status_bytes_and_duration() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    let url = node.url("/dev1/0/000/000/0000000001.fid");
    let client = StorageClient::builder().build().unwrap();

    let put = StoragePutOptions::default();
    client
        .put(&url, &Payload::from("hello world"), &put)
        .await
        .unwrap();
    let chunks = stream::iter(["hello ", "again"].map(|s| Ok(s.into())));
    client
        .put_stream(&url, OneShotBody::from_stream(chunks, None), &put)
        .await
        .unwrap();
    let whole = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap();
    assert_eq!(&whole.bytes().await.unwrap()[..], b"hello again");
    let part = StorageGetOptions::default().range(ByteRange::from_offset(6));
    let mut body = client.get(&url, &part).await.unwrap().into_stream();
    while body.next().await.is_some() {}
    assert_eq!(client.head(&url).await.unwrap().content_length, Some(11));
    client.delete(&url).await.unwrap();
    let missing = client.get(&url, &StorageGetOptions::default()).await;
    assert!(missing.unwrap_err().is_not_found());

    let all = transfers(&recorder);
    assert_eq!(all.len(), 7, "{all:#?}");
    check(&all[0], "PUT", &url, "200", Some("11"));
    check(&all[1], "PUT", &url, "200", Some("11"));
    check(&all[2], "GET", &url, "200", Some("11"));
    check(&all[3], "GET", &url, "206", Some("5"));
    check(&all[4], "HEAD", &url, "200", Some("0"));
    check(&all[5], "DELETE", &url, "204", Some("0"));
    check(&all[6], "GET", &url, "404", None);
    assert!(
        all[6].field("error").unwrap().contains("404"),
        "{:?}",
        all[6]
    );
    assert!(all[..6].iter().all(|s| s.field("error").is_none()));
}

#[tokio::test]
async fn a_failed_connection_is_recorded_with_its_error() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    node.set_refusing(true);
    let url = node.url("/dev1/0/000/000/0000000002.fid");
    let client = StorageClient::builder().build().unwrap();
    let err = client
        .put(&url, &Payload::from("x"), &StoragePutOptions::default())
        .await
        .unwrap_err();
    let all = transfers(&recorder);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].field("method"), Some("PUT"));
    assert_eq!(all[0].field("status"), None);
    assert_eq!(all[0].field("error"), Some(err.to_string().as_str()));
    assert!(all[0].field("duration").is_some());
}
