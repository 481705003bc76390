//! Codec benchmarks: `cargo bench -p imspec-codec --bench codec -- <group>`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imspec_codec::msnp::msgr;
use quick_xml::events::Event;

/// Seed 000's `<recentconversations-response>`, restored (escaped `<content>`, thread id).
const RECENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/msgr/valid/seed000-recentconversations-response.xml"
));

/// quick-xml's own event loop over `doc`: every event read, every text and reference touched.
fn raw_events(doc: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut touched = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return touched,
            Ok(Event::Text(t)) => touched += black_box(t.xml10_content()).len(),
            Ok(Event::GeneralRef(r)) => touched += black_box(r.len()),
            Ok(Event::Start(s) | Event::Empty(s)) => touched += s.name().as_ref().len(),
            Ok(_) => touched += 1,
        }
    }
}

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

criterion_group!(benches, msgr);
criterion_main!(benches);
