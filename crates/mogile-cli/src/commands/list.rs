//! `mogile ls`: every key under a prefix, streamed as the pages arrive.

use futures::{FutureExt, Stream, StreamExt};
use mogilefs::{FileInfoOutput, Key, ListOptions};
use serde_json::Value;

use super::{Ctx, op_failure};
use crate::exit::{Failure, Kind};
use crate::key_text::{display, json as key_json, quoting};

/// How many `file_info` requests `ls -l` keeps in flight.
const INFO_CONCURRENCY: usize = 8;

/// How each key is written.
#[derive(Debug, Clone, Copy)]
struct Format {
    long: bool,
    null: bool,
    json: bool,
    /// Keys shown with `display` (a terminal), else written as they are (a pipe or a file).
    quote: bool,
}

/// `mogile ls [PREFIX] [-l] [-0]`.
pub(crate) async fn ls(
    ctx: &mut Ctx,
    prefix: Vec<u8>,
    long: bool,
    null: bool,
    page_size: Option<u32>,
) -> Result<(), Failure> {
    let what = match prefix.is_empty() {
        true => "ls".to_string(),
        false => format!("ls {}", display(&prefix)),
    };
    let fmt = Format {
        long,
        null,
        json: ctx.out.is_json(),
        quote: quoting(),
    };
    let mut opts = ListOptions::new().prefix(&prefix);
    if let Some(n) = page_size {
        opts = opts.limit(n);
    }
    let keys = ctx.client.keys_opts(&opts);
    let result = if long {
        let client = ctx.client.clone();
        let rows = keys
            .map(move |key| {
                let client = client.clone();
                async move {
                    let key = key?;
                    match client.file_info(key.clone()).await {
                        Ok(info) => Ok(Some((key, Some(info)))),
                        // Deleted between the listing and the lookup: no longer there to show.
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(INFO_CONCURRENCY)
            .filter_map(|row| async move { row.transpose() });
        write_all(ctx, &what, fmt, Box::pin(rows)).await
    } else {
        write_all(ctx, &what, fmt, keys.map(|k| k.map(|k| (k, None)))).await
    };
    match result {
        // `mogile ls | head`: the reader has what it wanted.
        Err(f) if f.kind() == Kind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes every row, flushing stdout whenever the next row is not ready yet (between pages), so
/// the listing streams without a write per key.
async fn write_all<S>(ctx: &mut Ctx, what: &str, fmt: Format, mut rows: S) -> Result<(), Failure>
where
    S: Stream<Item = mogilefs::Result<(Key, Option<FileInfoOutput>)>> + Unpin,
{
    loop {
        let next = match rows.next().now_or_never() {
            Some(next) => next,
            None => {
                ctx.out.flush()?;
                rows.next().await
            }
        };
        let Some(row) = next else {
            return Ok(());
        };
        let (key, info) = row.map_err(|e| op_failure(what, &e, false))?;
        let bytes = render(key.as_bytes(), info.as_ref(), fmt);
        ctx.out.bytes(&bytes)?;
    }
}

/// One key's output (see `docs/cli.md`).
fn render(key: &[u8], info: Option<&FileInfoOutput>, fmt: Format) -> Vec<u8> {
    let fields = info.map(|i| (i.length, i.class.as_str(), i.fid.0, i.devcount));
    if fmt.json {
        let mut obj = serde_json::Map::new();
        obj.insert("key".into(), key_json(key));
        if let Some((size, class, fid, devcount)) = fields {
            obj.insert("size".into(), size.into());
            obj.insert("class".into(), class.into());
            obj.insert("fid".into(), fid.into());
            obj.insert("devcount".into(), devcount.into());
        }
        let mut line = Value::Object(obj).to_string().into_bytes();
        line.push(b'\n');
        return line;
    }
    let mut out = match fields.filter(|_| fmt.long) {
        Some((size, class, fid, devcount)) => {
            let class = display(class);
            format!("{size}\t{class}\t{fid}\t{devcount}\t").into_bytes()
        }
        None => Vec::new(),
    };
    if fmt.null {
        out.extend_from_slice(key);
        out.push(0);
    } else if fmt.quote {
        out.extend_from_slice(display(key).as_bytes());
        out.push(b'\n');
    } else {
        out.extend_from_slice(key);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mogilefs::{DevId, Fid};

    fn info() -> FileInfoOutput {
        FileInfoOutput {
            fid: Fid(42),
            domain: "d".into(),
            class: "c2".into(),
            key: "k".into(),
            length: 1000,
            devcount: 2,
            devids: Some(vec![DevId(1), DevId(3)]),
            checksum: None,
        }
    }

    /// On a terminal.
    const TEXT: Format = Format {
        long: false,
        null: false,
        json: false,
        quote: true,
    };

    /// To a pipe or a file.
    const PIPE: Format = Format {
        quote: false,
        ..TEXT
    };

    #[test]
    fn text_lines_on_a_terminal_are_quoted() {
        assert_eq!(render(b"a\nb", None, TEXT), b"$'a\\nb'\n");
        assert_eq!(render(b"50%", None, TEXT), b"50%\n");
        assert_eq!(render(b"a b", None, TEXT), b"'a b'\n");
        assert_eq!(render(b"\xff", None, TEXT), b"$'\\xff'\n");
        let long = Format { long: true, ..TEXT };
        assert_eq!(render(b"k", Some(&info()), long), b"1000\tc2\t42\t2\tk\n");
    }

    #[test]
    fn text_lines_to_a_pipe_are_the_keys_as_they_are() {
        for key in [
            &b"50%"[..],
            b"a b",
            "caf\u{e9}".as_bytes(),
            b"a\nb",
            b"\xff",
        ] {
            let mut want = key.to_vec();
            want.push(b'\n');
            assert_eq!(render(key, None, PIPE), want);
        }
        let long = Format { long: true, ..PIPE };
        assert_eq!(
            render(b"a b", Some(&info()), long),
            b"1000\tc2\t42\t2\ta b\n"
        );
    }

    #[test]
    fn tracker_text_is_escaped() {
        let mut hostile = info();
        hostile.class = "c\u{1b}[2J".into();
        let long = Format { long: true, ..TEXT };
        assert_eq!(
            render(b"k\x1b]0;x\x07", Some(&hostile), long),
            b"1000\t$'c\\x1b[2J'\t42\t2\t$'k\\x1b]0;x\\x07'\n"
        );
        // The class is the tracker's text, so it is quoted on a pipe too.
        let long = Format { long: true, ..PIPE };
        assert_eq!(
            render(b"k", Some(&hostile), long),
            b"1000\t$'c\\x1b[2J'\t42\t2\tk\n"
        );
    }

    #[test]
    fn nul_separated_raw_keys() {
        let null = Format { null: true, ..TEXT };
        assert_eq!(render(b"a\nb\xff", None, null), b"a\nb\xff\0");
        let both = Format {
            long: true,
            null: true,
            ..TEXT
        };
        assert_eq!(
            render(b"k\t", Some(&info()), both),
            b"1000\tc2\t42\t2\tk\t\0"
        );
    }

    #[test]
    fn ndjson() {
        let json = Format { json: true, ..TEXT };
        assert_eq!(render(b"k", None, json), b"{\"key\":\"k\"}\n");
        let line = render(b"\xff", Some(&info()), Format { long: true, ..json });
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"key": {"hex": "ff"}, "size": 1000, "class": "c2", "fid": 42, "devcount": 2})
        );
    }
}
