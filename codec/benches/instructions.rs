//! Fixed-count loops for instruction counting under callgrind, where criterion's timed loops
//! would make the counts depend on the machine's speed:
//!
//! ```sh
//! cargo bench -p imspec-codec --bench instructions --no-run
//! valgrind --tool=callgrind target/release/deps/instructions-* sipc_parse 100000
//! ```
//!
//! Each subject runs `N` times on seed 004's relayed `M`; the instructions per parse are the
//! total minus an `N = 0` run, divided by `N`. Subjects: `sipc_parse`, `httparse_split`
//! (the baseline of the `sipc` group in `codec.rs`), `line_scan` (a bare CRLF scan of the
//! head, the stretch goal's floor), `utf8` (the one UTF-8 validation of the head); and on
//! seed 000's `<recentconversations-response>`, `msgr_typed` (the typed decode, with a UTF-8
//! check of the document) and `msgr_events` (quick-xml's bare event loop, the same check).

use std::hint::black_box;

use imspec_codec::{Status, sipc};

mod support;

/// One call of a subject on its input.
type Subject = fn(&[u8]) -> usize;

fn main() {
    let mut args = std::env::args().skip(1);
    let subject = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    // A copy on the heap, whose start malloc aligns to 16 bytes: the static's own alignment
    // moves with every change to the binary, and `str::from_utf8` reads word by word only
    // from an aligned address, so `sipc_parse` counted about 100 instructions more or less
    // per call depending on where the linker put the static.
    let owned = support::RELAYED_M.to_vec();
    let buf = owned.as_slice();
    let head = &buf[..support::head_len(buf)];
    let (run, input): (Subject, &[u8]) = match subject.as_str() {
        "sipc_parse" => (
            |b| match sipc::parse(b) {
                Ok(Status::Complete((msg, n))) => n + msg.headers.len(),
                _ => 0,
            },
            buf,
        ),
        "sipc_parse_ref" => (
            // Bound by reference: moving the message out of the result copied its inline
            // header list.
            |b| match &sipc::parse_ref(b) {
                Ok(Status::Complete((msg, n))) => n + msg.header_count(),
                _ => 0,
            },
            buf,
        ),
        "httparse_split" => (|b| support::httparse_split(b).unwrap_or(0), buf),
        "line_scan" => (support::line_scan, buf),
        "utf8" => (|b| std::str::from_utf8(b).map_or(0, str::len), head),
        "msgr_typed" => (
            |b| {
                let doc = std::str::from_utf8(b).unwrap_or_default();
                imspec_codec::msnp::msgr::RecentConversationsResponse::parse(doc)
                    .map_or(0, |r| r.conversations.len())
            },
            support::RECENT.as_bytes(),
        ),
        "msgr_events" => (
            |b| support::raw_events(std::str::from_utf8(b).unwrap_or_default()),
            support::RECENT.as_bytes(),
        ),
        other => {
            eprintln!(
                "unknown subject {other:?}: sipc_parse, sipc_parse_ref, httparse_split, line_scan, utf8, \
                 msgr_typed, msgr_events"
            );
            std::process::exit(2);
        }
    };
    let mut total = 0usize;
    for _ in 0..n {
        total = total.wrapping_add(run(black_box(input)));
    }
    println!("{subject} x{n}: {total}");
}
