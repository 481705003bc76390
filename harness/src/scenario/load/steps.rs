//! Steps: each YAML list item under `steps:` becomes a [`Step`](crate::scenario::Step),
//! `include:` splices a fragment's steps in (parameters substituted, the include chain
//! recorded), and a driver actor's `send:` is an op.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::scenario::error::ScenarioError;
use crate::scenario::fragment::{self, Lookup};
use crate::scenario::model::{
    Answer, FrameSpec, HttpSend, Include, Origin, Protocol, Repeat, Send, Span, Step, StepKind,
    Template,
};

use super::expect::{EXPECT_KEYS, check, checks, expect};
use super::frame::{frame_spec, headers, tree};
use super::raw::RawFragment;
use super::source::{Bad, Source, did_you_mean, item_ranges, yaml_error};
use super::values::{describe, mapping_pairs, scalar_text, single, take_u64, text_of};

/// How deep fragments may include fragments.
pub(in crate::scenario) const MAX_INCLUDE_DEPTH: usize = 8;

/// A `send:` to a driver actor: `command:` is the op object (`{op: login, user: alice}`).
pub(in crate::scenario) fn driver_op(m: &Mapping) -> Result<FrameSpec, Bad> {
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

/// What step conversion needs to know.
pub(in crate::scenario) struct Ctx {
    pub(in crate::scenario) protocol: Protocol,
    pub(in crate::scenario) actors: BTreeSet<String>,
    /// Actors of service `driver` (client cases): their frames are driver-protocol ops.
    pub(in crate::scenario) drivers: BTreeSet<String>,
    pub(in crate::scenario) fragments: Lookup,
}

pub(in crate::scenario) fn convert_steps(
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

/// The keys a step of `kind` takes besides its kind, `note` and `timeout_ms` (the JSON
/// Schema's step types must agree: `schema::tests`).
pub(in crate::scenario) fn step_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "send" => &[
            "as", "raw", "method", "status", "reason", "target", "version", "verb", "trid",
            "length", "headers", "blocks", "body", "reply_to", "command",
        ],
        "expect" => EXPECT_KEYS,
        "answer" => &["as", "match", "with"],
        "http" => &["as", "method", "target", "headers", "body"],
        "include" => &["with"],
        _ => &[],
    }
}

/// The keys of a `repeat:` step's map.
pub(in crate::scenario) const REPEAT_KEYS: &[&str] = &["steps", "times", "until", "max"];

pub(in crate::scenario) const STEP_KINDS: &[&str] = &[
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
pub(in crate::scenario) fn convert_step(
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
    let allowed = step_keys(kind);
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

pub(in crate::scenario) fn include(
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
pub(in crate::scenario) fn read_fragment(
    path: &Path,
) -> Result<(RawFragment, Source), ScenarioError> {
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

/// The params and `provides:` of the fragment file at `path` (checked as an include would):
/// its contract, for a profile that replaces it.
pub fn fragment_contract(path: &Path) -> Result<fragment::Contract, ScenarioError> {
    let (raw, _) = read_fragment(path)?;
    Ok(fragment::contract_of(&raw.params, &raw.provides))
}

/// Replaces `${param}` for the fragment's parameters in every string (keys included).
pub(in crate::scenario) fn substitute(v: &Value, params: &BTreeMap<String, String>) -> Value {
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

pub(in crate::scenario) fn substitute_str(s: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in params {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// Adds the `include:` at `at` to the chain of a step spliced in from a fragment (and to the
/// steps of its `repeat:` body).
pub(in crate::scenario) fn mark_included(step: &mut Step, at: &Span) {
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
pub(in crate::scenario) fn fragment_label(file: &Path) -> String {
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
