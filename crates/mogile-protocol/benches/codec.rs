//! Codec throughput: encoding `create_open`, decoding `get_paths`, `create_open` and a
//! 1000-key `list_keys` reply (target: at least 2 million `get_paths` decodes per second).

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mogile_protocol::{
    Args, Command, CreateOpen, GetPaths, Key, KeyPage, ListKeys, Response, ResponseDecoder,
};

const GET_PATHS: &[u8] = b"OK paths=2&path1=http://127.0.0.2:7600/dev4/0/000/090/0000090014.fid&path2=http://127.0.0.1:7500/dev1/0/000/090/0000090014.fid\r\n";
const CREATE_OPEN: &[u8] = b"OK dev_count=3&path_1=http://127.0.0.2:7600/dev3/0/000/000/0000000002.fid&path_2=http://127.0.0.2:7600/dev4/0/000/000/0000000002.fid&fid=2&devid_3=1&devid_1=3&path_3=http://127.0.0.1:7500/dev1/0/000/000/0000000002.fid&devid_2=4\r\n";

fn list_keys_line() -> Vec<u8> {
    let keys: Vec<Key> = (0..1000)
        .map(|i| Key::from(format!("photos/2026/11/img {i:06}.jpg")))
        .collect();
    let page = KeyPage {
        next_after: keys.last().cloned(),
        keys,
    };
    let mut args = Args::new();
    ListKeys::encode_output(&page, &mut args);
    let mut line = BytesMut::new();
    Response::Ok(args).encode(&mut line);
    line.to_vec()
}

/// One complete decode: bytes into the stream buffer, framing, `Response`, typed output.
fn decode<C: Command>(decoder: &mut ResponseDecoder, buf: &mut BytesMut, line: &[u8]) -> C::Output {
    buf.extend_from_slice(line);
    let reply = decoder
        .decode(buf)
        .expect("a valid line")
        .expect("a complete line");
    C::parse_reply(reply).expect("a valid reply")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));

    let cmd = CreateOpen::new("testdom")
        .key("wire/create 1")
        .class("c2")
        .multi_dest(true);
    let mut out = BytesMut::with_capacity(256);
    group.bench_function("encode_create_open", |b| {
        b.iter(|| {
            out.clear();
            black_box(&cmd).request().encode(&mut out);
            black_box(&out);
        })
    });

    let mut decoder = ResponseDecoder::new();
    let mut buf = BytesMut::with_capacity(1 << 20);
    group.bench_function("decode_get_paths", |b| {
        b.iter(|| {
            black_box(decode::<GetPaths>(
                &mut decoder,
                &mut buf,
                black_box(GET_PATHS),
            ))
        })
    });
    group.bench_function("decode_create_open", |b| {
        b.iter(|| {
            black_box(decode::<CreateOpen>(
                &mut decoder,
                &mut buf,
                black_box(CREATE_OPEN),
            ))
        })
    });
    let line = list_keys_line();
    group.bench_function("decode_list_keys_1000", |b| {
        b.iter(|| black_box(decode::<ListKeys>(&mut decoder, &mut buf, black_box(&line))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
