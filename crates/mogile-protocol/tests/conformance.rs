//! Replays the captures of a real MogileFS 2.73 tracker (`testdata/tracker_*.txt`, copied from
//! the project's `shared/conformance/`).
//!
//! For every exchange: the server-side decoder recovers the request; the captured response
//! decodes, and re-encodes byte for byte (pairs compared as a set: the tracker's order is
//! random); the command's typed parser accepts it, and the typed server-side encoder reproduces
//! its pairs. `!` replies decode with the multi-line reader.

mod transcript;

use bytes::BytesMut;
use mogile_protocol::*;
use transcript::{Exchange, Reply};

/// Every tracker capture, with the number of exchanges it holds (a guard on the reader).
const FILES: &[(&str, &str, usize)] = &[
    (
        "tracker_admin.txt",
        include_str!("../testdata/tracker_admin.txt"),
        86,
    ),
    (
        "tracker_basic.txt",
        include_str!("../testdata/tracker_basic.txt"),
        34,
    ),
    (
        "tracker_bootstrap.txt",
        include_str!("../testdata/tracker_bootstrap.txt"),
        8,
    ),
    (
        "tracker_create.txt",
        include_str!("../testdata/tracker_create.txt"),
        42,
    ),
    (
        "tracker_delete.txt",
        include_str!("../testdata/tracker_delete.txt"),
        6,
    ),
    (
        "tracker_edit_file.txt",
        include_str!("../testdata/tracker_edit_file.txt"),
        2,
    ),
    (
        "tracker_file_info.txt",
        include_str!("../testdata/tracker_file_info.txt"),
        13,
    ),
    (
        "tracker_get_paths.txt",
        include_str!("../testdata/tracker_get_paths.txt"),
        15,
    ),
    (
        "tracker_keys_encoding.txt",
        include_str!("../testdata/tracker_keys_encoding.txt"),
        38,
    ),
    (
        "tracker_line_limits.txt",
        include_str!("../testdata/tracker_line_limits.txt"),
        10,
    ),
    (
        "tracker_list_keys.txt",
        include_str!("../testdata/tracker_list_keys.txt"),
        21,
    ),
    (
        "tracker_rename.txt",
        include_str!("../testdata/tracker_rename.txt"),
        12,
    ),
    (
        "tracker_rename_race.txt",
        include_str!("../testdata/tracker_rename_race.txt"),
        0,
    ),
    (
        "tracker_updateclass.txt",
        include_str!("../testdata/tracker_updateclass.txt"),
        8,
    ),
    (
        "tracker_watchdog.txt",
        include_str!("../testdata/tracker_watchdog.txt"),
        2,
    ),
];

/// Sorted `name=value` pieces of an OK line's argument part, or the line itself otherwise.
/// Tracker lines are escaped, hence ASCII.
fn canonical(line: &[u8]) -> Vec<String> {
    let line = std::str::from_utf8(line).expect("tracker lines are ASCII");
    let body = line
        .strip_suffix("\r\n")
        .expect("tracker lines end in CRLF");
    match body.strip_prefix("OK ") {
        Some(args) => {
            let mut pieces: Vec<String> = args
                .split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            pieces.sort();
            pieces
        }
        None => vec![body.to_owned()],
    }
}

fn encode_args(args: &Args) -> Vec<String> {
    let mut out = BytesMut::new();
    out.extend_from_slice(b"OK ");
    args.encode_into(&mut out);
    out.extend_from_slice(b"\r\n");
    canonical(&out)
}

/// The typed check for command `C`: the reply parses, and an `OK` re-encodes to the captured
/// pairs (minus `callid`, which belongs to the client, and minus `ignored` pairs).
fn typed<C: Command>(response: &Response, ignored: &dyn Fn(&[u8]) -> bool) {
    match C::parse_reply(response.clone()) {
        Ok(out) => {
            let mut again = Args::new();
            C::encode_output(&out, &mut again);
            if let Response::Ok(args) = response {
                let expected: Args = args
                    .iter()
                    .filter(|(n, _)| *n != b"callid" && !ignored(n))
                    .collect();
                assert_eq!(
                    encode_args(&again),
                    encode_args(&expected),
                    "{} output",
                    C::NAME
                );
            } else {
                // Only list_keys turns an ERR (none_match) into an output.
                assert_eq!(C::NAME, "list_keys");
            }
        }
        Err(ReplyError::Tracker(err)) => {
            assert!(matches!(response, Response::Err(e) if *e == err));
        }
        Err(other) => panic!("{} reply {response:?} does not decode: {other}", C::NAME),
    }
}

