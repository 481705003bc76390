//! Loading scenario files: the only code that touches YAML (serde_yaml, behind this module
//! so a maintained fork can replace it in one place).
//!
//! Syntax errors carry serde_yaml's line and column. Semantic errors (unknown actor, bad
//! check, unknown step) point at the YAML list item of the offending step, found by a light
//! scan of the source text for `- ` items under the `steps:` key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::ScenarioError;
use super::fragment::{self, Lookup, Provides, Sources};
use super::model::{
    ActorOptions, ActorTarget, Answer, Capture, Check, Compare, Expect, ExpectSource, FrameSpec,
    HttpSend, Include, Level, Order, Origin, Protocol, Repeat, Rule, Scenario, Send, Span, Step,
    StepKind, Template, Tree,
};

/// Default per-step timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
const MAX_INCLUDE_DEPTH: usize = 8;

/// Loads one case file (fragments from its own folder and the built-in set).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &Sources::default())
}

/// Loads one case file, fragments resolved from `sources` too (`scenario::fragment`).
pub fn load_with(path: &Path, sources: &Sources) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::at(path, 0, 0, format!("cannot read: {e}")))?;
    load_str_with(path, &text, sources)
}

/// Loads a case from its text (`path` names it and locates its fragments).
pub fn load_str(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    load_str_with(path, text, &Sources::default())
}

/// [`load_str`] with fragments resolved from `sources` too.
pub fn load_str_with(
    path: &Path,
    text: &str,
    sources: &Sources,
) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
    let whole = Source {
        file: path.to_path_buf(),
        text: text.to_owned(),
    };
    let protocol = Protocol::from_name(&raw.protocol).ok_or_else(|| {
        whole.key_error(
            "protocol",
            format!(
                "unknown protocol `{}` (expected fetion, leancloud, msnp or sip)",
                raw.protocol
            ),
        )
    })?;
    if let Some(c) = raw
        .requires
        .iter()
        .find(|c| super::capability::find(c).is_none())
    {
        return Err(whole.key_error("requires", super::capability::unknown(c)));
    }
    let mut actors = BTreeMap::new();
    let mut actor_options = BTreeMap::new();
    for (name, target) in raw.actors {
        let target = match target {
            RawActor::Options {
                service,
                format,
                version,
            } => {
                let options = actor_options_of(protocol, &service, format, version)
                    .map_err(|m| whole.key_error(&name, format!("actor `{name}`: {m}")))?;
                actor_options.insert(name.clone(), options);
                ActorTarget::Service(service)
            }
            RawActor::Service(s) => {
                if !SERVICES.contains(&s.as_str()) {
                    return Err(whole.key_error(
                        &name,
                        format!(
                            "actor `{name}`: unknown service `{s}` (expected one of {})",
                            SERVICES.join(", ")
                        ),
                    ));
                }
                ActorTarget::Service(s)
            }
            RawActor::Address { address } => ActorTarget::Address(Template(address)),
        };
        actors.insert(name, target);
    }
    let mut rules = Vec::new();
    for r in raw.rules {
        rules.push(Rule {
            id: r.id,
            text: r.text,
            source: r.source,
            evidence: r.evidence,
            level: r.level,
        });
    }
    let params = mapping_pairs(&raw.params).map_err(|m| whole.key_error("params", m))?;
    let ctx = Ctx {
        protocol,
        actors: actors.keys().cloned().collect(),
        drivers: actors
            .iter()
            .filter(|(_, t)| matches!(t, ActorTarget::Service(s) if s == DRIVER))
            .map(|(n, _)| n.clone())
            .collect(),
        fragments: Lookup::new(path, protocol.name(), sources),
    };
    let lines = whole.items_under(0, whole.line_count(), "steps");
    let steps = convert_steps(&ctx, &whole, &raw.steps, &lines, 0)?;
    let scenario = Scenario {
        id: case_id(path),
        path: path.to_path_buf(),
        title: raw.title,
        protocol,
        rules,
        requires: raw.requires,
        params: params.into_iter().map(|(k, v)| (k, v.0)).collect(),
        actors,
        timeout_ms: raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
        steps,
        actor_options,
    };
    super::check::case(&scenario, whole)?;
    Ok(scenario)
}

/// Every case file under `paths` (files as given, directories walked), sorted, skipping
/// `fragments/` folders and non-YAML files.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = BTreeSet::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)
                .map_err(|e| ScenarioError::at(p, 0, 0, format!("cannot read directory: {e}")))?;
        } else if p.is_file() {
            out.insert(p.clone());
        } else {
            return Err(ScenarioError::at(
                p,
                0,
                0,
                "no such file or directory".into(),
            ));
        }
    }
    Ok(out.into_iter().collect())
}

/// The case id of a file: its path under the nearest `scenarios/` folder, without extension.
pub fn case_id(path: &Path) -> String {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let start = comps
        .iter()
        .rposition(|c| c == "scenarios")
        .map_or_else(|| comps.len().saturating_sub(2), |i| i + 1);
    let mut id = comps.get(start..).unwrap_or_default().join("/");
    if let Some(stripped) = id.strip_suffix(".yaml").or_else(|| id.strip_suffix(".yml")) {
        id = stripped.to_owned();
    }
    id
}

/// Parses a target profile (see `runner::Profile`), mapping YAML errors to file:line:column.
pub fn parse_yaml_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::at(path, 0, 0, format!("cannot read: {e}")))?;
    serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &text, &e))
}

/// The service names actors and targets use.
pub const SERVICES: &[&str] = &[
    "fetion",
    "fetion-chat",
    "msnp",
    "msnp-gateway",
    "sip",
    "msrp",
    "leancloud",
    DRIVER,
];

/// The service of the driver actor in a client case (`scenarios/clients/`, docs/driver-protocol.md).
pub const DRIVER: &str = "driver";

