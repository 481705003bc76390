//! Checks that need the whole case, run when it loads: every `${…}` names a variable that is
//! set somewhere (`params:`, `set:`, `capture:`), a stored frame or a built-in; every
//! `reply:` names a request written with `as:`; every field a check or capture reads is one
//! the actor's protocol has (header names stay free-form). A typo here would otherwise load
//! fine and fail at run time, often only after a full step timeout.
//!
//! Errors point at the key or `${…}` that is wrong when the step's lines show it, else at the
//! step.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::error::ScenarioError;
use super::load::source::{Source, did_you_mean};
use super::model::{
    ActorTarget, Capture, Check, Expect, ExpectSource, FrameSpec, Scenario, Span, Step, StepKind,
    Template, Tree,
};
use super::template::{self, Piece};
use crate::proto;

/// Checks a loaded case; `main` is the case file's text.
pub(super) fn case(s: &Scenario, main: Source) -> Result<(), ScenarioError> {
    let mut names = Names::default();
    for (k, _) in &s.params {
        names.var(k);
    }
    names.gather(&s.steps);
    let mut checker = Checker {
        s,
        names,
        sources: HashMap::new(),
    };
    for (name, target) in &s.actors {
        if let ActorTarget::Address(t) = target
            && let Err(bad) = checker.template(t)
        {
            let at = main
                .text_span((0, main.line_count()), &bad.needle)
                .unwrap_or_else(|| main.span(0, 0));
            return Err(ScenarioError {
                span: at,
                message: format!("actor `{name}`: {}", bad.message),
            });
        }
    }
    checker.sources.insert(main.file.clone(), main);
    checker.steps(&s.steps)
}

/// What a case defines anywhere in its steps.
#[derive(Default)]
struct Names {
    /// Variables set by `params:`, `set:` or `capture:`.
    vars: BTreeSet<String>,
    /// The fixed start of variable names built with `${…}` (`st_${actor}`).
    var_prefixes: BTreeSet<String>,
    /// Requests named with `as:` (what `reply:` can name).
    requests: BTreeSet<String>,
    /// Frames stored with `as:` and the actor they belong to.
    frames: BTreeMap<String, String>,
    /// Actors used by `http:` steps.
    http_actors: BTreeSet<String>,
}

impl Names {
    fn var(&mut self, name: &str) {
        match name.find("${") {
            Some(i) => {
                self.var_prefixes.insert(name[..i].to_owned());
            }
            None => {
                self.vars.insert(name.to_owned());
            }
        }
    }

    fn gather(&mut self, steps: &[Step]) {
        for step in steps {
            match &step.kind {
                StepKind::Set(pairs) => {
                    for (k, _) in pairs {
                        self.var(k);
                    }
                }
                StepKind::Expect(e) => self.expect(e),
                StepKind::Answer(a) => self.expect(&a.when),
                StepKind::ExpectAnyOrder(list) => list.iter().for_each(|e| self.expect(e)),
                StepKind::Send(send) => {
                    if let Some(n) = &send.name {
                        self.requests.insert(n.clone());
                        self.frames.insert(n.clone(), send.actor.clone());
                    }
                }
                StepKind::Http(h) => {
                    self.http_actors.insert(h.actor.clone());
                    if let Some(n) = &h.name {
                        self.requests.insert(n.clone());
                        self.frames.insert(n.clone(), h.actor.clone());
                    }
                }
                StepKind::Repeat(r) => self.gather(&r.steps),
                _ => {}
            }
        }
    }

    fn expect(&mut self, e: &Expect) {
        for (name, _) in &e.captures {
            self.var(&name.0);
        }
        if let Some(n) = &e.name {
            self.frames.insert(n.clone(), e.actor.clone());
        }
    }
}

/// What is wrong and the text that shows it in the file.
struct Bad {
    message: String,
    /// Text to find in the step's lines (`${reg_bobb}`, or a key with `:` appended).
    needle: String,
    /// Whether `needle` is a key (found as `key:`).
    key: bool,
}

impl Bad {
    fn key(key: &str, message: String) -> Self {
        Self {
            message,
            needle: key.to_owned(),
            key: true,
        }
    }
}

