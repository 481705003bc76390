//! Loading scenario files: the only code that touches YAML (serde_yaml, behind this module
//! so a maintained fork can replace it in one place).
//!
//! Syntax errors carry serde_yaml's line and column. Semantic errors (unknown actor, bad
//! check, unknown step) point at the YAML list item of the offending step, found by a light
//! scan of the source text for `- ` items under the `steps:` key.
//!
//! This module reads a case file and its actors; its parts read the rest: `raw` (the serde
//! shapes), `steps` (steps, includes, driver ops), `frame` (`send:` frames), `expect`
//! (`expect:` items, checks, captures), `values` (YAML scalars and maps) and `source` (where
//! an error points).

pub(in crate::scenario) mod expect;
mod frame;
mod raw;
pub(in crate::scenario) mod source;
pub(in crate::scenario) mod steps;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::proto;
use crate::scenario::error::ScenarioError;
use crate::scenario::fragment::{Lookup, Sources};
use crate::scenario::model::{ActorOptions, ActorTarget, Protocol, Rule, Scenario, Template};

use raw::{RawActor, RawScenario};
pub(crate) use source::key_error_in;
use source::{Source, yaml_error};
pub use steps::fragment_contract;
use steps::{Ctx, convert_steps};
use values::mapping_pairs;

/// Default per-step timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

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
                "unknown protocol `{}` (expected {})",
                raw.protocol,
                protocol_names()
            ),
        )
    })?;
    if let Some(c) = raw
        .requires
        .iter()
        .find(|c| crate::scenario::capability::find(c).is_none())
    {
        return Err(whole.key_error("requires", crate::scenario::capability::unknown(c)));
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
                if proto::by_service(&s).is_none() {
                    return Err(whole.key_error(
                        &name,
                        format!(
                            "actor `{name}`: unknown service `{s}` (expected one of {})",
                            proto::services().collect::<Vec<_>>().join(", ")
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
    crate::scenario::check::case(&scenario, whole)?;
    Ok(scenario)
}

/// The scenario protocols' names as an error lists them: `fetion, leancloud, msnp or sip`.
fn protocol_names() -> String {
    let mut names: Vec<&str> = Protocol::all().map(Protocol::name).collect();
    names.sort_unstable();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
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

/// The service of the driver actor in a client case (`scenarios/clients/`, docs/driver-protocol.md).
pub use crate::proto::driver::DRIVER;

/// The options of an actor written as `{ service: leancloud, format: …, version: … }`.
fn actor_options_of(
    protocol: Protocol,
    service: &str,
    format: Option<String>,
    version: Option<String>,
) -> Result<ActorOptions, String> {
    if !protocol.module().takes_actor_options(service) {
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

#[cfg(test)]
mod tests {
    use super::source::second_document;
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
