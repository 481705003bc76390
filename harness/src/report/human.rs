//! Console output: a progress line for long runs, each failure with its step, rule, expected
//! vs actual (the differing part marked) and the last frames of the wire log, and a summary.

use std::fmt::Write as _;

use crate::runner::{CaseResult, Direction, Verdict, Way, WireEntry};

use super::Summary;

/// Frames of the wire log shown for a failure.
pub const LAST_FRAMES: usize = 8;

/// The progress line after `done` of `total` cases (no newline: callers print it with `\r`).
pub fn progress(done: usize, total: usize, failed: usize) -> String {
    let width = 30;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    format!(
        "[{}{}] {done}/{total} cases, {failed} failed",
        "#".repeat(filled),
        "-".repeat(width - filled)
    )
}

/// One line per case: `PASS fetion/001-… (12 ms)`.
pub fn case_line(r: &CaseResult) -> String {
    format!(
        "{:<10} {} ({} ms)",
        r.verdict.name().to_uppercase(),
        r.id,
        r.duration_ms
    )
}

/// The details of a case that did not pass; `color` adds ANSI colours.
pub fn failure_text(r: &CaseResult, color: bool) -> String {
    let (red, green, dim, reset) = if color {
        ("\x1b[31m", "\x1b[32m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{red}{}{reset} {} — {}",
        r.verdict.name().to_uppercase(),
        r.id,
        r.title
    );
    if !r.runs.is_empty() {
        let _ = writeln!(
            out,
            "  runs   {} (the first failing run follows)",
            runs_text(r)
        );
    }
    for rule in &r.rules {
        let _ = writeln!(
            out,
            "  rule   {} ({}, evidence {}): {}",
            rule.id, rule.level, rule.evidence, rule.text
        );
        let _ = writeln!(out, "         source: {}", rule.source);
    }
    let Some(f) = &r.failure else {
        if r.verdict == Verdict::Xpass {
            let _ = writeln!(
                out,
                "  passed, but the profile's baseline expects it to fail: remove it from the baseline"
            );
        }
        return out;
    };
    if !f.location.is_empty() {
        let _ = writeln!(out, "  step   {} at {}: {}", f.step, f.location, f.action);
    }
    if let Some(n) = &f.note {
        let _ = writeln!(out, "  note   {n}");
    }
    let _ = writeln!(out, "  reason {}", f.reason);
    if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
        let at = first_difference(e, a);
        let _ = writeln!(out, "  expected {green}{}{reset}", e);
        let (same, differs) = split_at_char(a, at);
        let _ = writeln!(out, "  actual   {same}{red}{differs}{reset}");
        // A caret at column 0 says nothing: the two share no prefix.
        if !color && at > 0 && at < a.chars().count().max(e.chars().count()) && !a.contains('\n') {
            let _ = writeln!(out, "           {}^ differs here", " ".repeat(at));
        }
    } else if let Some(a) = &f.actual {
        let _ = writeln!(out, "  actual   {a}");
    }
    if !r.wire.is_empty() {
        let _ = writeln!(out, "  last frames:");
        let skip = r.wire.len().saturating_sub(LAST_FRAMES);
        wire_lines(&mut out, r.wire.get(skip..).unwrap_or_default(), dim, reset);
    }
    out
}

/// A case's whole wire log (`--trace`, `-vv`): its verdict line, then every frame and event.
pub fn trace_text(r: &CaseResult, color: bool) -> String {
    let (dim, reset) = if color {
        ("\x1b[2m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut out = format!("{}\n", case_line(r));
    if r.wire.is_empty() {
        out.push_str("  (nothing on the wire)\n");
    }
    wire_lines(&mut out, &r.wire, dim, reset);
    out
}

fn wire_lines(out: &mut String, wire: &[WireEntry], dim: &str, reset: &str) {
    for w in wire {
        let arrow = match w.dir {
            Direction::Wire(Way::Send) => "->",
            Direction::Wire(Way::Recv) => "<-",
            Direction::Event => "--",
        };
        let _ = writeln!(
            out,
            "    {dim}{:>9.1} ms{reset} {:<10} {arrow} {}",
            w.t_ms, w.actor, w.text
        );
    }
}

/// Whether the console report is coloured: as `--color always|never` says (`forced`), else
/// on a terminal unless `NO_COLOR` is set and not empty (<https://no-color.org>).
pub fn color_enabled(forced: Option<bool>, tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    forced.unwrap_or_else(|| tty && no_color.is_none_or(|v| v.is_empty()))
}

/// The closing summary line: `, N flaky` only when a case was flaky; skips counted per reason
/// (`3 skipped (2 no target for service sip; 1 the target does not claim capability …)`).
pub fn summary(results: &[CaseResult], elapsed_ms: u128) -> String {
    let s = Summary::of(results);
    let flaky = if s.flaky > 0 {
        format!(", {} flaky", s.flaky)
    } else {
        String::new()
    };
    let mut reasons = std::collections::BTreeMap::<&str, usize>::new();
    for r in results.iter().filter(|r| r.verdict == Verdict::Skip) {
        *reasons
            .entry(r.failure.as_ref().map_or("", |f| f.reason.as_str()))
            .or_default() += 1;
    }
    let why = if reasons.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        format!(" ({})", parts.join("; "))
    };
    format!(
        "{} cases: {} passed, {} failed{flaky}, {} non-strict, {} skipped{why}, {} xfail, {} xpass in {:.2} s",
        results.len(),
        s.pass,
        s.fail,
        s.non_strict,
        s.skip,
        s.xfail,
        s.xpass,
        elapsed_ms as f64 / 1000.0
    )
}

/// A repeated case's runs by verdict: `18 pass, 2 fail`.
pub fn runs_text(r: &CaseResult) -> String {
    r.runs
        .iter()
        .map(|(v, n)| format!("{n} {}", v.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The character index where `a` and `b` first differ.
pub fn first_difference(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn split_at_char(s: &str, n: usize) -> (&str, &str) {
    let idx = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    s.split_at(idx)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn issue_15_colours_honour_no_color_and_the_flag() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(color_enabled(None, true, None));
        assert!(color_enabled(None, true, empty));
        assert!(!color_enabled(None, true, set));
        assert!(!color_enabled(None, false, None));
        assert!(color_enabled(Some(true), false, set));
        assert!(!color_enabled(Some(false), true, None));
    }
}
