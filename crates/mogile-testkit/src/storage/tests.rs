//! The test storage node on the wire, against the mogstored captures
//! (`conformance/mogstored_http.txt`).

use std::time::SystemTime;

use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Fault, FaultPeer, FaultRule, StorageNode};

async fn node() -> (tempfile::TempDir, StorageNode) {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    node.add_device(2).await.unwrap();
    (dir, node)
}

/// A raw HTTP/1 exchange: writes `req`, reads one response (head, and a `Content-Length` body
/// unless `bodyless`).
async fn exchange(conn: &mut TcpStream, req: &[u8], bodyless: bool) -> (String, Vec<u8>) {
    conn.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "closed before a full head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    let mut body = buf[head_end..].to_vec();
    if !bodyless {
        while body.len() < len {
            let mut chunk = vec![0u8; 64 * 1024];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed mid-body");
            body.extend_from_slice(&chunk[..n]);
        }
    }
    (head, body)
}

async fn connect(node: &StorageNode) -> TcpStream {
    TcpStream::connect(node.addr()).await.unwrap()
}

fn status_line(head: &str) -> &str {
    head.lines().next().unwrap()
}

#[tokio::test]
async fn put_get_head_like_mogstored_on_one_kept_alive_connection() {
    let (_dir, node) = node().await;
    let mut c = connect(&node).await;
    let (head, body) = exchange(
        &mut c,
        b"PUT /dev2/0/000/090/0000090053.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    for h in [
        "Content-Type: text/html",
        "Content-Length: 18",
        "Server: Perlbal",
        "Connection: keep-alive",
        "Keep-Alive: timeout=30, max=100",
    ] {
        assert!(head.contains(&format!("{h}\r\n")), "{h} missing in {head}");
    }
    assert_eq!(body, b"<h1>200 - OK</h1>\n");

    let (head, body) = exchange(
        &mut c,
        b"GET /dev2/0/000/090/0000090053.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    for h in [
        "Accept-Ranges: bytes",
        "Content-Type: text/plain",
        "Content-Length: 11",
        "Connection: keep-alive",
    ] {
        assert!(head.contains(&format!("{h}\r\n")), "{h} missing in {head}");
    }
    assert!(head.contains("Last-Modified: ") && head.contains("Date: "));
    assert_eq!(body, b"hello world");

    let (head, body) = exchange(
        &mut c,
        b"HEAD /dev2/0/000/090/0000090053.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        true,
    )
    .await;
    assert!(head.contains("Content-Length: 11\r\n"));
    assert!(body.is_empty());
    assert_eq!(
        node.connection_count(),
        1,
        "all on one kept-alive connection"
    );
    let reqs = node.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].body_bytes, 11);
    assert_eq!(reqs[0].content_length(), Some(11));
    assert_eq!(reqs[2].method, Method::HEAD);
}

