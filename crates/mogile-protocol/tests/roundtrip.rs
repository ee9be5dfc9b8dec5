//! Property tests: encode/decode round trips for arbitrary bytes, arbitrary chunking of a
//! response stream, and garbage that must neither panic nor buffer past the line limit.

use bytes::BytesMut;
use mogile_protocol::*;
use proptest::prelude::*;

/// Bytes biased towards the troublesome ones: space + & = % CR LF NUL, and high bytes.
fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(vec![b' ', b'+', b'&', b'=', b'%', b'\r', b'\n', 0u8, 0xff, b'/', b':']),
        1 => Just(b'%'),
    ];
    prop::collection::vec(byte, 0..max)
}

fn args_strategy() -> impl Strategy<Value = Args> {
    prop::collection::vec((nasty_bytes(12), nasty_bytes(40)), 0..8)
        .prop_map(|pairs| pairs.into_iter().collect())
}

fn response_strategy() -> impl Strategy<Value = Response> {
    prop_oneof![
        args_strategy().prop_map(Response::Ok),
        (
            "[a-z_]{1,20}",
            any::<String>(),
            prop::option::of(nasty_bytes(16)),
        )
            .prop_map(|(code, message, callid)| {
                let mut err = ErrLine::with_message(ErrorCode::from(code.as_str()), message);
                err.callid = callid;
                Response::Err(err)
            }),
    ]
}

fn encode(responses: &[Response]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for r in responses {
        r.encode(&mut out);
    }
    out.to_vec()
}