/// A `send:` to a driver actor: `command:` is the op object (`{op: login, user: alice}`).
fn driver_op(m: &Mapping) -> Result<FrameSpec, Bad> {
    if let Some(k) = m
        .keys()
        .map(scalar_text)
        .find(|k| !["command", "as"].contains(&k.as_str()))
    {
        return Err(Bad::at(
            &k,
            format!("a driver op is written `command: {{op: …}}`; `{k}` does not apply"),
        ));
    }
    let command = m
        .get("command")
        .map(tree)
        .transpose()?
        .ok_or_else(|| "a driver op needs `command:` (`{op: login, user: …}`)".to_owned())?;
    Ok(FrameSpec {
        command: Some(command),
        ..FrameSpec::default()
    })
}

/// The options of an actor written as `{ service: leancloud, format: …, version: … }`.
fn actor_options_of(
    protocol: Protocol,
    service: &str,
    format: Option<String>,
    version: Option<String>,
) -> Result<ActorOptions, String> {
    if protocol != Protocol::LeanCloud || service != "leancloud" {
        return Err(format!(
            "`format`/`version` apply to service `leancloud` in a leancloud case, not `{service}`"
        ));
    }
    if let Some(f) = format
        .as_deref()
        .filter(|f| !["protobuf2", "proto2base64"].contains(f))
    {
        return Err(format!(
            "unknown format `{f}` (expected protobuf2 or proto2base64)"
        ));
    }
    if let Some(v) = version.as_deref().filter(|v| !["1", "3"].contains(v)) {
        return Err(format!("unknown version `{v}` (expected 1 or 3)"));
    }
    Ok(ActorOptions { format, version })
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "fragments") {
                continue;
            }
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.insert(path);
        }
    }
    Ok(())
}

fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> ScenarioError {
    // serde_yaml refuses a second document (after the first one deserialized) without a
    // location, and a few whole-document errors (merge keys, repetition limit) carry none
    // either: point at the second document, else at the start of the file.
    let (line, col) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .or_else(|| second_document(text))
        .unwrap_or((1, 1));
    let msg = e.to_string();
    // serde_yaml appends " at line N column M"; the span already says it.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    ScenarioError::at(path, line, col, msg)
}

/// Where the second YAML document of `text` starts (1-based line and column): its `---`
/// marker, or, after a `...` end marker, its first content. `None` for a single document.
///
/// A document marker is `---` or `...` at column 1 followed by white space or the line's end;
/// YAML forbids it inside any scalar, so a line scan finds it. Lines break as libyaml counts
/// them: at CRLF, CR, LF, NEL, LS and PS.
fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut started = false;
    let mut ended = false;
    let lines = text
        .split("\r\n")
        .flat_map(|l| l.split(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']));
    for (i, line) in lines.enumerate() {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        };
        let content = line.trim_start_matches([' ', '\t']);
        if marker("---") {
            if started {
                return Some((i + 1, 1));
            }
            started = true;
        } else if marker("...") {
            ended = started;
        } else if content.is_empty()
            || content.starts_with('#')
            || (!started && line.starts_with('%'))
        {
            // Blank lines, comments and directives make no document.
        } else if ended {
            return Some((i + 1, line.len() - content.len() + 1));
        } else {
            started = true;
        }
    }
    None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    title: String,
    protocol: String,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    params: Mapping,
    #[serde(default)]
    actors: BTreeMap<String, RawActor>,
    timeout_ms: Option<u64>,
    steps: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    text: String,
    source: String,
    evidence: super::model::Evidence,
    #[serde(default = "must")]
    level: Level,
}