struct Checker<'s> {
    s: &'s Scenario,
    names: Names,
    sources: HashMap<PathBuf, Source>,
}

impl Checker<'_> {
    fn steps(&mut self, steps: &[Step]) -> Result<(), ScenarioError> {
        for step in steps {
            if let StepKind::Repeat(r) = &step.kind {
                let mut result = r.times.as_ref().map_or(Ok(()), |t| self.template(t));
                if let (Ok(()), Some((var, c))) = (&result, &r.until) {
                    result = self.variable(var).and_then(|()| self.check(c));
                }
                result.map_err(|b| self.locate(&step.span, b))?;
                self.steps(&r.steps)?;
                continue;
            }
            if let StepKind::ExpectAnyOrder(list) = &step.kind {
                for e in list {
                    self.expect(e).map_err(|b| self.locate(&e.span, b))?;
                }
                continue;
            }
            self.step(&step.kind)
                .map_err(|b| self.locate(&step.span, b))?;
        }
        Ok(())
    }

    fn step(&self, kind: &StepKind) -> Result<(), Bad> {
        match kind {
            StepKind::Send(send) => self.frame(&send.frame),
            StepKind::Http(h) => {
                for t in h.method.iter().chain([&h.target]).chain(&h.body) {
                    self.template(t)?;
                }
                self.headers(&h.headers)
            }
            StepKind::Expect(e) => self.expect(e),
            StepKind::Answer(a) => self.expect(&a.when).and_then(|()| self.frame(&a.frame)),
            StepKind::Set(pairs) => pairs.iter().try_for_each(|(_, v)| self.template(v)),
            StepKind::Assert(checks) => checks.iter().try_for_each(|(var, c)| {
                self.variable(var)
                    .map_err(|b| Bad::key(var, b.message))
                    .and_then(|()| self.check(c))
            }),
            StepKind::Barrier(_)
            | StepKind::Connect(_)
            | StepKind::Disconnect(_)
            | StepKind::ExpectClosed(_)
            | StepKind::ExpectNoPush(_)
            | StepKind::ExpectAnyOrder(_)
            | StepKind::Repeat(_) => Ok(()),
        }
    }

    fn frame(&self, f: &FrameSpec) -> Result<(), Bad> {
        let singles = [
            &f.raw, &f.method, &f.status, &f.reason, &f.target, &f.version, &f.verb, &f.trid,
            &f.length, &f.body,
        ];
        for t in singles.into_iter().flatten() {
            self.template(t)?;
        }
        self.headers(&f.headers)?;
        for block in &f.blocks {
            self.headers(block)?;
        }
        if let Some(tree) = &f.command {
            self.tree(tree)?;
        }
        if let Some(name) = &f.reply_to
            && !self.names.frames.contains_key(name)
        {
            return Err(Bad::key(
                "reply_to",
                format!(
                    "`reply_to: {name}` names no frame stored with `as:`{}{}",
                    did_you_mean(name, &self.frame_names()),
                    list_of("stored", &self.frame_names()),
                ),
            ));
        }
        Ok(())
    }

    fn expect(&self, e: &Expect) -> Result<(), Bad> {
        if let ExpectSource::Reply(name) = &e.source
            && !self.names.requests.contains(name)
        {
            let requests: Vec<&str> = self.names.requests.iter().map(String::as_str).collect();
            return Err(Bad::key(
                "reply",
                format!(
                    "`reply: {name}` names no request (name one with `as:` on its `send:` or `http:` step){}{}",
                    did_you_mean(name, &requests),
                    list_of("named", &requests),
                ),
            ));
        }
        let fields = self.fields_of(&e.actor);
        for (field, c) in &e.checks {
            fields.check(field)?;
            if let Some(other) = &c.utf8_len_of {
                fields
                    .check(other)
                    .map_err(|b| Bad::key("utf8_len_of", b.message))?;
            }
            self.check(c)?;
        }
        for (_, c) in &e.xml {
            self.check(c)?;
        }
        for (name, c) in &e.captures {
            self.template(name)?;
            self.capture(&fields, c)?;
        }
        Ok(())
    }

    fn capture(&self, fields: &Fields, c: &Capture) -> Result<(), Bad> {
        if let Some(f) = &c.field {
            fields.check(f).map_err(|b| Bad {
                needle: f.clone(),
                key: false,
                ..b
            })?;
        }
        if let Some(v) = &c.var {
            self.variable(v)?;
        }
        for t in c.regex.iter().chain(&c.format) {
            self.template(t)?;
        }
        Ok(())
    }

    fn check(&self, c: &Check) -> Result<(), Bad> {
        let singles = [&c.equals, &c.not_equals, &c.iequals, &c.regex, &c.contains];
        for t in singles.into_iter().flatten() {
            self.template(t)?;
        }
        for t in c.one_of.iter().flatten() {
            self.template(t)?;
        }
        for (_, t) in &c.numeric {
            self.template(t)?;
        }
        for inner in [&c.count, &c.each, &c.any].into_iter().flatten() {
            self.check(inner)?;
        }
        Ok(())
    }

    fn headers(&self, headers: &[(String, Template)]) -> Result<(), Bad> {
        for (name, value) in headers {
            self.template(&Template(name.clone()))?;
            self.template(value)?;
        }
        Ok(())
    }

    fn tree(&self, t: &Tree) -> Result<(), Bad> {
        match t {
            Tree::Str(s) => self.template(s),
            Tree::List(items) => items.iter().try_for_each(|x| self.tree(x)),
            Tree::Map(pairs) => pairs.iter().try_for_each(|(_, x)| self.tree(x)),
            Tree::Bool(_) | Tree::Null | Tree::Number(_) => Ok(()),
        }
    }

    /// Every `${…}` of a template.
    fn template(&self, t: &Template) -> Result<(), Bad> {
        self.text(&t.0)
    }

    fn text(&self, s: &str) -> Result<(), Bad> {
        let pieces = template::pieces(s).map_err(|m| Bad {
            message: m,
            needle: "${".into(),
            key: false,
        })?;
        for p in pieces {
            if let Piece::Expr(e) = p {
                self.expr(e).map_err(|message| Bad {
                    message,
                    needle: format!("${{{e}}}"),
                    key: false,
                })?;
            }
        }
        Ok(())
    }

    /// One expression (the inside of `${…}`), as `runner::vars` evaluates it.
    fn expr(&self, e: &str) -> Result<(), String> {
        if let Some((name, args)) = template::call(e) {
            let Some(&(_, arity)) = template::FUNCTIONS.iter().find(|(f, _)| *f == name) else {
                let known: Vec<&str> = template::FUNCTIONS.iter().map(|(f, _)| *f).collect();
                return Err(format!(
                    "unknown function `{name}`{} (expected {})",
                    did_you_mean(name, &known),
                    known.join(", ")
                ));
            };
            if args.len() != arity {
                return Err(format!(
                    "`{name}` takes {arity} argument(s), got {}",
                    args.len()
                ));
            }
            return args
                .iter()
                .try_for_each(|a| self.text(a.trim()).map_err(|b| b.message));
        }
        if e.contains("${") {
            // A name built at run time: only its parts can be checked.
            return self.text(e).map_err(|b| b.message);
        }
        self.variable(e.trim()).map_err(|b| b.message)
    }

    /// A variable name as `${NAME}` or `assert:`/`until:`/`var:` use it.
    fn variable(&self, name: &str) -> Result<(), Bad> {
        let n = &self.names;
        if n.vars.contains(name)
            || ["run_id", "iteration"].contains(&name)
            || name.starts_with("fresh:")
            || name.starts_with("password:")
            || n.var_prefixes.iter().any(|p| name.starts_with(p.as_str()))
        {
            return Ok(());
        }
        let bad = |message: String| Bad {
            message,
            needle: format!("${{{name}}}"),
            key: false,
        };
        if let Some(actor) = name.strip_prefix("local:") {
            return if self.s.actors.contains_key(actor) {
                Ok(())
            } else {
                Err(bad(format!("`local:{actor}` names no actor")))
            };
        }
        if let Some((frame, field)) = name.split_once('.')
            && let Some(actor) = n.frames.get(frame)
        {
            return self
                .fields_of(actor)
                .check(field)
                .map_err(|b| bad(format!("`${{{name}}}`: {}", b.message)));
        }
        let known: Vec<&str> = n.vars.iter().map(String::as_str).collect();
        Err(bad(format!(
            "unknown variable `{name}`{}: nothing sets it (set variables with `params:`, `set:` or `capture:`)",
            did_you_mean(name, &known)
        )))
    }

    fn frame_names(&self) -> Vec<&str> {
        self.names.frames.keys().map(String::as_str).collect()
    }

    /// The fields of frames `actor` receives.
    fn fields_of(&self, actor: &str) -> Fields {
        let case = self.s.protocol.module();
        if self.names.http_actors.contains(actor) {
            return Fields {
                what: "HTTP response".into(),
                modules: vec![Module::Gateway],
            };
        }
        match self.s.actors.get(actor) {
            // An actor on a service of a protocol spoken inside other protocols' cases: MSRP
            // in SIP cases, the client under test's driver (docs/driver-protocol.md).
            Some(ActorTarget::Service(s)) => match proto::by_service(s) {
                Some(p) if !p.scenario_protocol() => Fields {
                    what: p.name().into(),
                    modules: vec![Module::Proto(p)],
                },
                _ => Fields {
                    what: case.name().into(),
                    modules: vec![Module::Proto(case)],
                },
            },
            // An address may turn out to be one of another protocol at run time (an MSRP URI).
            Some(ActorTarget::Address(_)) if !case.address_protocols().is_empty() => Fields {
                what: std::iter::once(case.name())
                    .chain(case.address_protocols().iter().map(|p| p.name()))
                    .collect::<Vec<_>>()
                    .join(" or "),
                modules: std::iter::once(case)
                    .chain(case.address_protocols().iter().copied())
                    .map(Module::Proto)
                    .collect(),
            },
            _ => Fields {
                what: case.name().into(),
                modules: vec![Module::Proto(case)],
            },
        }
    }

    /// The error at the place in the file that shows it.
    fn locate(&mut self, span: &Span, bad: Bad) -> ScenarioError {
        let source = self
            .sources
            .entry(span.file.clone())
            .or_insert_with(|| Source {
                file: span.file.clone(),
                text: std::fs::read_to_string(&span.file).unwrap_or_default(),
            });
        let lines = source.item_lines(span);
        let found = if bad.key {
            source.key_span(lines, &bad.needle)
        } else {
            source.text_span(lines, &bad.needle)
        };
        ScenarioError {
            span: found.unwrap_or_else(|| span.clone()),
            message: bad.message,
        }
    }
}