/// Feeds `stream` cut at `cuts` into a decoder; returns what it yields.
fn feed(stream: &[u8], cuts: &[usize]) -> Vec<Response> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    let mut decoder = ResponseDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for w in points.windows(2) {
        buf.extend_from_slice(&stream[w[0]..w[1]]);
        while let Some(r) = decoder.decode(&mut buf).unwrap() {
            out.push(r);
        }
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #[test]
    fn args_roundtrip(args in args_strategy()) {
        let mut wire = BytesMut::new();
        args.encode_into(&mut wire);
        // Escaped output never holds a byte that could split a pair or a line.
        prop_assert!(!wire.iter().any(|b| matches!(b, b' ' | b'\r' | b'\n' | 0)));
        prop_assert_eq!(Args::decode(&wire), args.clone());
        // With unique names the tracker's own parser reads the same pairs.
        let mut names: Vec<_> = args.iter().map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        if names.len() == args.len() {
            prop_assert_eq!(Args::decode_server(&wire), args);
        }
    }

    /// A `callid` added to an encoded line gives the bytes of the request encoded with that
    /// argument, and the tracker's parser reads the request and the `callid` back, attempt after
    /// attempt on the same line.
    #[test]
    fn a_callid_on_an_encoded_line_is_an_encoded_argument(
        args in args_strategy(),
        callids in prop::collection::vec(any::<u64>(), 1..4),
    ) {
        let request = Request::new("get_paths").unwrap();
        let request = args.iter().fold(request, |r, (n, v)| r.arg(n, v));
        let mut line = RequestLine::new(&request);
        for callid in callids {
            line.set_callid(callid);
            let mut expected = BytesMut::new();
            request.clone().arg("callid", callid.to_string()).encode(&mut expected);
            prop_assert_eq!(line.bytes(), &expected[..]);
            prop_assert!(line.bytes().len() <= line.max_len());
            let digits = callid.to_string();
            prop_assert_eq!(line.callid(), digits.as_bytes());
            let mut wire = BytesMut::from(line.bytes());
            let parsed = RequestDecoder::new().decode(&mut wire).unwrap().unwrap();
            prop_assert_eq!(parsed.args().get("callid"), Some(digits.as_bytes()));
        }
    }

    #[test]
    fn escape_unescape(bytes in nasty_bytes(300)) {
        let mut out = BytesMut::new();
        escape(&bytes, &mut out);
        prop_assert_eq!(unescape(&out), bytes);
    }

    #[test]
    fn keys_roundtrip_through_request_and_reply(key in nasty_bytes(2000).prop_filter("non-empty", |k| !k.is_empty())) {
        let key = Key::from(key);
        // client request -> server parser
        let mut wire = BytesMut::new();
        GetPaths::new("d", key.clone()).request().encode(&mut wire);
        let mut decoder = RequestDecoder::new();
        let request = decoder.decode(&mut wire).unwrap().unwrap();
        prop_assert!(wire.is_empty());
        prop_assert_eq!(request.args().get("key"), Some(key.as_bytes()));
        // server reply -> client parser -> identical re-encoding
        let page = KeyPage { keys: vec![key.clone()], next_after: Some(key.clone()) };
        let mut args = Args::new();
        ListKeys::encode_output(&page, &mut args);
        let mut line = BytesMut::new();
        Response::Ok(args).encode(&mut line);
        let reply = ResponseDecoder::new().decode(&mut line.clone()).unwrap().unwrap();
        let decoded = ListKeys::parse_reply(reply.clone()).unwrap();
        prop_assert_eq!(&decoded, &page);
        let mut again = BytesMut::new();
        reply.encode(&mut again);
        prop_assert_eq!(again, line);
    }

    #[test]
    fn chunked_stream_decodes_like_whole(
        responses in prop::collection::vec(response_strategy(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let stream = encode(&responses);
        let whole = feed(&stream, &[]);
        prop_assert_eq!(&whole, &responses);
        prop_assert_eq!(feed(&stream, &cuts), whole);
    }

    #[test]
    fn garbage_never_panics_nor_buffers_past_the_limit(
        chunks in prop::collection::vec(nasty_bytes(200), 0..20),
        limit in 16usize..256,
    ) {
        let mut responses = ResponseDecoder::new().max_line_len(limit);
        let mut requests = RequestDecoder::new().max_line_len(limit);
        let mut admin = AdminReplyDecoder::new().max_line_len(limit).max_reply_len(limit * 2);
        let (mut rbuf, mut qbuf, mut abuf) = (BytesMut::new(), BytesMut::new(), BytesMut::new());
        let (mut r_dead, mut q_dead, mut a_dead) = (false, false, false);
        for chunk in &chunks {
            if !r_dead {
                rbuf.extend_from_slice(chunk);
                loop {
                    match responses.decode(&mut rbuf) {
                        Ok(Some(_)) => continue,
                        // An undecodable line is consumed and reported; the caller would close.
                        Err(DecodeError::LineTooLong { .. }) => { r_dead = true; break }
                        Err(_) => continue,
                        Ok(None) => { prop_assert!(rbuf.len() < limit); break }
                    }
                }
            }
            if !q_dead {
                qbuf.extend_from_slice(chunk);
                loop {
                    match requests.decode_server_line(&mut qbuf) {
                        Ok(Some(_)) => continue,
                        Err(_) => { q_dead = true; break }
                        Ok(None) => { prop_assert!(qbuf.len() < limit); break }
                    }
                }
            }
            if !a_dead {
                abuf.extend_from_slice(chunk);
                loop {
                    match admin.decode(&mut abuf) {
                        Ok(Some(_)) => continue,
                        Err(_) => { a_dead = true; break }
                        Ok(None) => { prop_assert!(abuf.len() < limit); break }
                    }
                }
            }
        }
    }

    #[test]
    fn typed_parsers_never_panic(line in nasty_bytes(300), counts in prop::collection::vec(any::<u64>(), 3)) {
        let _ = Response::decode_line(&line);
        // Hostile counts next to arbitrary pairs: errors, never a panic or a huge allocation.
        let mut args = Args::decode(&line);
        for (name, n) in ["paths", "key_count", "dev_count"].iter().zip(&counts) {
            args.push(name, n.to_string());
        }
        args.push("domains", counts[0].to_string());
        args.push("hosts", counts[1].to_string());
        args.push("devices", counts[2].to_string());
        args.push("fid_count", counts[0].to_string());
        args.push("fid", "1");
        let _ = GetPaths::parse_ok(&args);
        let _ = ListKeys::parse_ok(&args);
        let _ = CreateOpen::parse_ok(&args);
        let _ = GetDomains::parse_ok(&args);
        let _ = GetHosts::parse_ok(&args);
        let _ = GetDevices::parse_ok(&args);
        let _ = ListFids::parse_ok(&args);
        let _ = ServerSettings::parse_ok(&args);
        let _ = FileInfo::parse_ok(&args);
        let _ = FsckStatus::parse_ok(&args);
    }
}

#[test]
fn long_key_list_keys_page_fits_the_default_limit() {
    // 1000 keys of 255 bytes that all need escaping: about 780 KB, under the 1 MiB default.
    let keys: Vec<Key> = (0..1000u32)
        .map(|i| {
            let mut k = format!("{i:04}").into_bytes();
            k.resize(255, b'&');
            Key::from(k)
        })
        .collect();
    let page = KeyPage {
        next_after: keys.last().cloned(),
        keys,
    };
    let mut args = Args::new();
    ListKeys::encode_output(&page, &mut args);
    let mut line = BytesMut::new();
    Response::Ok(args).encode(&mut line);
    assert!(
        line.len() > 750_000 && line.len() < DEFAULT_MAX_LINE_LEN,
        "{}",
        line.len()
    );
    let reply = ResponseDecoder::new().decode(&mut line).unwrap().unwrap();
    assert_eq!(ListKeys::parse_reply(reply).unwrap(), page);
}

#[test]
fn foreign_keys_stay_usable_for_fetch_delete_rename_and_file_info() {
    // Keys another client stored: a NUL inside, and 300 bytes (both round-trip on a real 2.73).
    let long = format!("long/{}", "k".repeat(295));
    let line = format!("OK key_count=2&key_1=enc/nul%00here&key_2={long}&next_after={long}\r\n");
    let page = ListKeys::parse_reply(Response::decode_line(line.as_bytes()).unwrap()).unwrap();
    assert_eq!(page.keys[0].as_bytes(), b"enc/nul\0here");
    assert_eq!(page.keys[1].len(), 300);
    // The store-time policy refuses such keys for new files only.
    assert!(KeyPolicy::Strict.check(&page.keys[0]).is_err());
    assert!(KeyPolicy::Strict.check(&page.keys[1]).is_err());
    for key in &page.keys {
        let requests = [
            GetPaths::new("d", key.clone()).request(),
            Delete::new("d", key.clone()).request(),
            Rename::new("d", key.clone(), "new").request(),
            FileInfo::new("d", key.clone()).request(),
        ];
        for request in requests {
            let mut wire = BytesMut::new();
            request.encode(&mut wire);
            let parsed = RequestDecoder::new().decode(&mut wire).unwrap().unwrap();
            let name = if parsed.command() == "rename" {
                "from_key"
            } else {
                "key"
            };
            assert_eq!(
                parsed.args().get(name),
                Some(key.as_bytes()),
                "{}",
                parsed.command()
            );
        }
    }
    // And the page re-encodes identically (modulo pair order).
    let mut args = Args::new();
    ListKeys::encode_output(&page, &mut args);
    let mut again = BytesMut::new();
    Response::Ok(args).encode(&mut again);
    let mut a: Vec<&[u8]> = line.trim_end().as_bytes()[3..]
        .split(|&b| b == b'&')
        .collect();
    let mut b: Vec<&[u8]> = again[3..again.len() - 2].split(|&b| b == b'&').collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