fn must() -> Level {
    Level::Must
}

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum RawActor {
    Options {
        service: String,
        #[serde(default, deserialize_with = "opt_scalar")]
        format: Option<String>,
        #[serde(default, deserialize_with = "opt_scalar")]
        version: Option<String>,
    },
    Service(String),
    Address {
        address: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFragment {
    #[serde(default)]
    params: Mapping,
    #[serde(default)]
    provides: Provides,
    steps: Vec<Value>,
}

/// What step conversion needs to know.
struct Ctx {
    protocol: Protocol,
    actors: BTreeSet<String>,
    /// Actors of service `driver` (client cases): their frames are driver-protocol ops.
    drivers: BTreeSet<String>,
    fragments: Lookup,
}

/// A file's text, for locating items.
pub(super) struct Source {
    pub(super) file: PathBuf,
    pub(super) text: String,
}

impl Source {
    pub(super) fn line_count(&self) -> usize {
        self.text.lines().count()
    }

    pub(super) fn span(&self, line_idx: usize, col: usize) -> Span {
        Span {
            file: self.file.clone(),
            line: line_idx + 1,
            column: col + 1,
        }
    }

    /// An error at the first line that defines `key:` (or line 1).
    fn key_error(&self, key: &str, message: String) -> ScenarioError {
        let (line, col) = self
            .text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let t = l.trim_start();
                (t.starts_with(&format!("{key}:")) || t.starts_with(&format!("- {key}:")))
                    .then(|| (i, l.len() - t.len()))
            })
            .unwrap_or((0, 0));
        ScenarioError {
            span: self.span(line, col),
            message,
        }
    }

    /// The error of `b`, at its key when lines `range` show it, else at `span` (the step).
    fn bad(&self, range: (usize, usize), span: &Span, b: Bad) -> ScenarioError {
        ScenarioError {
            span: b
                .key
                .as_deref()
                .and_then(|k| self.key_span(range, k))
                .unwrap_or_else(|| span.clone()),
            message: b.message,
        }
    }

    /// The lines `[start, end)` of the item written at `span`: up to the next line indented
    /// no deeper than the item's `-`.
    pub(super) fn item_lines(&self, span: &Span) -> (usize, usize) {
        let start = span.line.saturating_sub(1);
        let col = span.column.saturating_sub(1);
        let end = self
            .text
            .lines()
            .enumerate()
            .skip(start + 1)
            .find(|(_, l)| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('#') && indent(l) <= col
            })
            .map_or_else(|| self.line_count(), |(i, _)| i);
        (start, end)
    }

    /// Where `needle` first appears in lines `[range.0, range.1)`.
    pub(super) fn text_span(&self, range: (usize, usize), needle: &str) -> Option<Span> {
        self.text
            .lines()
            .enumerate()
            .take(range.1.max(range.0 + 1))
            .skip(range.0)
            .find_map(|(i, line)| line.find(needle).map(|at| self.span(i, at)))
    }

    /// Where `key:` is written in lines `[range.0, range.1)`: as a block key, after `- `, or
    /// inside a flow map (`{ key: … }`).
    pub(super) fn key_span(&self, range: (usize, usize), key: &str) -> Option<Span> {
        let needle = format!("{key}:");
        self.text
            .lines()
            .enumerate()
            .take(range.1.max(range.0 + 1))
            .skip(range.0)
            .find_map(|(i, line)| {
                line.match_indices(&needle).find_map(|(at, _)| {
                    let before = line[..at].trim_end_matches(['"', '\'']);
                    let starts = before.trim_start().trim_start_matches("- ").is_empty()
                        || before.ends_with([' ', '{', ',', '-']);
                    starts.then(|| self.span(i, at))
                })
            })
    }

    /// The (line index, column) of each `- ` item of the block list under the first `key:`
    /// found in lines `[start, end)`. Flow lists (`key: [..]`) yield nothing.
    fn items_under(&self, start: usize, end: usize, key: &str) -> Vec<(usize, usize)> {
        let lines: Vec<&str> = self.text.lines().collect();
        let end = end.min(lines.len());
        let mut items = Vec::new();
        let Some(key_line) = (start..end).find(|&i| {
            let t = lines[i].trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:")) && t[key.len() + 1..].trim().is_empty()
        }) else {
            return items;
        };
        let key_indent = indent(lines[key_line]);
        let mut item_indent = None;
        for (i, line) in lines.iter().enumerate().take(end).skip(key_line + 1) {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let ind = indent(line);
            match item_indent {
                None => {
                    if t.starts_with('-') && ind >= key_indent {
                        item_indent = Some(ind);
                        items.push((i, ind));
                    } else {
                        break;
                    }
                }
                Some(ii) => {
                    if ind < ii || (ind == ii && !t.starts_with('-')) {
                        break;
                    }
                    if ind == ii {
                        items.push((i, ind));
                    }
                }
            }
        }
        items
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Item locations, with the line range each item spans (up to the next item).
fn item_ranges(items: &[(usize, usize)], end: usize) -> Vec<(usize, usize, usize)> {
    items
        .iter()
        .enumerate()
        .map(|(n, &(line, col))| (line, col, items.get(n + 1).map_or(end, |next| next.0)))
        .collect()
}

fn convert_steps(
    ctx: &Ctx,
    src: &Source,
    values: &[Value],
    items: &[(usize, usize)],
    depth: usize,
) -> Result<Vec<Step>, ScenarioError> {
    let fallback = items.first().map_or((0, 0), |&(l, c)| (l, c));
    let ranges = item_ranges(items, src.line_count());
    let mut out = Vec::new();
    for (n, value) in values.iter().enumerate() {
        let (line, col, end) =
            ranges
                .get(n)
                .copied()
                .unwrap_or((fallback.0, fallback.1, fallback.0 + 1));
        let span = src.span(line, col);
        let before = out.len();
        convert_step(ctx, src, value, span, (line, end), depth, &mut out)?;
        for step in out.get_mut(before..).unwrap_or_default() {
            // Steps spliced in from a fragment keep their number in the fragment.
            if step.origin.number == 0 {
                step.origin.number = n + 1;
            }
        }
    }
    Ok(out)
}

const STEP_KINDS: &[&str] = &[
    "answer",
    "assert",
    "barrier",
    "connect",
    "disconnect",
    "expect",
    "expect_any_order",
    "expect_closed",
    "expect_no_push",
    "http",
    "include",
    "repeat",
    "send",
    "set",
];

#[allow(clippy::too_many_lines)]
fn convert_step(
    ctx: &Ctx,
    src: &Source,
    value: &Value,
    span: Span,
    range: (usize, usize),
    depth: usize,
    out: &mut Vec<Step>,
) -> Result<(), ScenarioError> {
    let err = |m: String| ScenarioError {
        span: span.clone(),
        message: m,
    };
    let bad = |b: Bad| src.bad(range, &span, b);
    let Value::Mapping(map) = value else {
        return Err(err(format!(
            "a step must be a map such as `connect: alice`, found {}",
            describe(value)
        )));
    };
    let kinds: Vec<&str> = map
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| STEP_KINDS.contains(k))
        .collect();
    let kind = match kinds.as_slice() {
        [k] => *k,
        [] => {
            let first = map.keys().next().map_or_else(String::new, scalar_text);
            return Err(bad(Bad::at(
                &first,
                format!(
                    "unknown step `{first}`{} (expected one of {})",
                    did_you_mean(&first, STEP_KINDS),
                    STEP_KINDS.join(", ")
                ),
            )));
        }
        many => {
            return Err(err(format!(
                "a step has exactly one kind, found {}",
                many.join(" and ")
            )));
        }
    };
    let mut rest = map.clone();
    let head = rest.remove(kind).unwrap_or(Value::Null);
    let timeout_ms = take_u64(&mut rest, "timeout_ms").map_err(err)?;
    let note = text_of(&rest, "note").map_err(bad)?;
    rest.remove("note");
    let allowed: &[&str] = match kind {
        "send" => &[
            "as", "raw", "method", "status", "reason", "target", "version", "verb", "trid",
            "length", "headers", "blocks", "body", "reply_to", "command",
        ],
        "expect" => EXPECT_KEYS,
        "answer" => &["as", "match", "with"],
        "http" => &["as", "method", "target", "headers", "body"],
        "include" => &["with"],
        _ => &[],
    };
    if let Some(k) = rest
        .keys()
        .map(scalar_text)
        .find(|k| !allowed.contains(&k.as_str()))
    {
        let hint = if allowed.is_empty() {
            String::new()
        } else {
            format!(" (allowed: {})", allowed.join(", "))
        };
        return Err(bad(Bad::at(
            &k,
            format!(
                "`{kind}` step: unknown key `{k}`{}{hint}",
                did_you_mean(&k, allowed)
            ),
        )));
    }
    let actor = |v: &Value| -> Result<String, ScenarioError> {
        if matches!(v, Value::Sequence(_) | Value::Mapping(_)) {
            return Err(err(format!(
                "`{kind}` takes an actor name, found {}",
                describe(v)
            )));
        }
        let name = scalar_text(v);
        if ctx.actors.contains(&name) {
            Ok(name)
        } else {
            let declared: Vec<&str> = ctx.actors.iter().map(String::as_str).collect();
            Err(err(format!(
                "unknown actor `{name}`{} (declared: {})",
                did_you_mean(&name, &declared),
                declared.join(", ")
            )))
        }
    };
    let step = |kind: StepKind| Step {
        kind,
        span: span.clone(),
        timeout_ms,
        note: note.clone(),
        origin: Origin::default(),
    };
    // One actor or a list of them (`barrier: [alice, bob]`).
    let actors = |v: &Value| -> Result<Vec<String>, ScenarioError> {
        match v {
            Value::Sequence(seq) => seq.iter().map(&actor).collect(),
            v => Ok(vec![actor(v)?]),
        }
    };
    match kind {
        "connect" => out.push(step(StepKind::Connect(actor(&head)?))),
        "disconnect" => out.push(step(StepKind::Disconnect(actor(&head)?))),
        "expect_closed" => out.push(step(StepKind::ExpectClosed(actor(&head)?))),
        "expect_no_push" => out.push(step(StepKind::ExpectNoPush(actors(&head)?))),
        "barrier" => out.push(step(StepKind::Barrier(actors(&head)?))),
        "send" => {
            let a = actor(&head)?;
            let frame = if ctx.drivers.contains(&a) {
                driver_op(&rest).map_err(bad)?
            } else {
                frame_spec(ctx.protocol, &rest).map_err(bad)?
            };
            let name = text_of(&rest, "as").map_err(bad)?;
            out.push(step(StepKind::Send(Send {
                actor: a,
                name,
                frame,
            })));
        }
        "http" => {
            let a = actor(&head)?;
            let t = |k: &str| text_of(&rest, k).map(|o| o.map(Template)).map_err(bad);
            let target = t("target")?.ok_or_else(|| {
                err("`http` needs `target:` (path and query, e.g. /gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1)".into())
            })?;
            let headers = match rest.get("headers") {
                Some(h) => headers(h).map_err(err)?,
                None => Vec::new(),
            };
            out.push(step(StepKind::Http(HttpSend {
                actor: a,
                name: text_of(&rest, "as").map_err(bad)?,
                method: t("method")?,
                target,
                headers,
                body: t("body")?,
            })));
        }
        "answer" => {
            let a = actor(&head)?;
            let with = match rest.get("with") {
                Some(Value::Mapping(m)) => m.clone(),
                Some(v) => {
                    return Err(bad(Bad::at(
                        "with",
                        format!(
                            "`with` is the answer, written as a `send:` step's keys, found {}",
                            describe(v)
                        ),
                    )));
                }
                None => {
                    return Err(err(
                        "`answer` needs `with:` (the answer, written as a `send:` step's keys)"
                            .into(),
                    ));
                }
            };
            if let Some(k) = with.keys().map(scalar_text).find(|k| k == "as") {
                return Err(bad(Bad::at(
                    &k,
                    "`answer`: name the answered push with `as:` beside `with:`, not inside it"
                        .into(),
                )));
            }
            let frame = if ctx.drivers.contains(&a) {
                driver_op(&with).map_err(bad)?
            } else {
                frame_spec(ctx.protocol, &with).map_err(bad)?
            };
            let mut when = rest.clone();
            when.remove("with");
            when.insert(Value::from("push"), Value::Bool(true));
            let when = expect(a, &when, span.clone(), None).map_err(bad)?;
            out.push(step(StepKind::Answer(Answer { when, frame })));
        }
        "expect" => {
            let a = actor(&head)?;
            out.push(step(StepKind::Expect(
                expect(a, &rest, span.clone(), None).map_err(bad)?,
            )));
        }
        "expect_any_order" => {
            let Value::Sequence(seq) = &head else {
                return Err(err(
                    "`expect_any_order` takes a list of `expect:` items".into()
                ));
            };
            let items = src.items_under(range.0, range.1, "expect_any_order");
            let mut list = Vec::new();
            for (n, v) in seq.iter().enumerate() {
                let sp = items
                    .get(n)
                    .map_or_else(|| span.clone(), |&(l, c)| src.span(l, c));
                let e2 = |m: String| ScenarioError {
                    span: sp.clone(),
                    message: m,
                };
                let item_range = (
                    items.get(n).map_or(range.0, |&(l, _)| l),
                    items.get(n + 1).map_or(range.1, |&(l, _)| l),
                );
                let b2 = |b: Bad| src.bad(item_range, &sp, b);
                let Value::Mapping(m) = v else {
                    return Err(e2("`expect_any_order` items are `expect:` maps".into()));
                };
                let mut m = m.clone();
                let Some(h) = m.remove("expect") else {
                    return Err(e2(
                        "`expect_any_order` items must start with `expect: ACTOR`".into(),
                    ));
                };
                let item_note = text_of(&m, "note").map_err(b2)?;
                m.remove("note");
                if let Some(k) = m
                    .keys()
                    .map(scalar_text)
                    .find(|k| !EXPECT_KEYS.contains(&k.as_str()))
                {
                    return Err(b2(Bad::at(
                        &k,
                        format!(
                            "`expect` item: unknown key `{k}`{} (allowed: {}, note)",
                            did_you_mean(&k, EXPECT_KEYS),
                            EXPECT_KEYS.join(", ")
                        ),
                    )));
                }
                let a = actor(&h).map_err(|e| ScenarioError {
                    span: sp.clone(),
                    message: e.message,
                })?;
                list.push(expect(a, &m, sp.clone(), item_note).map_err(b2)?);
            }
            out.push(step(StepKind::ExpectAnyOrder(list)));
        }
        "set" => {
            let Value::Mapping(m) = &head else {
                return Err(err("`set` takes a map of variable: value".into()));
            };
            let pairs = mapping_pairs(m).map_err(err)?;
            out.push(step(StepKind::Set(pairs)));
        }
        "assert" => {
            let Value::Mapping(m) = &head else {
                return Err(err("`assert` takes a map of variable: check".into()));
            };
            out.push(step(StepKind::Assert(checks(m).map_err(bad)?)));
        }
        "repeat" => {
            let Value::Mapping(m) = &head else {
                return Err(err(
                    "`repeat` takes a map with `steps:` and `times:` or `until:` + `max:`".into(),
                ));
            };
            let mut m = m.clone();
            let body = match m.remove("steps") {
                Some(Value::Sequence(s)) => s,
                _ => return Err(err("`repeat` needs `steps:` (a list of steps)".into())),
            };
            let times = text_of(&m, "times").map_err(bad)?.map(Template);
            m.remove("times");
            let max = take_u64(&mut m, "max").map_err(err)?;
            let until = match m.remove("until") {
                None => None,
                Some(Value::Mapping(u)) => {
                    let mut u = u.clone();
                    let Some(var) = u.remove("var") else {
                        return Err(err("`until` needs `var: NAME` and a check, e.g. `{ var: hasmore, iequals: \"false\" }`".into()));
                    };
                    let var = single("var", &var).map_err(bad)?;
                    Some((var, check(&Value::Mapping(u)).map_err(bad)?))
                }
                Some(v) => {
                    return Err(err(format!(
                        "`until` must be a map with `var:`, found {}",
                        describe(&v)
                    )));
                }
            };
            if let Some(k) = m.keys().next().map(scalar_text) {
                const REPEAT_KEYS: &[&str] = &["steps", "times", "until", "max"];
                return Err(bad(Bad::at(
                    &k,
                    format!(
                        "`repeat`: unknown key `{k}`{} (allowed: {})",
                        did_you_mean(&k, REPEAT_KEYS),
                        REPEAT_KEYS.join(", ")
                    ),
                )));
            }
            if times.is_none() && until.is_none() {
                return Err(err("`repeat` needs `times:` or `until:`".into()));
            }
            if until.is_some() && max.is_none() {
                return Err(err(
                    "`repeat` with `until:` needs a hard bound `max:`".into()
                ));
            }
            let items = src.items_under(range.0 + 1, range.1, "steps");
            let steps = convert_steps(ctx, src, &body, &items, depth)?;
            let max = max.unwrap_or(u64::MAX);
            out.push(step(StepKind::Repeat(Repeat {
                times,
                until,
                max,
                steps,
            })));
        }
        "include" => {
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(err(format!(
                    "fragments nest deeper than {MAX_INCLUDE_DEPTH} levels"
                )));
            }
            let name = single("include", &head).map_err(bad)?;
            let with = match rest.get("with") {
                None => Mapping::new(),
                Some(Value::Mapping(m)) => m.clone(),
                Some(v) => return Err(err(format!("`with` must be a map, found {}", describe(v)))),
            };
            let before = out.len();
            // Errors without a file (missing fragment, unknown parameter) point at the include.
            include(ctx, &name, &with, depth, out).map_err(|e| {
                if e.span.file.as_os_str().is_empty() {
                    ScenarioError {
                        span: span.clone(),
                        message: e.message,
                    }
                } else {
                    e
                }
            })?;
            for step in out.get_mut(before..).unwrap_or_default() {
                mark_included(step, &span);
            }
        }
        _ => return Err(err(format!("unknown step `{kind}`"))),
    }
    Ok(())
}

