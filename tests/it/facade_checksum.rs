//! Checksums: MD5 sent on store and shown by `file_info`, corruption detected on fetch, and
//! "no checksum available" for classes without a hashtype.

use mogile_tests::{Harness, MD5_CLASS, PLAIN_CLASS};
use mogilefs::{ChecksumPolicy, ChecksumState, ClientConfig, Error, GetOptions, PutOptions};

#[tokio::test]
async fn md5_class_stores_and_shows_the_checksum() {
    let h = Harness::start(1).await;
    let client = h.client();
    let r = client
        .put_opts(
            "m",
            &b"hello world"[..],
            &PutOptions::new().class(MD5_CLASS).md5(true),
        )
        .await
        .unwrap();
    let info = client.file_info("m").await.unwrap();
    match info.checksum {
        Some(ChecksumState::Present(c)) => {
            assert_eq!(c.to_string(), "MD5:5eb63bbbe01eeed093cb22bb8f5acdc3");
            assert_eq!(Some(c), r.checksum);
        }
        other => panic!("expected a checksum, got {other:?}"),
    }
    // Verified fetch of an intact file.
    let got = client
        .get_opts("m", &GetOptions::new().verify_checksum(true))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, &b"hello world"[..]);
}

#[tokio::test]
async fn corrupted_replica_is_detected_when_verifying() {
    let h = Harness::start(1).await;
    let client = h
        .builder()
        .config(ClientConfig {
            checksum: ChecksumPolicy::StoreAndVerify,
            ..Harness::config()
        })
        .build()
        .unwrap();
    client
        .put_opts("m", vec![7u8; 50_000], &PutOptions::new().class(MD5_CLASS))
        .await
        .unwrap();
    h.cluster.corrupt_replica("m", 1).await.unwrap();
    let err = client.get_bytes("m").await.unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    // Without verification the (same-length) corruption goes unnoticed.
    let plain = h.client().get_bytes("m").await.unwrap();
    assert_eq!(plain.len(), 50_000);
    assert_ne!(plain[0], 7);
}

#[tokio::test]
async fn class_without_hashtype_has_no_checksum_available() {
    let h = Harness::start(1).await;
    let client = h.client();
    client
        .put_opts(
            "p",
            &b"plain"[..],
            &PutOptions::new().class(PLAIN_CLASS).md5(true),
        )
        .await
        .unwrap();
    assert_eq!(client.file_info("p").await.unwrap().checksum, None);
    let err = client
        .get_opts("p", &GetOptions::new().verify_checksum(true))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChecksumUnavailable { .. }), "{err:?}");
    assert!(!matches!(err, Error::ChecksumMismatch { .. }));
    // A range cannot be verified either, when verification is asked for.
    let err = client
        .get_opts(
            "p",
            &GetOptions::new().range(1, Some(2)).verify_checksum(true),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChecksumUnavailable { .. }), "{err:?}");
    // The client-wide policy verifies what it can and fetches the rest unverified.
    let verifying = h
        .builder()
        .config(ClientConfig {
            checksum: ChecksumPolicy::StoreAndVerify,
            ..Harness::config()
        })
        .build()
        .unwrap();
    assert_eq!(verifying.get_bytes("p").await.unwrap(), &b"plain"[..]);
    assert_eq!(
        verifying.get_range("p", 1, Some(2)).await.unwrap(),
        &b"la"[..]
    );
}

#[tokio::test]
async fn checksum_verify_on_close_rejects_nothing_for_good_uploads() {
    let h = Harness::start(1).await;
    let client = h.client();
    client
        .put_opts(
            "v",
            &b"verified"[..],
            &PutOptions::new().class(MD5_CLASS).checksum_verify(true),
        )
        .await
        .unwrap();
    let log = h.tracker().wire_log();
    let close = log
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .find(|l| l.starts_with("create_close "))
        .unwrap();
    assert!(
        close.contains("checksum=MD5") && close.contains("checksumverify=1"),
        "{close}"
    );
}
