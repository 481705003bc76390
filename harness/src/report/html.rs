//! The HTML report (`imspec run --html DIR`, `imspec report html REPORT.json DIR`): a static,
//! self-contained site (inline CSS, JS and SVG; it fetches nothing) that opens from `file://`.
//!
//! * `index.html`: totals per protocol and verdict, a parity table per `@<variant>` twin
//!   (`@gateway`, `@chop`, …), the cases with a filter by verdict and protocol and a search by
//!   id or rule, each linking to its page;
//! * `cases/<id>.html`: title, rules with their sources, verdict, the failing step with
//!   expected vs actual as the console shows them, and a sequence diagram (SVG) of the wire log:
//!   one lifeline per actor and per service it talked to, one arrow per frame (labelled with
//!   the method, status, verb or command and its pairing key), connects, closes and barriers
//!   marked, and where the failing step waited. Clicking an arrow shows the frame decoded by
//!   its protocol module (the codec) and its raw bytes; the page opens on the frame that failed
//!   the case, or on frame N with `#eN` in its address.
//!
//! Verdicts are rendered from their names (a verdict added later shows up as it is named), and
//! everything is a pure function of the results, so an old run's JSON redraws the same site.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use imspec_codec::Status;

use super::human::first_difference;
use crate::proto::{self, Frame};
use crate::runner::{CaseResult, Direction, WireEntry};

/// Bytes of a frame shown in its hex dump.
pub const MAX_HEX: usize = 64 * 1024;
const ROW: usize = 26;
const TOP: usize = 56;
const LANE: usize = 190;
const LEFT: usize = 110;

/// Writes `index.html` and `cases/*.html` into `dir` (created if needed).
pub fn write(results: &[CaseResult], dir: &Path) -> io::Result<()> {
    let cases = dir.join("cases");
    std::fs::create_dir_all(&cases)?;
    let files = file_names(results);
    std::fs::write(dir.join("index.html"), index(results, &files))?;
    for (r, f) in results.iter().zip(&files) {
        std::fs::write(cases.join(f), case_page(r))?;
    }
    Ok(())
}

/// The file name of each case's page (its id made safe, unique).
pub fn file_names(results: &[CaseResult]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    results
        .iter()
        .map(|r| {
            let safe: String =
                r.id.replace('/', "--")
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
            let n = seen.entry(safe.clone()).or_default();
            *n += 1;
            if *n == 1 {
                format!("{safe}.html")
            } else {
                format!("{safe}~{n}.html")
            }
        })
        .collect()
}

/// The protocol of a case: its id's first segment.
pub fn protocol_of(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// The cases that ran as `<id>@<variant>` twins, per variant: (id, verdict of `<id>`,
/// verdict of the twin).
pub fn parity(results: &[CaseResult]) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for twin in results {
        let Some((base, variant)) = twin.id.rsplit_once('@') else {
            continue;
        };
        let Some(b) = results.iter().find(|b| b.id == base) else {
            continue;
        };
        out.entry(variant.to_owned()).or_default().push((
            base.to_owned(),
            b.verdict.name().to_owned(),
            twin.verdict.name().to_owned(),
        ));
    }
    out
}