enum Module {
    Gateway,
    Proto(&'static dyn proto::Protocol),
}

/// The field names of the frames an actor receives.
struct Fields {
    what: String,
    modules: Vec<Module>,
}

impl Fields {
    fn check(&self, field: &str) -> Result<(), Bad> {
        let known = |m: &Module| match m {
            Module::Gateway => crate::proto::http::known_field(field),
            Module::Proto(p) => p.known_field(field),
        };
        if self.modules.iter().any(known) {
            return Ok(());
        }
        let names: Vec<&str> = self
            .modules
            .iter()
            .flat_map(|m| match m {
                Module::Gateway => crate::proto::http::FIELDS,
                Module::Proto(p) => p.fields(),
            })
            .copied()
            .collect();
        let shown: Vec<String> = names
            .iter()
            .map(|n| {
                if n.ends_with('.') {
                    format!("{n}NAME")
                } else {
                    (*n).to_owned()
                }
            })
            .collect();
        Err(Bad::key(
            field,
            format!(
                "unknown field `{field}` for a {} frame{} (fields: {})",
                self.what,
                did_you_mean(field, &names),
                shown.join(", ")
            ),
        ))
    }
}

/// ` (named: a, b)` or ` (none named)`.
fn list_of(what: &str, names: &[&str]) -> String {
    if names.is_empty() {
        format!(" (none {what})")
    } else {
        format!(" ({what}: {})", names.join(", "))
    }
}