#[tokio::test]
async fn ranges_as_captured() {
    let (_dir, node) = node().await;
    std::fs::write(node.file_path("/dev1/r.fid"), "hello world v2").unwrap();
    let mut c = connect(&node).await;
    let get =
        |range: &str| format!("GET /dev1/r.fid HTTP/1.1\r\nHost: x\r\nRange: {range}\r\n\r\n");
    let cases: [(&str, &str, Option<&str>, &[u8]); 6] = [
        (
            "bytes=0-4",
            "HTTP/1.0 206 Partial Content",
            Some("bytes 0-4/14"),
            b"hello",
        ),
        (
            "bytes=6-",
            "HTTP/1.0 206 Partial Content",
            Some("bytes 6-13/14"),
            b"world v2",
        ),
        (
            "bytes=-3",
            "HTTP/1.0 206 Partial Content",
            Some("bytes 0-3/14"),
            b"hell",
        ),
        (
            "bytes=100-200",
            "HTTP/1.0 416 Request range not satisfiable",
            Some("bytes */14"),
            b"",
        ),
        ("bytes=0-1,3-4", "HTTP/1.0 200 OK", None, b"hello world v2"),
        (
            "bytes=5-2",
            "HTTP/1.0 416 Request range not satisfiable",
            Some("bytes */14"),
            b"",
        ),
    ];
    for (range, status, content_range, body) in cases {
        let (head, got) = exchange(&mut c, get(range).as_bytes(), false).await;
        assert_eq!(status_line(&head), status, "{range}");
        match content_range {
            Some(cr) => assert!(head.contains(&format!("Content-Range: {cr}\r\n")), "{head}"),
            None => assert!(!head.contains("Content-Range")),
        }
        assert_eq!(got, body, "{range}");
    }
    // Without the suffix bug, bytes=-3 is the last three bytes.
    node.set_suffix_range_bug(false);
    let (_, got) = exchange(&mut c, get("bytes=-3").as_bytes(), false).await;
    assert_eq!(got, b" v2");
    // A fault makes the node ignore ranges.
    node.inject(FaultRule::new(Fault::IgnoreRange).times(1));
    let (head, got) = exchange(&mut c, get("bytes=0-4").as_bytes(), false).await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    assert_eq!(got, b"hello world v2");
}

#[tokio::test]
async fn put_statuses_and_paths() {
    let (_dir, node) = node().await;
    let put =
        |path: &str| format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    let cases = [
        (
            "/dev99/0/000/000/0000000001.fid",
            "HTTP/1.0 404 Not Found",
            "Base directory does not exist",
        ),
        (
            "/toplevel.fid",
            "HTTP/1.0 400 Bad request",
            "Does not meet minimum directory requirement",
        ),
        (
            "/dev1/../escape.fid",
            "HTTP/1.0 400 Bad request",
            "Invalid filename",
        ),
        (
            "/dev1/0/000/000/",
            "HTTP/1.0 400 Bad request",
            "Invalid filename",
        ),
        ("/dev1/brand/new/dirs/file.fid", "HTTP/1.0 200 OK", ""),
    ];
    for (path, status, message) in cases {
        // A fresh connection each: mogstored closes after a 400.
        let mut c = connect(&node).await;
        let (head, body) = exchange(&mut c, put(path).as_bytes(), false).await;
        assert_eq!(status_line(&head), status, "{path}");
        assert!(
            String::from_utf8(body).unwrap().ends_with(message),
            "{path}"
        );
    }
    assert_eq!(
        std::fs::read(node.file_path("/dev1/brand/new/dirs/file.fid")).unwrap(),
        b"abc"
    );

    node.set_put_status(201);
    let mut c = connect(&node).await;
    let (head, body) = exchange(&mut c, put("/dev1/a.fid").as_bytes(), false).await;
    assert_eq!(status_line(&head), "HTTP/1.0 201 Created");
    assert_eq!(body, b"<h1>201 - Created</h1>\n");
}