/// `index.html`; `files` are the case pages' names ([`file_names`]).
pub fn index(results: &[CaseResult], files: &[String]) -> String {
    let mut verdicts: Vec<&str> = results.iter().map(|r| r.verdict.name()).collect();
    verdicts.sort_unstable();
    verdicts.dedup();
    let mut totals: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in results {
        *totals
            .entry(protocol_of(&r.id))
            .or_default()
            .entry(r.verdict.name())
            .or_default() += 1;
    }
    let mut h = head("imspec report", "");
    let _ = write!(
        h,
        "<h1>imspec report</h1><p class=sub>{} cases</p><h2>Totals</h2><table class=totals><tr><th>protocol</th>",
        results.len()
    );
    for v in &verdicts {
        let _ = write!(h, "<th>{}</th>", badge(v));
    }
    h.push_str("<th>total</th></tr>");
    for (p, counts) in &totals {
        let _ = write!(h, "<tr><td>{}</td>", esc(p));
        for v in &verdicts {
            let _ = write!(h, "<td>{}</td>", counts.get(v).copied().unwrap_or(0));
        }
        let _ = write!(h, "<td>{}</td></tr>", counts.values().sum::<usize>());
    }
    h.push_str("<tr class=sum><td>all</td>");
    for v in &verdicts {
        let n = results.iter().filter(|r| r.verdict.name() == *v).count();
        let _ = write!(h, "<td>{n}</td>");
    }
    let _ = write!(h, "<td>{}</td></tr></table>", results.len());
    for (variant, pairs) in parity(results) {
        let differ = pairs.iter().filter(|(_, a, b)| a != b).count();
        let _ = write!(
            h,
            "<h2>Parity: @{v}</h2><p class=sub>{n} cases ran plain and as <code>@{v}</code>: {same} with the same verdict, {differ} differ</p><table class=parity data-variant=\"{v}\"><tr><th>case</th><th>plain</th><th>@{v}</th></tr>",
            v = esc(&variant),
            n = pairs.len(),
            same = pairs.len() - differ,
        );
        for (id, a, b) in &pairs {
            let _ = write!(
                h,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                if a == b { "same" } else { "differs" },
                esc(id),
                badge(a),
                badge(b)
            );
        }
        h.push_str("</table>");
    }
    h.push_str(
        "<h2>Cases</h2><div class=filters><select id=fv><option value=\"\">every verdict</option>",
    );
    for v in &verdicts {
        let _ = write!(h, "<option>{}</option>", esc(v));
    }
    h.push_str("</select> <select id=fp><option value=\"\">every protocol</option>");
    for p in totals.keys() {
        let _ = write!(h, "<option>{}</option>", esc(p));
    }
    h.push_str("</select> <input id=q type=search placeholder=\"search id or rule\" size=30> <span id=shown></span></div>");
    h.push_str("<table id=cases><tr><th>case</th><th>title</th><th>verdict</th><th>rules</th><th>ms</th></tr>");
    for (r, f) in results.iter().zip(files) {
        let rules: Vec<&str> = r.rules.iter().map(|x| x.id.as_str()).collect();
        let search = format!("{} {}", r.id, rules.join(" ")).to_lowercase();
        let _ = write!(
            h,
            "<tr class=case data-verdict=\"{v}\" data-protocol=\"{p}\" data-search=\"{s}\"><td><a href=\"cases/{f}\">{id}</a></td><td>{t}</td><td>{b}</td><td class=rules>{rules}</td><td class=num>{ms}</td></tr>",
            v = esc(r.verdict.name()),
            p = esc(protocol_of(&r.id)),
            s = esc(&search),
            f = esc(f),
            id = esc(&r.id),
            t = esc(&r.title),
            b = badge(r.verdict.name()),
            rules = esc(&rules.join(", ")),
            ms = r.duration_ms,
        );
    }
    h.push_str("</table>");
    h.push_str(INDEX_JS);
    h.push_str("</body></html>\n");
    h
}

