//! Codec benchmarks: `cargo bench -p imspec-codec --bench codec -- <group>`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imspec_codec::msnp::msgr;
use imspec_codec::{Status, sipc};

mod support;
use support::{RECENT, RELAYED_M, httparse_split, line_scan, raw_events};

fn msgr(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgr");
    group.throughput(Throughput::Bytes(RECENT.len() as u64));
    group.bench_function("recentconversations_response/quick_xml_events", |b| {
        b.iter(|| raw_events(black_box(RECENT)));
    });
    group.bench_function("recentconversations_response/typed", |b| {
        b.iter(|| msgr::RecentConversationsResponse::parse(black_box(RECENT)));
    });
    group.bench_function("recentconversations_response/document", |b| {
        b.iter(|| msgr::parse_document(black_box(RECENT)));
    });
    let value = msgr::RecentConversationsResponse::parse(RECENT).ok();
    let mut out = Vec::with_capacity(RECENT.len());
    group.bench_function("recentconversations_response/encode", |b| {
        b.iter(|| {
            out.clear();
            if let Some(v) = &value {
                v.encode(&mut out);
            }
            out.len()
        });
    });
    group.finish();
}

fn sipc(c: &mut Criterion) {
    let mut group = c.benchmark_group("sipc");
    group.throughput(Throughput::Bytes(RELAYED_M.len() as u64));
    assert_eq!(httparse_split(RELAYED_M), Some(RELAYED_M.len()));
    group.bench_function("relayed_m/httparse_split", |b| {
        b.iter(|| httparse_split(black_box(RELAYED_M)));
    });
    group.bench_function("relayed_m/line_scan", |b| {
        b.iter(|| line_scan(black_box(RELAYED_M)));
    });
    group.bench_function("relayed_m/parse", |b| {
        b.iter(|| match sipc::parse(black_box(RELAYED_M)) {
            Ok(Status::Complete((msg, n))) => n + msg.headers.len(),
            _ => 0,
        });
    });
    let msg = match sipc::parse(RELAYED_M) {
        Ok(Status::Complete((msg, _))) => Some(msg),
        _ => None,
    };
    let mut out = Vec::with_capacity(RELAYED_M.len());
    group.bench_function("relayed_m/encode", |b| {
        b.iter(|| {
            out.clear();
            if let Some(m) = &msg {
                m.encode(&mut out);
            }
            out.len()
        });
    });
    group.finish();
}

/// A direct message as leancloud-realtime 4.3.1 sends it in lc.protobuf2.3 (receipt wanted).
const LC_DIRECT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/leancloud/valid/sdk-bin-08-c2s-direct.bin"
));

/// The same frame in lc.proto2base64.3.
const LC_DIRECT_B64: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/leancloud/valid/sdk-b64-06-c2s-direct.b64"
));

/// LeanCloud decode (prost, then the wire scan only when needed) against prost alone as the
/// baseline, both on the SDK's direct message; the wire scan alone (`check`, what a refused
/// frame costs on top); base64 decode; encode.
fn leancloud(c: &mut Criterion) {
    use imspec_codec::leancloud::{self, Format, GenericCommand, Message as _};
    let mut group = c.benchmark_group("leancloud");
    group.throughput(Throughput::Bytes(LC_DIRECT.len() as u64));
    group.bench_function("direct/prost_decode", |b| {
        b.iter(|| GenericCommand::decode(black_box(LC_DIRECT)).map(|c| c.i));
    });
    group.bench_function("direct/decode", |b| {
        b.iter(|| leancloud::decode(black_box(LC_DIRECT), Format::Protobuf2).map(|c| c.i));
    });
    group.bench_function("direct/check", |b| {
        b.iter(|| leancloud::check(black_box(LC_DIRECT)));
    });
    group.bench_function("direct/decode_base64", |b| {
        b.iter(|| leancloud::decode(black_box(LC_DIRECT_B64), Format::Proto2Base64).map(|c| c.i));
    });
    let cmd = leancloud::decode(LC_DIRECT, Format::Protobuf2).unwrap_or_default();
    let mut out = Vec::with_capacity(LC_DIRECT.len());
    group.bench_function("direct/encode", |b| {
        b.iter(|| {
            out.clear();
            leancloud::encode(black_box(&cmd), Format::Protobuf2, &mut out);
            out.len()
        });
    });
    group.finish();
}

criterion_group!(benches, msgr, sipc, leancloud);
criterion_main!(benches);
