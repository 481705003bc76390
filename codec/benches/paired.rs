//! Paired comparisons of the codec's speed goals (README, "Benchmarks"):
//!
//! ```sh
//! cargo bench -p imspec-codec --bench paired            # every row
//! cargo bench -p imspec-codec --bench paired -- sipc     # rows whose name contains `sipc`
//! ```
//!
//! Each row times its subject and its baseline in alternating batches and prints the median
//! of the per-pair time ratios (see `support/paired.rs` for why: criterion's one-after-the-other
//! medians carry the machine's drift into a ratio). The subjects and baselines are those of the
//! `codec` bench's groups of the same names.

use std::hint::black_box;
use std::time::Instant;

use imspec_codec::msnp::msgr;
use imspec_codec::{Status, sipc};

#[path = "support/paired.rs"]
mod paired;
mod support;

use support::{RECENT, RELAYED_M, httparse_split, raw_events};

/// Nanoseconds that `n` calls of `f` take.
fn wall<R>(n: u64, f: &impl Fn() -> R) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    started.elapsed().as_nanos() as f64
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters the rows by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let row = |name: &'static str| {
        (filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))).then_some(name)
    };
    run(
        row("sipc/relayed_m parse vs httparse_split"),
        2_000,
        || httparse_split(black_box(RELAYED_M)).unwrap_or(0),
        || match sipc::parse(black_box(RELAYED_M)) {
            Ok(Status::Complete((msg, n))) => n + msg.headers.len(),
            _ => 0,
        },
    );
    run(
        row("sipc/relayed_m parse_ref vs httparse_split"),
        2_000,
        || httparse_split(black_box(RELAYED_M)).unwrap_or(0),
        // Bound by reference: moving the message out of the result copied its inline
        // header list.
        || match &sipc::parse_ref(black_box(RELAYED_M)) {
            Ok(Status::Complete((msg, n))) => n + msg.header_count(),
            _ => 0,
        },
    );
    run(
        row("msgr/recentconversations_response typed vs quick_xml_events"),
        200,
        || raw_events(black_box(RECENT)),
        || {
            msgr::RecentConversationsResponse::parse(black_box(RECENT))
                .map_or(0, |r| r.conversations.len())
        },
    );
}

/// One row, when `name` is `Some` (not filtered out): `batch` calls per timed batch of the
/// baseline and of the subject.
fn run<A, B>(name: Option<&str>, batch: u64, base: impl Fn() -> A, subject: impl Fn() -> B) {
    if let Some(name) = name {
        let p = paired::compare(401, batch, |n| wall(n, &base), |n| wall(n, &subject));
        println!("{name}: {p}");
    }
}