#[tokio::test]
async fn chunked_and_unframed_puts() {
    let (_dir, node) = node().await;
    let mut c = connect(&node).await;
    let (head, _) = exchange(
        &mut c,
        b"PUT /dev2/c.fid HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n chunk\r\n0\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    assert_eq!(
        std::fs::read(node.file_path("/dev2/c.fid")).unwrap(),
        b"hello chunk"
    );
    assert!(node.requests()[0].is_chunked());

    // Neither Content-Length nor chunked: 200 and an empty file, like mogstored.
    let (head, _) = exchange(
        &mut c,
        b"PUT /dev2/e.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    assert_eq!(std::fs::read(node.file_path("/dev2/e.fid")).unwrap(), b"");
}

#[tokio::test]
async fn delete_mkcol_usage_and_conditional_get() {
    let (_dir, node) = node().await;
    std::fs::write(node.file_path("/dev1/d.fid"), "abc").unwrap();
    let mut c = connect(&node).await;
    let (head, _) = exchange(
        &mut c,
        b"DELETE /dev1/d.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        true,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 204 No Content");
    let (head, body) = exchange(
        &mut c,
        b"DELETE /dev1/d.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 404 Not Found");
    assert_eq!(body, b"<h1>404 - Not Found</h1>\n");
    let (head, body) = exchange(
        &mut c,
        b"MKCOL /dev1/newcol HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 400 Bad request");
    assert_eq!(body, b"<h1>400 - Bad request</h1>\n");
    let (head, body) = exchange(&mut c, b"GET /dev1/ HTTP/1.1\r\nHost: x\r\n\r\n", false).await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    assert!(body.ends_with(b"Directory listing disabled"));

    // The figures of the capture (`mogstored_http.txt`), `use` rounded up as mogstored has it.
    node.set_usage(95_285_888, 12_426_836);
    let (_, body) = exchange(
        &mut c,
        b"GET /dev1/usage HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    let usage = String::from_utf8(body).unwrap();
    for line in [
        "available: 82859052\n",
        "total: 95285888\n",
        "used: 12426836\n",
        "use: 14%\n",
    ] {
        assert!(usage.contains(line), "{line} in {usage}");
    }

    std::fs::write(node.file_path("/dev1/m.fid"), "abc").unwrap();
    let (head, _) = exchange(
        &mut c,
        b"GET /dev1/m.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    let lm = head
        .lines()
        .find_map(|l| l.strip_prefix("Last-Modified: "))
        .unwrap()
        .to_owned();
    let req = format!("GET /dev1/m.fid HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {lm}\r\n\r\n");
    let (head, _) = exchange(&mut c, req.as_bytes(), true).await;
    assert_eq!(status_line(&head), "HTTP/1.0 304 Not Modified");
    let other = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH);
    let req = format!("GET /dev1/m.fid HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {other}\r\n\r\n");
    let (head, _) = exchange(&mut c, req.as_bytes(), false).await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
}

#[tokio::test]
async fn http10_requests_and_connection_close_get_closed() {
    let (_dir, node) = node().await;
    std::fs::write(node.file_path("/dev1/x.fid"), "abc").unwrap();
    for req in [
        &b"GET /dev1/x.fid HTTP/1.0\r\nHost: x\r\n\r\n"[..],
        b"GET /dev1/x.fid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let mut c = connect(&node).await;
        let (head, body) = exchange(&mut c, req, false).await;
        assert!(head.contains("Connection: close\r\n"), "{head}");
        assert!(!head.contains("Keep-Alive"));
        assert_eq!(body, b"abc");
        let mut rest = Vec::new();
        assert_eq!(
            c.read_to_end(&mut rest).await.unwrap(),
            0,
            "closed after the answer"
        );
    }
}

#[tokio::test]
async fn faults_are_per_rule_and_counted() {
    let (_dir, node) = node().await;
    std::fs::write(node.file_path("/dev1/x.fid"), "abc").unwrap();
    node.inject(
        FaultRule::new(Fault::Status(507))
            .method(Method::PUT)
            .path("/dev1/")
            .times(2),
    );
    let put = b"PUT /dev1/y.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz";
    let mut c = connect(&node).await;
    for expected in [
        "HTTP/1.0 507 Insufficient Storage",
        "HTTP/1.0 507 Insufficient Storage",
        "HTTP/1.0 200 OK",
    ] {
        let (head, _) = exchange(&mut c, put, false).await;
        assert_eq!(status_line(&head), expected);
    }
    // GETs were never affected.
    let (head, _) = exchange(
        &mut c,
        b"GET /dev1/x.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");

    // A refusing node resets new connections.
    node.set_refusing(true);
    let mut c = connect(&node).await;
    c.write_all(b"GET /dev1/x.fid HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .ok();
    let mut buf = Vec::new();
    let got = c.read_to_end(&mut buf).await;
    assert!(
        got.is_err() || buf.is_empty(),
        "no answer from a refusing node"
    );
    node.set_refusing(false);
    assert_eq!(node.connection_count(), 2);
    node.shutdown().await;
}

#[tokio::test]
async fn fault_peer_records_exact_bytes_and_decodes_chunked() {
    let peer = FaultPeer::start(|mut conn| async move {
        let (_, body) = conn.read_request().await?;
        let reply = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        conn.write(reply.as_bytes()).await?;
        conn.write(&body).await
    })
    .await
    .unwrap();
    let mut c = TcpStream::connect(peer.addr()).await.unwrap();
    let req = b"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
    c.write_all(req).await.unwrap();
    let mut reply = Vec::new();
    c.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabcde");
    assert_eq!(peer.received(0), req);
    assert_eq!(peer.connection_count(), 1);
    assert!(peer.received(7).is_empty());
}

#[tokio::test]
async fn a_stopped_node_refuses_and_can_come_back_on_its_port() {
    let (dir, node) = node().await;
    std::fs::write(node.file_path("/dev1/x.fid"), "abc").unwrap();
    let addr = node.addr();
    node.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "connection refused while down"
    );
    let node = StorageNode::start_at(dir.path(), addr).await.unwrap();
    let mut c = connect(&node).await;
    let (head, body) = exchange(
        &mut c,
        b"GET /dev1/x.fid HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
    assert_eq!(body, b"abc");
    assert!(
        StorageNode::start_at(dir.path(), "10.0.0.1:0".parse().unwrap())
            .await
            .is_err()
    );
}

/// Without fixed figures, `/devN/usage` measures the device's directory: `used` is the size of
/// its files in KiB, rounded up, and follows what is stored; every line mogstored writes is there,
/// sorted by key, and the protocol crate's parser reads it.
#[tokio::test]
async fn usage_is_measured_from_the_device_directory() {
    let (_dir, node) = node().await;
    node.set_capacity(1000);
    async fn usage(node: &StorageNode) -> String {
        let mut c = connect(node).await;
        let (head, body) = exchange(
            &mut c,
            b"GET /dev1/usage HTTP/1.1\r\nHost: x\r\n\r\n",
            false,
        )
        .await;
        assert_eq!(status_line(&head), "HTTP/1.0 200 OK");
        String::from_utf8(body).unwrap()
    }
    let empty = usage(&node).await;
    let keys: Vec<&str> = empty
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "available",
            "device",
            "disk",
            "time",
            "total",
            "use",
            "used"
        ]
    );
    let parsed = mogile_protocol::DeviceUsage::parse(empty.as_bytes()).unwrap();
    assert_eq!((parsed.total_kib, parsed.used_kib), (1000, 0));
    assert_eq!(
        (parsed.available_kib, parsed.use_percent),
        (Some(1000), Some(0))
    );

    std::fs::create_dir_all(node.file_path("/dev1/0/000/000")).unwrap();
    std::fs::write(
        node.file_path("/dev1/0/000/000/0000000001.fid"),
        vec![1; 100 * 1024],
    )
    .unwrap();
    std::fs::write(node.file_path("/dev1/x.fid"), vec![1; 1]).unwrap();
    // Another device's files do not count.
    std::fs::write(node.file_path("/dev2/y.fid"), vec![1; 500 * 1024]).unwrap();
    let parsed = mogile_protocol::DeviceUsage::parse(usage(&node).await.as_bytes()).unwrap();
    assert_eq!((parsed.used_kib, parsed.available_kib), (101, Some(899)));
    assert_eq!(parsed.use_percent, Some(11));
    assert!(parsed.disk.unwrap().ends_with("dev1"));

    // A device without a directory has no usage file.
    let mut c = connect(&node).await;
    let (head, _) = exchange(
        &mut c,
        b"GET /dev9/usage HTTP/1.1\r\nHost: x\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status_line(&head), "HTTP/1.0 404 Not Found");
}