fn none(_: &[u8]) -> bool {
    false
}

/// Dispatches on the command name; `false` for commands without a typed form.
fn check_typed(request: &Request, response: &Response) -> bool {
    let r = response;
    match request.command() {
        "create_open" => {
            // debug_profile adds profiling pairs that CreateOpenOutput does not model.
            let profiled = request.args().get("debug_profile").is_some();
            typed::<CreateOpen>(r, &|n| profiled && n.starts_with(b"prof"));
        }
        "create_close" => typed::<CreateClose>(r, &none),
        "get_paths" => typed::<GetPaths>(r, &none),
        "delete" => typed::<Delete>(r, &none),
        "rename" => typed::<Rename>(r, &none),
        "updateclass" => typed::<UpdateFileClass>(r, &none),
        "file_info" => typed::<FileInfo>(r, &none),
        "file_debug" => typed::<FileDebug>(r, &none),
        "list_keys" => typed::<ListKeys>(r, &none),
        "list_fids" => typed::<ListFids>(r, &none),
        "noop" => typed::<Noop>(r, &none),
        "get_domains" => typed::<GetDomains>(r, &none),
        "create_domain" => typed::<CreateDomain>(r, &none),
        "delete_domain" => typed::<DeleteDomain>(r, &none),
        "create_class" => typed::<CreateClass>(r, &none),
        "update_class" => typed::<UpdateClass>(r, &none),
        "delete_class" => typed::<DeleteClass>(r, &none),
        "get_hosts" => typed::<GetHosts>(r, &none),
        "create_host" => typed::<CreateHost>(r, &none),
        "update_host" => typed::<UpdateHost>(r, &none),
        "delete_host" => typed::<DeleteHost>(r, &none),
        "get_devices" => typed::<GetDevices>(r, &none),
        "create_device" => typed::<CreateDevice>(r, &none),
        "set_state" => typed::<SetState>(r, &none),
        "set_weight" => typed::<SetWeight>(r, &none),
        "server_settings" => typed::<ServerSettings>(r, &none),
        "server_setting" => typed::<ServerSetting>(r, &none),
        "set_server_setting" => typed::<SetServerSetting>(r, &none),
        "clear_cache" => typed::<ClearCache>(r, &none),
        "do_monitor_round" => typed::<DoMonitorRound>(r, &none),
        "replicate_now" => typed::<ReplicateNow>(r, &none),
        "sleep" => typed::<Sleep>(r, &none),
        "test" => typed::<Test>(r, &none),
        "fsck_status" => typed::<FsckStatus>(r, &none),
        "fsck_getlog" => typed::<FsckGetLog>(r, &none),
        "rebalance_status" => typed::<RebalanceStatus>(r, &none),
        "rebalance_test" => typed::<RebalanceTest>(r, &none),
        "rebalance_stop" => typed::<RebalanceStop>(r, &none),
        _ => return false,
    }
    true
}

fn check_exchange(file: &str, ex: &Exchange) {
    match (&ex.request, &ex.reply) {
        (ServerLine::Query(request), Reply::Line(line)) => {
            let mut decoder = ResponseDecoder::new();
            let mut buf = BytesMut::from(&line[..]);
            let response = decoder.decode(&mut buf).unwrap().expect("a complete line");
            assert!(buf.is_empty());
            let mut again = BytesMut::new();
            response.encode(&mut again);
            assert_eq!(
                canonical(&again),
                canonical(line),
                "{file}: re-encoding {request:?}"
            );
            if let Response::Err(err) = &response {
                assert!(
                    !matches!(err.code, ErrorCode::Other(_)),
                    "{file}: {} has no ErrorCode variant",
                    err.code
                );
                // Every other text is the tracker's canned one, which a fake sends with
                // ErrLine::new(code).
                let specific = [
                    ErrorCode::SizeVerifyError,
                    ErrorCode::SizeMismatch,
                    ErrorCode::ChecksumMismatch,
                    ErrorCode::InvalidDestdev,
                    ErrorCode::InvalidReplpolicy,
                    ErrorCode::InvalidFormat,
                    ErrorCode::BadArgs,
                ];
                if !specific.contains(&err.code) {
                    assert_eq!(err.message, err.code.default_text(), "{file}: canned text");
                }
            }
            if let Some(callid) = request.args().get("callid") {
                assert_eq!(response.callid(), Some(callid), "{file}: callid echo");
            }
            if !check_typed(request, &response) {
                // Everything without a typed form is refused by this tracker.
                let Response::Err(err) = &response else {
                    panic!("{file}: untyped OK {line:?}")
                };
                assert!(
                    matches!(err.code, ErrorCode::UnknownCommand | ErrorCode::Failure),
                    "{file}: {request:?} -> {err:?}"
                );
            }
        }
        (ServerLine::Admin(cmd), Reply::Admin(lines)) => {
            let mut decoder = AdminReplyDecoder::new();
            let mut buf = BytesMut::new();
            let mut reply = None;
            for line in lines {
                assert!(reply.is_none(), "{file}: lines after the end of a ! reply");
                buf.extend_from_slice(line);
                reply = decoder.decode(&mut buf).unwrap();
            }
            let reply = reply.expect("the reply ends with a . line");
            assert_eq!(reply.lines.len(), lines.len() - 1);
            if cmd == b"version" {
                assert_eq!(reply.version(), Some("2.73"));
            }
            if lines.iter().all(|l| l.ends_with(b"\r\n")) {
                let mut again = BytesMut::new();
                reply.encode(&mut again);
                assert_eq!(
                    &again[..],
                    &lines.concat()[..],
                    "{file}: ! reply re-encoding"
                );
            }
        }
        (ServerLine::Query(r), Reply::Nothing) => {
            assert_eq!(
                r.command(),
                "sleep",
                "{file}: only the watchdog case goes unanswered"
            );
        }
        other => panic!("{file}: unexpected exchange {other:?}"),
    }
}