/// One case's page.
pub fn case_page(r: &CaseResult) -> String {
    let mut h = head(&r.id, "../");
    let _ = write!(
        h,
        "<p class=nav><a href=\"../index.html\">← all cases</a></p><h1>{id}</h1><p class=title>{t}</p><p>{b} <span class=sub>{ms} ms</span></p>",
        id = esc(&r.id),
        t = esc(&r.title),
        b = badge(r.verdict.name()),
        ms = r.duration_ms
    );
    if !r.rules.is_empty() {
        h.push_str("<h2>Rules</h2><ul class=rulelist>");
        for rule in &r.rules {
            let _ = write!(
                h,
                "<li><b>{}</b> <span class=sub>({}, evidence {})</span>: {}<br><span class=src>source: {}</span></li>",
                esc(&rule.id),
                rule.level,
                rule.evidence,
                esc(&rule.text),
                esc(&rule.source)
            );
        }
        h.push_str("</ul>");
    }
    if let Some(f) = &r.failure {
        h.push_str("<h2>Failure</h2><dl class=failure>");
        if !f.location.is_empty() {
            let _ = write!(
                h,
                "<dt>step</dt><dd>{} at {}: {}</dd>",
                esc(&f.step),
                esc(&f.location),
                esc(&f.action)
            );
        }
        if let Some(n) = &f.note {
            let _ = write!(h, "<dt>note</dt><dd>{}</dd>", esc(n));
        }
        let _ = write!(h, "<dt>reason</dt><dd>{}</dd>", esc(&f.reason));
        match (&f.expected, &f.actual) {
            (Some(e), Some(a)) => {
                let at = first_difference(e, a);
                let cut = a.char_indices().nth(at).map_or(a.len(), |(i, _)| i);
                let _ = write!(
                    h,
                    "<dt>expected</dt><dd><pre class=expected>{}</pre></dd><dt>actual</dt><dd><pre class=actual>{}<span class=differs>{}</span></pre></dd>",
                    esc(e),
                    esc(&a[..cut]),
                    esc(&a[cut..])
                );
            }
            (None, Some(a)) => {
                let _ = write!(
                    h,
                    "<dt>actual</dt><dd><pre class=actual>{}</pre></dd>",
                    esc(a)
                );
            }
            _ => {}
        }
        h.push_str("</dl>");
    }
    h.push_str("<h2>Sequence</h2>");
    if r.wire.is_empty() {
        h.push_str("<p class=sub>No frames were exchanged.</p>");
    } else {
        h.push_str(
            "<p class=sub>Click an arrow for the decoded frame and its bytes.</p><div class=seq>",
        );
        h.push_str(&diagram(r));
        h.push_str("</div><div id=detail class=detail><p class=sub>No frame selected.</p></div>");
        let frames = serde_json::to_string(&frame_details(r)).unwrap_or_else(|_| "{}".into());
        let _ = write!(
            h,
            "<script type=\"application/json\" id=frames>{}</script>",
            frames.replace("</", "<\\/")
        );
        h.push_str(CASE_JS);
    }
    h.push_str("</body></html>\n");
    h
}

