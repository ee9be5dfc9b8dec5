//! The tracker's argument-parsing quirks (`protocol.md` 2.4), checked on the server-side parser
//! with hand-written expected maps. Each vector is a request line from
//! `testdata/tracker_keys_encoding.txt` or `tracker_basic.txt` (asserted below), except the
//! `0`-piece cases, which the captures do not exercise.

use mogile_protocol::{Args, Request};

const KEYS: &str = include_str!("../testdata/tracker_keys_encoding.txt");
const BASIC: &str = include_str!("../testdata/tracker_basic.txt");
const LIMITS: &str = include_str!("../testdata/tracker_line_limits.txt");

/// `(escaped request as in the capture, raw bytes, expected command, expected pairs)`.
type Vector = (
    &'static str,
    &'static [u8],
    &'static str,
    &'static [(&'static [u8], &'static [u8])],
);

const CAPTURED: &[Vector] = &[
    // '=' inside a value: only the text up to the second '=' is kept
    (
        r"file_info domain=testdom&key=enc/equals=sign\r\n",
        b"file_info domain=testdom&key=enc/equals=sign\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/equals")],
    ),
    // a raw '&' splits the argument; a piece without '=' is a name with an empty value
    (
        r"file_info domain=testdom&key=enc/amp&ersand\r\n",
        b"file_info domain=testdom&key=enc/amp&ersand\r\n",
        "file_info",
        &[
            (b"domain", b"testdom"),
            (b"key", b"enc/amp"),
            (b"ersand", b""),
        ],
    ),
    // malformed '%' sequences are kept literally
    (
        r"file_info domain=testdom&key=enc/percent%\r\n",
        b"file_info domain=testdom&key=enc/percent%\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/percent%")],
    ),
    (
        r"file_info domain=testdom&key=enc/%zz\r\n",
        b"file_info domain=testdom&key=enc/%zz\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/%zz")],
    ),
    // names are decoded too; '+' is a space
    (
        r"file_info dom%61in=testdom&k%65y=enc/with+space\r\n",
        b"file_info dom%61in=testdom&k%65y=enc/with+space\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/with space")],
    ),
    // a raw space inside the argument string is kept
    (
        r"file_info domain=testdom&key=enc/with space\r\n",
        b"file_info domain=testdom&key=enc/with space\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/with space")],
    ),
    // duplicate names are joined with NUL (hence unknown_key / unreg_domain in the capture)
    (
        r"file_info domain=testdom&key=enc/with+space&key=other\r\n",
        b"file_info domain=testdom&key=enc/with+space&key=other\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/with space\0other")],
    ),
    (
        r"file_info domain=testdom&domain=testdom&key=enc/with+space\r\n",
        b"file_info domain=testdom&domain=testdom&key=enc/with+space\r\n",
        "file_info",
        &[
            (b"domain", b"testdom\0testdom"),
            (b"key", b"enc/with space"),
        ],
    ),
    // empty pieces are dropped
    (
        r"file_info &&domain=testdom&&key=enc/with+space&&\r\n",
        b"file_info &&domain=testdom&&key=enc/with+space&&\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"enc/with space")],
    ),
    (
        r"file_info domain=testdom&key\r\n",
        b"file_info domain=testdom&key\r\n",
        "file_info",
        &[(b"domain", b"testdom"), (b"key", b"")],
    ),
    // lower-case hex and raw UTF-8 give the same bytes
    (
        r"file_info domain=testdom&key=enc/unicode-%c3%a9-%c3%bc-%e2%82%ac-%e2%98%83\r\n",
        b"file_info domain=testdom&key=enc/unicode-%c3%a9-%c3%bc-%e2%82%ac-%e2%98%83\r\n",
        "file_info",
        &[
            (b"domain", b"testdom"),
            (b"key", "enc/unicode-é-ü-€-☃".as_bytes()),
        ],
    ),
    (
        r"file_info domain=testdom&key=enc/unicode-\xc3\xa9-\xc3\xbc-\xe2\x82\xac-\xe2\x98\x83\r\n",
        "file_info domain=testdom&key=enc/unicode-é-ü-€-☃\r\n".as_bytes(),
        "file_info",
        &[
            (b"domain", b"testdom"),
            (b"key", "enc/unicode-é-ü-€-☃".as_bytes()),
        ],
    ),
    // command syntax: case, leading whitespace, tab separator, unknown arguments
    (r"NoOp\r\n", b"NoOp\r\n", "noop", &[]),
    (r"   noop\r\n", b"   noop\r\n", "noop", &[]),
    (
        r"noop\tfoo=bar\r\n",
        b"noop\tfoo=bar\r\n",
        "noop",
        &[(b"foo", b"bar")],
    ),
    (
        r"noop foo=bar&baz\r\n",
        b"noop foo=bar&baz\r\n",
        "noop",
        &[(b"foo", b"bar"), (b"baz", b"")],
    ),
    (
        r"noop callid=abc%20123\r\n",
        b"noop callid=abc%20123\r\n",
        "noop",
        &[(b"callid", b"abc 123")],
    ),
    (r"   \r\n", b"   \r\n", "", &[]),
    (
        r"get-paths domain=testdom&key=x\r\n",
        b"get-paths domain=testdom&key=x\r\n",
        "get",
        &[],
    ),
    // NUL and high bytes pass through
    (
        r"noop a=\x00\xff\r\n",
        b"noop a=\x00\xff\r\n",
        "noop",
        &[(b"a", b"\x00\xff")],
    ),
    (r"no\x00op\r\n", b"no\x00op\r\n", "no", &[]),
];

fn pairs(args: &Args) -> Vec<(Vec<u8>, Vec<u8>)> {
    args.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
}

fn expected(map: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
}

#[test]
fn captured_quirks_parse_as_the_tracker_does() {
    for (escaped, raw, command, map) in CAPTURED {
        let line = format!("> {escaped}");
        assert!(
            [KEYS, BASIC, LIMITS]
                .iter()
                .any(|t| t.lines().any(|l| l == line)),
            "not a captured request: {line}"
        );
        let request = Request::decode_line(raw).unwrap().unwrap();
        assert_eq!(request.command(), *command, "{escaped}");
        if command.is_empty() || *command == "get" || *command == "no" {
            // No handler knows these: the tracker answered unknown_command.
            continue;
        }
        assert_eq!(pairs(request.args()), expected(map), "{escaped}");
    }
}

#[test]
fn zero_pieces_and_falsy_first_values() {
    // A piece that is exactly "0" is dropped (Perl truthiness); "key=0" is a real piece.
    let args = Args::decode_server(b"0&domain=d&0&key=0&&");
    assert_eq!(pairs(&args), expected(&[(b"domain", b"d"), (b"key", b"0")]));
    // A repeated name after a false ("" or "0") value is appended without NUL.
    let args = Args::decode_server(b"key=0&key=x&cls=&cls=y&n=a&n=0");
    assert_eq!(
        pairs(&args),
        expected(&[(b"key", b"0x"), (b"cls", b"y"), (b"n", b"a\x000")])
    );
    // "=v" has an empty name; "a==b" has an empty value.
    let args = Args::decode_server(b"=v&a==b");
    assert_eq!(pairs(&args), expected(&[(b"", b"v"), (b"a", b"")]));
}

#[test]
fn empty_lines_are_skipped() {
    assert_eq!(Request::decode_line(b"\r\n").unwrap(), None);
    assert_eq!(Request::decode_line(b"\n").unwrap(), None);
}
