//! Hostile keys, classes, domains and command names cannot add, change or split an argument
//! or a request.

use bytes::BytesMut;
use mogile_protocol::*;

const HOSTILE: &[&str] = &[
    "a&domain=other&key=b",
    "x\r\nnoop",
    "x\nnoop callid=1",
    "x\rnoop",
    "=",
    "&",
    "%26",
    "+",
    " ",
    "0",
    "a\0b",
    "callid=7",
    "key=v&callid=1\r\n",
];

/// Encodes `cmd`, then reads the bytes back with the tracker's parser: exactly one request,
/// with exactly the arguments the command wrote.
fn one_request<C: Command>(cmd: &C) {
    let request = cmd.request();
    let mut wire = BytesMut::new();
    request.encode(&mut wire);
    assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1, "{wire:?}");
    assert_eq!(wire.iter().filter(|&&b| b == b'\r').count(), 1, "{wire:?}");
    assert!(wire.ends_with(b"\r\n"));
    let mut decoder = RequestDecoder::new();
    let parsed = decoder.decode(&mut wire).unwrap().expect("one request");
    assert!(wire.is_empty());
    assert_eq!(parsed.command(), C::NAME);
    let mut expected = Args::new();
    cmd.write_args(&mut expected);
    assert_eq!(parsed.args(), &expected, "{}", C::NAME);
    // The client's encoder, which escapes the arguments straight into the line, writes the
    // same bytes.
    let mut wire = BytesMut::new();
    request.encode(&mut wire);
    assert_eq!(RequestLine::of(cmd).bytes(), &wire[..], "{}", C::NAME);
}

#[test]
fn hostile_values_stay_inside_their_argument() {
    for h in HOSTILE {
        one_request(&GetPaths::new(*h, *h));
        one_request(&CreateOpen::new(*h).key(*h).class(*h).zone(*h));
        one_request(&CreateClose::new(*h, Fid(1), DevId(2), StoragePath::from(*h)).key(*h));
        one_request(&Rename::new(*h, *h, format!("{h}2")));
        one_request(&Delete::new(*h, *h));
        one_request(&UpdateFileClass::new(*h, *h, *h));
        one_request(&FileInfo::new(*h, *h));
        one_request(&ListKeys::new(*h).prefix(*h).after(*h));
        one_request(&CreateClass::new(*h, *h, 1).replpolicy(*h));
        one_request(&CreateDomain::new(*h));
        one_request(&CreateHost::new(*h, *h, 7500).status(*h));
        one_request(&SetServerSetting::new(*h, *h));
    }
}

#[test]
fn raw_requests_escape_names_and_values_too() {
    for h in HOSTILE {
        let request = Request::new("plugin_x").unwrap().arg(h, h);
        let mut wire = BytesMut::new();
        request.encode(&mut wire);
        let parsed = RequestDecoder::new().decode(&mut wire).unwrap().unwrap();
        assert!(wire.is_empty());
        assert_eq!(parsed.args().len(), 1);
        assert_eq!(parsed.args().get(h), Some(h.as_bytes()));
    }
}

#[test]
fn hostile_command_names_are_refused() {
    for name in [
        "noop\r\nnoop",
        "noop\n",
        "get_paths domain=x",
        "noop&a=b",
        "!version",
        "!shutdown",
        "",
        " noop",
        "NOOP",
    ] {
        assert!(
            matches!(Request::new(name), Err(RequestError::InvalidCommand(_))),
            "{name:?}"
        );
    }
}

#[test]
fn callid_cannot_be_smuggled_into_a_reply() {
    // A value holding "&callid=" stays one pair, so a forged echo cannot appear.
    let args = Args::new().with("key", "k&callid=666");
    let mut line = BytesMut::new();
    Response::Ok(args).encode(&mut line);
    let reply = Response::decode_line(&line).unwrap();
    assert_eq!(reply.callid(), None);
}