fn include(
    ctx: &Ctx,
    name: &str,
    with: &Mapping,
    depth: usize,
    out: &mut Vec<Step>,
) -> Result<(), ScenarioError> {
    let here = |m: String| ScenarioError::at(Path::new(""), 0, 0, m);
    let path = ctx.fragments.resolve(name).map_err(here)?;
    let (raw, src) = read_fragment(&path)?;
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in mapping_pairs(&raw.params).map_err(|m| src.key_error("params", m))? {
        params.insert(k, v.0);
    }
    for (k, v) in mapping_pairs(with).map_err(|m| here(format!("`with`: {m}")))? {
        if !params.contains_key(&k) {
            return Err(here(format!(
                "fragment `{name}` has no parameter `{k}` (declared: {})",
                params.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        params.insert(k, v.0);
    }
    let steps: Vec<Value> = raw.steps.iter().map(|v| substitute(v, &params)).collect();
    let items = src.items_under(0, src.line_count(), "steps");
    out.extend(convert_steps(ctx, &src, &steps, &items, depth + 1)?);
    Ok(())
}

/// Reads a fragment file and checks its `provides:` against its steps.
fn read_fragment(path: &Path) -> Result<(RawFragment, Source), ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::at(path, 0, 0, format!("cannot read fragment: {e}")))?;
    let raw: RawFragment = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &text, &e))?;
    let src = Source {
        file: path.to_path_buf(),
        text,
    };
    fragment::check_declared(&raw.provides, &raw.steps)
        .map_err(|m| src.key_error("provides", m))?;
    Ok((raw, src))
}

