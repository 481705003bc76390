//! Paired comparisons: a subject and its baseline timed in alternating batches, and the
//! ratio read per pair.
//!
//! Criterion measures one function after the other. On a shared machine the speed of a core
//! drifts between the two (neighbours' load, frequency), and a ratio of two medians taken
//! seconds apart carries that drift: the same build gave the MSGR row 0.86× and 1.19× in two
//! runs minutes apart. Here each pair is a batch of the baseline and a batch of the subject
//! run back to back (which goes first alternates), so both see the same machine, and the
//! median of the per-pair ratios is the figure. The quartiles say how much the pairs agree.
//!
//! Used by `codec/benches/paired.rs` and `harness/benches/paired.rs` (the latter includes this
//! file by path).

use std::fmt;

/// What one comparison found.
pub(crate) struct Paired {
    /// Median over the pairs of subject time / baseline time.
    pub(crate) median: f64,
    /// First and third quartiles of the same ratios.
    pub(crate) quartiles: (f64, f64),
    /// Median time of one call of the baseline and of the subject, in nanoseconds.
    pub(crate) per_call: (f64, f64),
    /// Pairs timed, and calls per batch.
    pub(crate) pairs: usize,
    pub(crate) batch: u64,
}

/// Times `pairs` pairs of batches: `baseline(batch)` and `subject(batch)` each return the
/// time (any unit, the same for both) that `batch` calls took. One batch of each runs first
/// as a warm-up and is not counted.
pub(crate) fn compare(
    pairs: usize,
    batch: u64,
    mut baseline: impl FnMut(u64) -> f64,
    mut subject: impl FnMut(u64) -> f64,
) -> Paired {
    baseline(batch);
    subject(batch);
    let mut ratios = Vec::with_capacity(pairs);
    let mut base_times = Vec::with_capacity(pairs);
    let mut subject_times = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let (b, s) = if i % 2 == 0 {
            let b = baseline(batch);
            (b, subject(batch))
        } else {
            let s = subject(batch);
            (baseline(batch), s)
        };
        ratios.push(s / b.max(f64::MIN_POSITIVE));
        base_times.push(b);
        subject_times.push(s);
    }
    let per_call = |times: &mut Vec<f64>| quantile(times, 0.5) / batch.max(1) as f64;
    Paired {
        median: quantile(&mut ratios, 0.5),
        quartiles: (quantile(&mut ratios, 0.25), quantile(&mut ratios, 0.75)),
        per_call: (per_call(&mut base_times), per_call(&mut subject_times)),
        pairs,
        batch,
    }
}

/// The `q` quantile (nearest rank) of `values`; 0 when empty.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let Some(last) = values.len().checked_sub(1) else {
        return 0.0;
    };
    let at = ((last as f64) * q).round() as usize;
    values.get(at.min(last)).copied().unwrap_or(0.0)
}

/// Nanoseconds written in the unit that suits them.
struct Nanos(f64);

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n < 1e3 => write!(f, "{n:.0} ns"),
            n if n < 1e6 => write!(f, "{:.2} µs", n / 1e3),
            n => write!(f, "{:.2} ms", n / 1e6),
        }
    }
}

impl fmt::Display for Paired {
    /// `1.04× (quartiles 1.01–1.08; baseline 8.10 µs, subject 8.42 µs per call; 401 pairs of
    /// 200)`; times are in nanoseconds when the closures return nanoseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2}× (quartiles {:.2}–{:.2}; baseline {}, subject {} per call; {} pairs of {})",
            self.median,
            self.quartiles.0,
            self.quartiles.1,
            Nanos(self.per_call.0),
            Nanos(self.per_call.1),
            self.pairs,
            self.batch,
        )
    }
}