/// The sequence diagram of a case's wire log (SVG).
pub fn diagram(r: &CaseResult) -> String {
    let (actors, services) = lifelines(r);
    let lanes: Vec<&str> = actors.iter().chain(&services).map(String::as_str).collect();
    let x = |name: &str| {
        let i = lanes.iter().position(|l| *l == name).unwrap_or(0);
        LEFT + LANE / 2 + i * LANE
    };
    let y = |i: usize| TOP + 20 + i * ROW;
    // Room for the failure's text right of the lanes.
    let width = (LEFT + lanes.len().max(1) * LANE + 40).max(LEFT + LANE + 720);
    let height = y(r.wire.len()) + 30;
    let waited = r.failure.as_ref().and_then(|f| f.waited.clone());
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"diagram\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\"><defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>"
    );
    for (i, name) in lanes.iter().enumerate() {
        let cx = x(name);
        let class = if i < actors.len() { "actor" } else { "service" };
        let _ = write!(
            s,
            "<g class=\"lane {class}\"><line x1=\"{cx}\" y1=\"{top}\" x2=\"{cx}\" y2=\"{bottom}\" class=\"lifeline\"/><rect x=\"{rx}\" y=\"8\" width=\"{w}\" height=\"28\" rx=\"4\"/><text x=\"{cx}\" y=\"27\" text-anchor=\"middle\">{n}</text></g>",
            top = TOP - 20,
            bottom = height - 10,
            rx = cx - LANE / 2 + 10,
            w = LANE - 20,
            n = esc(&short(name, 26)),
        );
    }
    if let Some(w) = &waited
        && let Some(a) = &w.actor
        && lanes.contains(&a.as_str())
    {
        let top = y(w.from.min(r.wire.len())) - ROW / 2;
        let bottom = y(w.to.min(r.wire.len())) - ROW / 2 + 4;
        let _ = write!(
            s,
            "<rect class=\"waited\" x=\"{}\" y=\"{top}\" width=\"10\" height=\"{}\"><title>the failing step waited here</title></rect>",
            x(a) - 5,
            (bottom - top).max(6)
        );
    }
    let details = frame_details(r);
    for (i, w) in r.wire.iter().enumerate() {
        let cy = y(i);
        let _ = write!(
            s,
            "<text class=\"time\" x=\"8\" y=\"{}\">{:.1} ms</text>",
            cy + 4,
            w.t_ms
        );
        if w.actor.is_empty() {
            let _ = write!(
                s,
                "<text class=\"note\" x=\"{LEFT}\" y=\"{}\">{}</text>",
                cy + 4,
                esc(&w.text)
            );
            continue;
        }
        let ax = x(&w.actor);
        match w.dir {
            Direction::Event => {
                let kind = w.event.as_deref().unwrap_or("event");
                if kind == "barrier" {
                    let _ = write!(
                        s,
                        "<g class=\"event ev-barrier\"><line x1=\"{LEFT}\" y1=\"{cy}\" x2=\"{}\" y2=\"{cy}\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
                        width - 20,
                        ax + 8,
                        cy - 4,
                        esc(&w.text)
                    );
                } else {
                    let mark = match kind {
                        "connect" => "●",
                        "close" | "disconnect" => "✕",
                        _ => "◆",
                    };
                    let _ = write!(
                        s,
                        "<g class=\"event ev-{k}\"><text class=\"mark\" x=\"{ax}\" y=\"{}\" text-anchor=\"middle\">{mark}</text><text x=\"{}\" y=\"{}\">{}</text></g>",
                        cy + 4,
                        ax + 10,
                        cy + 4,
                        esc(&short(&w.text, 70)),
                        k = esc(kind),
                    );
                }
            }
            Direction::Wire(_) => {
                let px = x(w.peer.as_deref().unwrap_or("?"));
                let (x1, x2) = if w.dir == Direction::SEND {
                    (ax, px)
                } else {
                    (px, ax)
                };
                let failed = waited.as_ref().and_then(|w| w.frame) == Some(i);
                let label = details
                    .get(&i.to_string())
                    .map_or_else(|| short(&w.text, 40), |d| d.label.clone());
                let _ = write!(
                    s,
                    "<g class=\"arrow {dir}{f}\" data-i=\"{i}\" id=\"e{i}\"><title>{title}</title><line class=\"hit\" x1=\"{x1}\" y1=\"{cy}\" x2=\"{x2}\" y2=\"{cy}\"/><line x1=\"{x1}\" y1=\"{cy}\" x2=\"{x2}\" y2=\"{cy}\" marker-end=\"url(#head)\"/><text x=\"{mx}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text></g>",
                    dir = if w.dir == Direction::SEND {
                        "send"
                    } else {
                        "recv"
                    },
                    f = if failed { " failed" } else { "" },
                    title = esc(&short(&w.text, 300)),
                    mx = (x1 + x2) / 2,
                    ty = cy - 5,
                    label = esc(&label),
                );
            }
        }
    }
    if let Some(w) = &waited {
        let at = w.to.min(r.wire.len());
        let cx = w.actor.as_deref().map_or(LEFT, &x);
        let reason = r.failure.as_ref().map_or("", |f| f.reason.as_str());
        let _ = write!(
            s,
            "<g class=\"failmark\"><text class=\"mark\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">✗</text><text x=\"{}\" y=\"{}\">{}</text></g>",
            y(at) + 4,
            cx + 12,
            y(at) + 4,
            esc(&short(&format!("failed: {reason}"), 110))
        );
    }
    s.push_str("</svg>");
    s
}

/// Lifelines: the actors in order of appearance, then the services they talked to.
pub fn lifelines(r: &CaseResult) -> (Vec<String>, Vec<String>) {
    let mut actors: Vec<String> = Vec::new();
    let mut services: Vec<String> = Vec::new();
    for w in &r.wire {
        if !w.actor.is_empty() && !actors.iter().any(|a| **a == *w.actor) {
            actors.push(w.actor.to_string());
        }
    }
    for w in &r.wire {
        if w.dir == Direction::Event {
            continue;
        }
        let p = w.peer.as_deref().unwrap_or("?");
        if !services.iter().chain(&actors).any(|s| s == p) {
            services.push(p.to_owned());
        }
    }
    (actors, services)
}

/// What clicking an arrow shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Detail {
    /// The arrow's label.
    pub label: String,
    /// Who sent it to whom, and when.
    pub head: String,
    /// The decoded fields (name, value), or one `error` field.
    pub fields: Vec<(String, String)>,
    /// Hex dump of the raw bytes.
    pub hex: String,
    /// The wire log's text.
    pub text: String,
}