#[test]
fn every_capture_replays() {
    for (file, text, expected) in FILES {
        let exchanges = transcript::exchanges(&transcript::parse(text));
        assert_eq!(exchanges.len(), *expected, "{file}: exchange count");
        for ex in &exchanges {
            check_exchange(file, ex);
        }
    }
}

/// The request recovered for the exchange whose request line is exactly `line`.
fn captured_requests(file: &str) -> Vec<Request> {
    let text = FILES.iter().find(|(f, ..)| *f == file).unwrap().1;
    transcript::exchanges(&transcript::parse(text))
        .into_iter()
        .filter_map(|ex| match ex.request {
            ServerLine::Query(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn client_encoder_uses_the_perl_set_on_captured_requests() {
    // The capture tool escaped '/' and ':'; the Perl client (and we) leave them bare.
    let requests = captured_requests("tracker_create.txt");
    let close = requests
        .iter()
        .find(|r| r.command() == "create_close")
        .unwrap();
    let mut out = BytesMut::new();
    close.encode(&mut out);
    assert_eq!(
        &out[..],
        &b"create_close domain=testdom&key=wire/create-1&fid=1&devid=2&path=http://127.0.0.1:7500/dev2/0/000/000/0000000001.fid&size=11\r\n"[..]
    );
    let keys = captured_requests("tracker_keys_encoding.txt");
    let punct = keys
        .iter()
        .find(|r| {
            r.args()
                .get("key")
                .is_some_and(|k| k.starts_with(b"enc/punct"))
        })
        .unwrap();
    let mut out = BytesMut::new();
    punct.args().encode_into(&mut out);
    assert_eq!(
        &out[..],
        &b"domain=testdom&key=enc/punct+%21%22%23%24%27%28%29%2A,-.:%3B%3C%3E%3F%40%5B%5D%5E_%60%7B%7C%7D%7E&noverify=1"[..],
        "same bytes as the tracker's own escaping of that key in list_keys"
    );
}

/// The bytes the tracker client puts on the wire for a `callid` and for its probe are the ones
/// the real tracker was captured answering (`tracker_basic.txt`): the pipelined
/// `noop callid=1\r\nnoop callid=2\r\n`, and the bare `noop\r\n`.
#[test]
fn callid_lines_and_the_probe_are_byte_exact_with_the_capture() {
    let text = FILES
        .iter()
        .find(|(f, ..)| *f == "tracker_basic.txt")
        .unwrap()
        .1;
    let sent: Vec<Vec<u8>> = transcript::parse(text)
        .into_iter()
        .filter_map(|e| match e {
            transcript::Event::Sent(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    let mut line = RequestLine::new(&Noop::new().request());
    let mut pipelined = Vec::new();
    for callid in [1, 2] {
        line.set_callid(callid);
        pipelined.extend_from_slice(line.bytes());
    }
    assert!(
        sent.contains(&pipelined),
        "{:?}",
        String::from_utf8_lossy(&pipelined)
    );
    assert!(sent.iter().any(|s| s == Noop::PROBE_LINE));
    // The tracker reads the probe as a plain `noop`, without arguments.
    assert_eq!(
        Request::decode_line(Noop::PROBE_LINE).unwrap(),
        Some(Noop::new().request())
    );
}