/// The params and `provides:` of the fragment file at `path` (checked as an include would).
pub(crate) fn fragment_contract(path: &Path) -> Result<fragment::Contract, ScenarioError> {
    let (raw, _) = read_fragment(path)?;
    Ok(fragment::contract_of(&raw.params, &raw.provides))
}

/// An error at the first line of `text` (the file `path`) that defines `key:`.
pub(crate) fn key_error_in(path: &Path, text: &str, key: &str, message: String) -> ScenarioError {
    Source {
        file: path.to_path_buf(),
        text: text.to_owned(),
    }
    .key_error(key, message)
}

/// Replaces `${param}` for the fragment's parameters in every string (keys included).
fn substitute(v: &Value, params: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute_str(s, params)),
        Value::Sequence(seq) => {
            Value::Sequence(seq.iter().map(|x| substitute(x, params)).collect())
        }
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, x)| (substitute(k, params), substitute(x, params)))
                .collect(),
        ),
        Value::Tagged(t) => substitute(&t.value, params),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in params {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

fn frame_spec(protocol: Protocol, m: &Mapping) -> Result<FrameSpec, Bad> {
    let t = |k: &str| text_of(m, k).map(|o| o.map(Template));
    let mut f = FrameSpec {
        raw: t("raw")?,
        method: t("method")?,
        status: t("status")?,
        reason: t("reason")?,
        target: t("target")?,
        version: t("version")?,
        verb: t("verb")?,
        trid: t("trid")?,
        length: t("length")?,
        body: t("body")?,
        reply_to: text_of(m, "reply_to")?,
        command: m.get("command").map(tree).transpose()?,
        ..FrameSpec::default()
    };
    if let Some(h) = m.get("headers") {
        f.headers = headers(h)?;
    }
    if let Some(b) = m.get("blocks") {
        let Value::Sequence(seq) = b else {
            return Err(Bad::at(
                "blocks",
                "`blocks` must be a list of header maps".into(),
            ));
        };
        for block in seq {
            f.blocks.push(headers(block)?);
        }
    }
    let has = |k: &str| m.contains_key(k);
    if f.raw.is_some() {
        if let Some(k) = m.keys().map(scalar_text).find(|k| k != "raw" && k != "as") {
            return Err(Bad::at(
                &k,
                format!("`raw:` sends bytes as written; `{k}` cannot be combined with it"),
            ));
        }
        return Ok(f);
    }
    let (own, foreign): (&[&str], &[&str]) = match protocol {
        Protocol::Fetion | Protocol::Sip => {
            (&["method", "status"], &["verb", "trid", "length", "blocks"])
        }
        Protocol::Msnp => (
            &["verb"],
            &[
                "method", "status", "reason", "version", "reply_to", "command",
            ],
        ),
        Protocol::LeanCloud => (
            &["command"],
            &[
                "method", "status", "reason", "target", "version", "verb", "trid", "length",
                "headers", "blocks", "body", "reply_to",
            ],
        ),
    };
    if let Some(k) = foreign.iter().find(|k| has(k)) {
        return Err(Bad::at(
            k,
            format!("`{k}` is not a {} frame key", protocol.name()),
        ));
    }
    match protocol {
        Protocol::Fetion | Protocol::Sip if has("method") == has("status") => Err(format!(
            "a {} frame needs exactly one of `method:` (request) or `status:` (response), or `raw:`",
            protocol.name()
        )
        .into()),
        Protocol::Msnp if !has("verb") => {
            Err(Bad::from("an MSNP frame needs `verb:` (or `raw:`)".to_owned()))
        }
        Protocol::LeanCloud if !has("command") => Err(Bad::from(
            "a LeanCloud frame needs `command:` (the GenericCommand in readable form) or `raw:`"
                .to_owned(),
        )),
        _ => {
            let _ = own;
            Ok(f)
        }
    }
}

/// A YAML value as a [`Tree`]: strings become templates, other scalars keep their kind.
fn tree(v: &Value) -> Result<Tree, String> {
    Ok(match v {
        Value::Null => Tree::Null,
        Value::Bool(b) => Tree::Bool(*b),
        Value::Number(n) => Tree::Number(n.to_string()),
        Value::String(s) => Tree::Str(Template(s.clone())),
        Value::Sequence(seq) => Tree::List(seq.iter().map(tree).collect::<Result<_, _>>()?),
        Value::Mapping(m) => Tree::Map(
            m.iter()
                .map(|(k, v)| Ok((scalar_text(k), tree(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Tagged(t) => return Err(format!("YAML tag `{}` is not supported here", t.tag)),
    })
}

/// A scalar option (`version: 3` or `version: "3"`) as text.
fn opt_scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.map(|v| scalar_text(&v)))
}

fn headers(v: &Value) -> Result<Vec<(String, Template)>, String> {
    let Value::Mapping(m) = v else {
        return Err(format!(
            "headers must be a map of Name: value, found {}",
            describe(v)
        ));
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let name = scalar_text(k);
        match v {
            Value::Sequence(seq) => {
                for x in seq {
                    out.push((name.clone(), Template(scalar_text(x))));
                }
            }
            Value::Mapping(_) => {
                return Err(format!("header `{name}`: value must be text or a list"));
            }
            x => out.push((name, Template(scalar_text(x)))),
        }
    }
    Ok(out)
}

fn expect(actor: String, m: &Mapping, span: Span, note: Option<String>) -> Result<Expect, Bad> {
    let push = match m.get("push") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(Bad::at(
                "push",
                format!("`push` must be true or false, found {}", describe(v)),
            ));
        }
    };
    let source = match (m.get("reply"), push) {
        (Some(_), true) => {
            return Err(Bad::at(
                "reply",
                "`reply:` and `push: true` exclude each other".into(),
            ));
        }
        (Some(r), false) => ExpectSource::Reply(single("reply", r)?),
        (None, true) => ExpectSource::Push,
        (None, false) => ExpectSource::NextReply,
    };
    let checks_of = |k: &str| -> Result<Vec<(String, Check)>, Bad> {
        match m.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Mapping(mm)) => checks(mm).map_err(|e| e.context(&format!("`{k}`: "))),
            Some(v) => Err(Bad::at(
                k,
                format!("`{k}` must be a map of FIELD: CHECK, found {}", describe(v)),
            )),
        }
    };
    let mut captures = Vec::new();
    match m.get("capture") {
        None => {}
        Some(Value::Mapping(cm)) => {
            for (k, v) in cm {
                let name = scalar_text(k);
                captures.push((
                    Template(name.clone()),
                    capture(v).map_err(|e| e.context(&format!("capture `{name}`: ")))?,
                ));
            }
        }
        Some(v) => {
            return Err(Bad::at(
                "capture",
                format!(
                    "`capture` must be a map of VAR: {{field|xml: …}}, found {}",
                    describe(v)
                ),
            ));
        }
    }
    Ok(Expect {
        actor,
        source,
        name: text_of(m, "as")?,
        checks: checks_of("match")?,
        xml: checks_of("xml")?,
        captures,
        span,
        note,
    })
}

