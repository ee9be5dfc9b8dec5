//! Status mapping and the request headers we send, against wiremock.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use mogile_storage::{
    OneShotBody, Payload, StorageClient, StorageConfig, StorageError, StorageGetOptions,
    StoragePutOptions, TimeoutPhase,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client() -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: Duration::from_secs(10),
            headers_timeout: Duration::from_secs(10),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

async fn server_answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn put_accepts_any_2xx() {
    for status in [200, 201, 204] {
        let server = server_answering(status, "").await;
        let url = format!("{}/dev1/a.fid", server.uri());
        let out = client()
            .put(&url, &Payload::from("hello"), &StoragePutOptions::default())
            .await
            .unwrap();
        assert_eq!(out.status, status);
        assert_eq!(out.bytes_sent, 5);
    }
}

#[tokio::test]
async fn put_errors_are_typed_with_a_bounded_snippet() {
    for status in [404, 500, 507] {
        let long_body = format!("<h1>{status}</h1>\n{}", "x".repeat(5000));
        let server = server_answering(status, &long_body).await;
        let url = format!("{}/dev1/a.fid", server.uri());
        let client = StorageClient::builder()
            .config(StorageConfig {
                error_body_limit: 64,
                ..StorageConfig::default()
            })
            .build()
            .unwrap();
        let err = client
            .put(&url, &Payload::from("hello"), &StoragePutOptions::default())
            .await
            .unwrap_err();
        let StorageError::Status {
            status: got,
            body_snippet,
            url: err_url,
        } = &err
        else {
            panic!("expected a status error, got {err:?}");
        };
        assert_eq!(*got, status);
        assert_eq!(err_url, &url);
        assert_eq!(body_snippet.len(), 64);
        assert!(body_snippet.starts_with(&format!("<h1>{status}</h1>")));
        assert_eq!(err.is_not_found(), status == 404);
        assert!(err.try_another_replica());
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://127.0.0.1:1/elsewhere"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/other"))
        .mount(&server)
        .await;
    let url = format!("{}/dev1/a.fid", server.uri());
    let err = client()
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap_err();
    match err {
        StorageError::Redirect {
            status, location, ..
        } => {
            assert_eq!(status, 302);
            assert_eq!(location.as_deref(), Some("http://127.0.0.1:1/elsewhere"));
        }
        other => panic!("expected a redirect error, got {other:?}"),
    }
    let err = client()
        .put(&url, &Payload::from("x"), &StoragePutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Redirect { status: 307, .. }));
    // Only our two requests: nothing followed a Location.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn known_length_uses_content_length_and_never_expect() {
    let server = server_answering(200, "").await;
    let client = client();
    let url = format!("{}/dev1/a.fid", server.uri());
    client
        .put(
            &url,
            &Payload::from(vec![7u8; 1000]),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    let chunks = stream::iter([
        Ok(Bytes::from_static(b"abc")),
        Ok(Bytes::from_static(b"de")),
    ]);
    let out = client
        .put_stream(
            &url,
            OneShotBody::from_stream(chunks, Some(5)),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.bytes_sent, 5);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for (req, len) in reqs.iter().zip([1000usize, 5]) {
        assert_eq!(req.headers.get("content-length").unwrap(), &len.to_string());
        assert!(req.headers.get("transfer-encoding").is_none());
        assert!(req.headers.get("expect").is_none());
        assert_eq!(req.body.len(), len);
    }
    assert_eq!(reqs[1].body, b"abcde");
}

#[tokio::test]
async fn unknown_length_is_chunked_without_expect() {
    let server = server_answering(201, "").await;
    let url = format!("{}/dev1/a.fid", server.uri());
    let chunks = stream::iter([
        Ok(Bytes::from_static(b"abc")),
        Ok(Bytes::from_static(b"de")),
    ]);
    let out = client()
        .put_stream(
            &url,
            OneShotBody::from_stream(chunks, None),
            &StoragePutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((out.bytes_sent, out.status), (5, 201));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.headers.get("transfer-encoding").unwrap(), "chunked");
    assert!(req.headers.get("content-length").is_none());
    assert!(req.headers.get("expect").is_none());
    assert!(req.headers.get("host").is_some());
    assert_eq!(req.body, b"abcde");
}

#[tokio::test]
async fn head_delete_and_get_status_mapping() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/dev1/there.fid"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 14]))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/dev1/there.fid"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    // Anything else: 404, like a missing file.
    let client = client();
    let there = format!("{}/dev1/there.fid", server.uri());
    let missing = format!("{}/dev1/missing.fid", server.uri());
    let info = client.head(&there).await.unwrap();
    assert_eq!((info.status, info.content_length), (200, Some(14)));
    client.delete(&there).await.unwrap();
    assert!(client.head(&missing).await.unwrap_err().is_not_found());
    assert!(client.delete(&missing).await.unwrap_err().is_not_found());
    let err = client
        .get(&missing, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.url(), missing);
}

#[tokio::test]
async fn headers_timeout_against_a_slow_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = StorageClient::builder()
        .config(StorageConfig {
            headers_timeout: Duration::from_millis(300),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    let url = format!("{}/dev1/slow.fid", server.uri());
    let err = client
        .get(&url, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Timeout {
                phase: TimeoutPhase::Headers,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_urls_are_rejected_before_any_io() {
    let client = client();
    for url in ["https://127.0.0.1/x", "dev1/x.fid", ""] {
        let err = client.head(url).await.unwrap_err();
        assert!(matches!(err, StorageError::InvalidUrl { .. }), "{url}");
        assert!(!err.is_timeout());
    }
    let body = OneShotBody::from_stream(stream::empty(), None);
    let err = client
        .put_stream("ftp://x/y", body, &StoragePutOptions::default())
        .await
        .unwrap_err();
    assert!(err.body.unwrap().is_untouched());
}