/// The detail of every frame entry, by its index in the wire log.
pub fn frame_details(r: &CaseResult) -> BTreeMap<String, Detail> {
    let mut out = BTreeMap::new();
    for (i, w) in r.wire.iter().enumerate() {
        if w.dir == Direction::Event {
            continue;
        }
        let protocol = r.actors.get(&*w.actor).map_or("", String::as_str);
        let (label, fields) = decode(protocol, w);
        let peer = w.peer.as_deref().unwrap_or("?");
        let head = match w.dir {
            Direction::SEND => format!("{} → {peer} at {:.3} ms", w.actor, w.t_ms),
            _ => format!("{peer} → {} at {:.3} ms", w.actor, w.t_ms),
        };
        out.insert(
            i.to_string(),
            Detail {
                label,
                head,
                fields,
                hex: w.raw.as_deref().map(hex_dump).unwrap_or_default(),
                text: w.text.to_string(),
            },
        );
    }
    out
}

/// The label and decoded fields of a frame entry, through its protocol module.
pub fn decode(protocol: &str, w: &WireEntry) -> (String, Vec<(String, String)>) {
    let (Some(raw), Some(m)) = (&w.raw, proto::by_name(protocol)) else {
        return (short(&w.text, 40), Vec::new());
    };
    match m.parse(raw) {
        Ok(Status::Complete((f, _))) => (
            label(protocol, &f),
            f.fields()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        ),
        Ok(Status::Incomplete(_)) => (
            short(&w.text, 40),
            vec![("error".into(), "incomplete frame".into())],
        ),
        Err(e) => (
            short(&w.text, 40),
            vec![("error".into(), format!("byte {}: {}", e.offset(), e.kind()))],
        ),
    }
}

/// An arrow's label: what the frame is and the key that pairs it (I/Q, CSeq, transaction,
/// TrID, `i`).
pub fn label(protocol: &str, f: &Frame) -> String {
    let what = f
        .get("method")
        .or_else(|| f.get("verb"))
        .or_else(|| f.get("cmd"))
        .map(str::to_owned)
        .or_else(|| {
            f.get("status").map(|s| {
                format!("{s} {}", f.get("reason").unwrap_or(""))
                    .trim()
                    .to_owned()
            })
        })
        .unwrap_or_else(|| short(&f.summary(), 30));
    let module = crate::proto::by_name(protocol);
    let what = match module.and_then(|m| m.label_detail(f)) {
        Some(detail) => format!("{what}/{detail}"),
        None => what,
    };
    let key = module.and_then(|m| m.key_label(f));
    match key {
        Some(k) => short(&format!("{what} ({k})"), 44),
        None => short(&what, 44),
    }
}