fn checks(m: &Mapping) -> Result<Vec<(String, Check)>, Bad> {
    m.iter()
        .map(|(k, v)| {
            let name = scalar_text(k);
            check(v)
                .map(|c| (name.clone(), c))
                .map_err(|e| e.context(&format!("`{name}`: ")))
        })
        .collect()
}

const CHECK_KEYS: &[&str] = &[
    "equals",
    "not_equals",
    "iequals",
    "regex",
    "contains",
    "one_of",
    "present",
    "absent",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "count",
    "distinct",
    "order",
    "each",
    "any",
    "utf8_len_of",
];

/// A check from YAML: a scalar means `equals`; a map combines check keys.
fn check(v: &Value) -> Result<Check, Bad> {
    let m = match v {
        Value::Mapping(m) => m,
        Value::Sequence(_) => {
            return Err(Bad::from(
                "a check is a value or a map of checks, not a list (use one_of)".to_owned(),
            ));
        }
        scalar => {
            return Ok(Check {
                equals: Some(Template(scalar_text(scalar))),
                ..Check::default()
            });
        }
    };
    let mut c = Check::default();
    for (k, val) in m {
        let key = scalar_text(k);
        let text = || single(&key, val).map(Template);
        let boolean = || match val {
            Value::Bool(b) => Ok(*b),
            other => Err(Bad::at(
                &key,
                format!("`{key}` must be true or false, found {}", describe(other)),
            )),
        };
        match key.as_str() {
            "equals" => c.equals = Some(text()?),
            "not_equals" => c.not_equals = Some(text()?),
            "iequals" => c.iequals = Some(text()?),
            "regex" => {
                let pattern = single(&key, val)?;
                if !pattern.contains("${") {
                    regex::Regex::new(&pattern)
                        .map_err(|e| Bad::at(&key, format!("bad regex: {e}")))?;
                }
                c.regex = Some(Template(pattern));
            }
            "contains" => c.contains = Some(text()?),
            "one_of" => match val {
                Value::Sequence(seq) => {
                    c.one_of = Some(
                        seq.iter()
                            .map(|x| single(&key, x).map(Template))
                            .collect::<Result<_, _>>()?,
                    );
                }
                other => {
                    return Err(Bad::at(
                        &key,
                        format!("`one_of` must be a list, found {}", describe(other)),
                    ));
                }
            },
            "present" => c.present = Some(boolean()?),
            "absent" => c.present = Some(!boolean()?),
            "lt" | "le" | "gt" | "ge" | "eq" | "ne" => {
                let op = match key.as_str() {
                    "lt" => Compare::Lt,
                    "le" => Compare::Le,
                    "gt" => Compare::Gt,
                    "ge" => Compare::Ge,
                    "eq" => Compare::Eq,
                    _ => Compare::Ne,
                };
                c.numeric.push((op, text()?));
            }
            "count" | "each" | "any" => {
                let inner = Box::new(check(val).map_err(|e| e.context(&format!("`{key}`: ")))?);
                match key.as_str() {
                    "count" => c.count = Some(inner),
                    "each" => c.each = Some(inner),
                    _ => c.any = Some(inner),
                }
            }
            "distinct" => c.distinct = Some(boolean()?),
            "order" => {
                c.order = Some(match single(&key, val)?.as_str() {
                    "ascending" => Order::Ascending,
                    "descending" => Order::Descending,
                    other => {
                        return Err(Bad::at(
                            &key,
                            format!("`order` must be ascending or descending, found `{other}`"),
                        ));
                    }
                });
            }
            "utf8_len_of" => c.utf8_len_of = Some(single(&key, val)?),
            other => {
                return Err(Bad::at(
                    other,
                    format!(
                        "unknown check `{other}`{} (expected one of {})",
                        did_you_mean(other, CHECK_KEYS),
                        CHECK_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(c)
}

fn capture(v: &Value) -> Result<Capture, Bad> {
    let Value::Mapping(m) = v else {
        return Err(Bad::from(format!(
            "must be a map with `field:`, `xml:` or `var:`, found {}",
            describe(v)
        )));
    };
    let mut c = Capture::default();
    for (k, val) in m {
        let key = scalar_text(k);
        let boolean = || match val {
            Value::Bool(b) => Ok(*b),
            other => Err(Bad::at(
                &key,
                format!("`{key}` must be true or false, found {}", describe(other)),
            )),
        };
        match key.as_str() {
            "field" => c.field = Some(single(&key, val)?),
            "xml" => c.xml = Some(single(&key, val)?),
            "var" => c.var = Some(single(&key, val)?),
            "regex" => {
                let pattern = single(&key, val)?;
                if !pattern.contains("${") {
                    regex::Regex::new(&pattern)
                        .map_err(|e| Bad::at(&key, format!("bad regex: {e}")))?;
                }
                c.regex = Some(Template(pattern));
            }
            "all" => c.all = boolean()?,
            "append" => c.append = boolean()?,
            "format" => c.format = Some(Template(single(&key, val)?)),
            "lowercase" => c.lowercase = boolean()?,
            other => {
                return Err(Bad::at(
                    other,
                    format!(
                        "unknown key `{other}`{} (expected {})",
                        did_you_mean(other, CAPTURE_KEYS),
                        CAPTURE_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    let sources = [c.field.is_some(), c.xml.is_some(), c.var.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if sources != 1 {
        return Err(Bad::from(
            "needs exactly one of `field:`, `xml:` or `var:`".to_owned(),
        ));
    }
    Ok(c)
}

const CAPTURE_KEYS: &[&str] = &[
    "field",
    "xml",
    "var",
    "regex",
    "all",
    "append",
    "format",
    "lowercase",
];

/// The keys of an `expect:` step besides `expect`, `note` and `timeout_ms`.
const EXPECT_KEYS: &[&str] = &["reply", "push", "as", "match", "xml", "capture"];

/// A load error about one key of a step: the message, and the key to point at.
#[derive(Debug)]
struct Bad {
    key: Option<String>,
    message: String,
}

impl Bad {
    fn at(key: &str, message: String) -> Self {
        Self {
            key: Some(key.to_owned()),
            message,
        }
    }

    /// The same error with `prefix` before its message.
    fn context(self, prefix: &str) -> Self {
        Self {
            message: format!("{prefix}{}", self.message),
            ..self
        }
    }
}

impl From<String> for Bad {
    fn from(message: String) -> Self {
        Self { key: None, message }
    }
}

/// ` (did you mean `x`?)` when one of `known` is within two edits of `word`.
pub(crate) fn did_you_mean(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|&(d, k)| d > 0 && d <= 2 && d < k.len())
        .min()
        .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"))
}

/// Adds the `include:` at `at` to the chain of a step spliced in from a fragment (and to the
/// steps of its `repeat:` body).
fn mark_included(step: &mut Step, at: &Span) {
    // The fragment at this level: the file of the innermost step, or of the include that
    // brought it into the fragment one level down.
    let file = step
        .origin
        .included
        .last()
        .map_or(&step.span.file, |i| &i.at.file);
    let fragment = fragment_label(file);
    step.origin.included.push(Include {
        fragment,
        at: at.clone(),
    });
    if let StepKind::Repeat(r) = &mut step.kind {
        for s in &mut r.steps {
            mark_included(s, at);
        }
    }
}

/// `fetion/login` for `…/fetion/fragments/login.yaml`; the file stem elsewhere.
fn fragment_label(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let parent = file.parent();
    match parent
        .filter(|p| p.file_name().is_some_and(|n| n == "fragments"))
        .and_then(Path::parent)
        .and_then(Path::file_name)
    {
        Some(proto) => format!("{}/{stem}", proto.to_string_lossy()),
        None => stem,
    }
}

/// The text of `key`'s value in `m`, if any; a list or map is refused.
fn text_of(m: &Mapping, key: &str) -> Result<Option<String>, Bad> {
    m.get(key).map(|v| single(key, v)).transpose()
}

/// The text of a scalar written under `key`; a list or map is described, never echoed as YAML.
fn single(key: &str, v: &Value) -> Result<String, Bad> {
    match v {
        Value::Sequence(_) | Value::Mapping(_) => Err(Bad::at(
            key,
            format!("`{key}` takes a single value, found {}", describe(v)),
        )),
        v => Ok(scalar_text(v)),
    }
}

fn take_u64(m: &mut Mapping, key: &str) -> Result<Option<u64>, String> {
    match m.remove(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a whole number, found {n}")),
        Some(v) => Err(format!(
            "`{key}` must be a whole number, found {}",
            describe(&v)
        )),
    }
}

fn mapping_pairs(m: &Mapping) -> Result<Vec<(String, Template)>, String> {
    let mut out = Vec::new();
    for (k, v) in m {
        if matches!(v, Value::Mapping(_) | Value::Sequence(_)) {
            return Err(format!("`{}` must be a single value", scalar_text(k)));
        }
        out.push((scalar_text(k), Template(scalar_text(v))));
    }
    Ok(out)
}

/// The text of a scalar (numbers and booleans as written by YAML's canonical form).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Tagged(t) => scalar_text(&t.value),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("`{s}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a map".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_document_is_found_at_its_marker_or_first_content() {
        let cases: &[(&str, Option<(usize, usize)>)] = &[
            ("title: a\n", None),
            ("---\ntitle: a\n", None),
            ("%YAML 1.2\n# c\n---\ntitle: a\n...\n# c\n", None),
            ("title: a\n---\ntitle: b\n", Some((2, 1))),
            ("---\ntitle: a\n--- \n", Some((3, 1))),
            ("# c\ntitle: a\n...\n\n  x: 1\n", Some((5, 3))),
            ("title: a\n...\n---\n", Some((3, 1))),
            ("title: a\r---\r", Some((2, 1))),
            ("title: a\r\n\r\n---\r\n", Some((3, 1))),
            ("title: a\u{85}---", Some((2, 1))),
            ("title: |\n ---\n----\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(second_document(text), *want, "{text:?}");
        }
    }

    #[test]
    fn a_second_document_is_reported_at_its_line() {
        let text = "title: a\nprotocol: fetion\nsteps: []\n\n---\ntitle: b\n";
        let e = load_str(Path::new("x.yaml"), text).unwrap_err();
        assert_eq!((e.span.line, e.span.column), (5, 1), "{e:?}");
        assert!(e.message.contains("more than one document"), "{e:?}");
    }
}