/// Offset, hex and printable ASCII, 16 bytes a line (at most [`MAX_HEX`] bytes).
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (n, line) in bytes[..bytes.len().min(MAX_HEX)].chunks(16).enumerate() {
        let _ = write!(out, "{:06x}  ", n * 16);
        for i in 0..16 {
            match line.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
        }
        out.push(' ');
        out.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    if bytes.len() > MAX_HEX {
        let _ = writeln!(out, "… {} more bytes", bytes.len() - MAX_HEX);
    }
    out
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A verdict badge: its class comes from its name, so any verdict gets one.
fn badge(verdict: &str) -> String {
    let class: String = verdict
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("<span class=\"v v-{class}\">{}</span>", esc(verdict))
}

fn head(title: &str, _root: &str) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(title)
    )
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin-top:1.4em}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}\
.num{text-align:right}.sub{color:#666}.src{color:#666;font-size:.9em}.rules{font-size:.85em;color:#555}\
.v{display:inline-block;padding:0 6px;border-radius:3px;background:#ddd;color:#222;font-weight:600;font-size:.85em}\
.v-pass{background:#cdeccd;color:#135013}.v-fail{background:#f6c8c8;color:#7a1010}.v-xpass{background:#f6c8c8;color:#7a1010}\
.v-non-strict{background:#fbe7b5;color:#6a4a00}.v-xfail{background:#e2dcf3;color:#3d2a7a}.v-skip{background:#e6e6e6;color:#555}.v-flaky{background:#fde0c2;color:#7a3d00}\
tr.differs td{background:#fff1f1}.filters{margin:.5em 0}pre{white-space:pre-wrap;margin:0;font:12px/1.35 ui-monospace,monospace}\
dl.failure dt{font-weight:600;margin-top:.4em}dl.failure dd{margin-left:1.5em}.differs{background:#f6c8c8}\
.seq{overflow:auto;border:1px solid #ddd;max-height:75vh}svg.diagram .lane rect{fill:#eef3fb;stroke:#7d95bd}svg.diagram .service rect{fill:#f3f3f3;stroke:#999}\
svg.diagram .lifeline{stroke:#aaa;stroke-dasharray:4 4}svg.diagram .arrow line{stroke:#1f5fbf;stroke-width:1.5}svg.diagram .arrow.recv line{stroke:#2f7d32}\
svg.diagram .arrow line.hit{stroke:transparent;stroke-width:14}svg.diagram .arrow{cursor:pointer}svg.diagram .arrow:hover text{font-weight:700}\
svg.diagram .arrow.failed line:not(.hit){stroke:#c62828;stroke-width:3}svg.diagram .arrow.failed text{fill:#c62828;font-weight:700}svg.diagram .arrow.selected text{text-decoration:underline}\
svg.diagram .time{fill:#888;font-size:11px}svg.diagram .ev-barrier line{stroke:#b07d00;stroke-dasharray:6 3}svg.diagram .ev-barrier text{fill:#8a6400}\
svg.diagram .ev-close .mark,svg.diagram .ev-disconnect .mark{fill:#c62828}svg.diagram .ev-connect .mark{fill:#2f7d32}svg.diagram .event text{font-size:11px;fill:#555}\
svg.diagram .waited{fill:#f6c8c8;stroke:#c62828}svg.diagram .failmark text{fill:#c62828;font-weight:700}svg.diagram .note{fill:#888}\
.detail{margin-top:1em;border:1px solid #ddd;padding:.6em;background:#fafafa}.detail table{margin:.4em 0}.detail td{font:12px ui-monospace,monospace}";

const INDEX_JS: &str = "<script>(function(){var fv=document.getElementById('fv'),fp=document.getElementById('fp'),q=document.getElementById('q'),shown=document.getElementById('shown');\
function apply(){var v=fv.value,p=fp.value,s=q.value.trim().toLowerCase(),n=0,rows=document.querySelectorAll('tr.case');\
rows.forEach(function(r){var ok=(!v||r.dataset.verdict===v)&&(!p||r.dataset.protocol===p)&&(!s||r.dataset.search.indexOf(s)>=0);r.style.display=ok?'':'none';if(ok)n++;});\
shown.textContent=n+' of '+rows.length+' shown';}fv.onchange=fp.onchange=apply;q.oninput=apply;apply();})();</script>";

const CASE_JS: &str = "<script>(function(){var frames=JSON.parse(document.getElementById('frames').textContent),detail=document.getElementById('detail');\
function text(tag,t,cls){var e=document.createElement(tag);e.textContent=t;if(cls)e.className=cls;return e;}\
function show(i){var f=frames[i];if(!f)return;document.querySelectorAll('.arrow.selected').forEach(function(a){a.classList.remove('selected');});\
var g=document.getElementById('e'+i);if(g)g.classList.add('selected');detail.textContent='';detail.dataset.shown=i;detail.appendChild(text('h3',f.label));detail.appendChild(text('p',f.head,'sub'));\
if(f.fields.length){var t=document.createElement('table');f.fields.forEach(function(kv){var tr=document.createElement('tr');tr.appendChild(text('td',kv[0]));tr.appendChild(text('td',kv[1]));t.appendChild(tr);});detail.appendChild(t);}\
detail.appendChild(text('h4','raw bytes'));detail.appendChild(text('pre',f.hex||'(not recorded)'));detail.appendChild(text('h4','wire log'));detail.appendChild(text('pre',f.text));}\
document.querySelectorAll('.arrow').forEach(function(g){g.addEventListener('click',function(){show(g.dataset.i);});});\
var m=location.hash.match(/^#e(\\d+)$/),failed=document.querySelector('.arrow.failed');if(m)show(m[1]);else if(failed)show(failed.dataset.i);})();</script>";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Failure, Verdict, Waited};

    fn entry(dir: Direction, raw: &[u8], event: Option<&str>) -> WireEntry {
        WireEntry {
            t_ms: 1.0,
            actor: "alice".into(),
            dir,
            text: proto::escape(raw).into(),
            event: event.map(str::to_owned),
            peer: Some("msnp".into()),
            conn: Some(1),
            raw: (dir != Direction::Event).then(|| std::sync::Arc::from(raw)),
        }
    }

    fn failed() -> CaseResult {
        CaseResult {
            id: "msnp/001-login".into(),
            title: "Login <answers>".into(),
            verdict: Verdict::Fail,
            actors: [("alice".to_owned(), "msnp".to_owned())]
                .into_iter()
                .collect(),
            wire: vec![
                entry(
                    Direction::Event,
                    b"connected to service msnp",
                    Some("connect"),
                ),
                entry(Direction::SEND, b"VER 1 CON 0\r\n", None),
                entry(Direction::RECV, b"VER 2 CON 0\r\n", None),
                entry(Direction::Event, b"barrier", Some("barrier")),
            ],
            failure: Some(Failure {
                step: "2".into(),
                location: "x.yaml:3:1".into(),
                action: "expect reply on alice".into(),
                reason: "`trid` differs".into(),
                expected: Some("1".into()),
                actual: Some("2".into()),
                waited: Some(Waited {
                    actor: Some("alice".into()),
                    from: 1,
                    to: 3,
                    frame: Some(2),
                }),
                ..Failure::default()
            }),
            ..CaseResult::default()
        }
    }

    #[test]
    fn html_diagram_marks_the_failed_frame_and_labels_arrows_with_their_key() {
        let svg = diagram(&failed());
        assert_eq!(svg.matches("class=\"arrow ").count(), 2);
        assert!(
            svg.contains("class=\"arrow recv failed\" data-i=\"2\""),
            "{svg}"
        );
        assert!(svg.contains(">VER (TrID 1)<"), "{svg}");
        assert!(svg.contains(">VER (TrID 2)<"), "{svg}");
        assert!(svg.contains("class=\"waited\""));
        assert!(svg.contains("class=\"event ev-barrier\""));
        assert!(svg.contains("class=\"event ev-connect\""));
        assert_eq!(
            lifelines(&failed()),
            (vec!["alice".to_owned()], vec!["msnp".to_owned()])
        );
    }

    #[test]
    fn html_case_page_is_self_contained_and_escapes() {
        let page = case_page(&failed());
        assert!(page.contains("Login &lt;answers&gt;"));
        assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
        assert!(page.contains("<pre class=actual><span class=differs>2</span></pre>"));
        let d = frame_details(&failed());
        assert_eq!(d.len(), 2);
        assert!(d["1"].fields.contains(&("verb".into(), "VER".into())));
        assert!(d["1"].hex.starts_with("000000  56 45 52 20"));
    }

    #[test]
    fn html_index_counts_verdicts_by_name_and_pairs_any_variant() {
        let mut twin = failed();
        twin.id.push_str("@chop");
        twin.verdict = Verdict::Pass;
        let mut gw = failed();
        gw.id.push_str("@gateway");
        let all = [failed(), twin, gw];
        let p = parity(&all);
        assert_eq!(p.keys().collect::<Vec<_>>(), ["chop", "gateway"]);
        assert_eq!(
            p["chop"][0],
            ("msnp/001-login".into(), "fail".into(), "pass".into())
        );
        let files = file_names(&all);
        assert_eq!(files[0], "msnp--001-login.html");
        let html = index(&all, &files);
        assert_eq!(html.matches("<tr class=case ").count(), 3);
        assert!(html.contains("<h2>Parity: @chop</h2>"));
        assert!(html.contains("href=\"cases/msnp--001-login@chop.html\""));
    }

    #[test]
    fn html_decode_reports_the_codec_error_offset() {
        let w = entry(Direction::RECV, b"VER x\xff\r\n", None);
        let (_, fields) = decode("msnp", &w);
        assert_eq!(fields.len(), 1);
        assert!(fields[0].1.starts_with("byte "), "{fields:?}");
        assert_eq!(
            hex_dump(b"ab\r"),
            format!("000000  61 62 0d {} ab.\n", "   ".repeat(13))
        );
    }
}
