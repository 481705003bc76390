//! Where `include: NAME` finds its fragment, and what a fragment promises (`provides:`).
//!
//! A case's fragment resolves from, in order: the case's own `fragments/` folder, each
//! `--fragments DIR` (files `DIR/NAME.yaml`), then the built-in set
//! (`scenarios/<folder>/fragments/NAME.yaml`, where `<folder>` is the case's folder under
//! `scenarios/`, or its protocol for a case kept elsewhere). A built-in case's own folder is
//! the built-in set, so `--fragments` serves only what it lacks. A profile's `fragments:` entry
//! (`fetion/login: PATH`) replaces a built-in fragment wherever the lookup lands on it.
//!
//! A fragment declares what later steps may rely on:
//!
//! ```yaml
//! params: { actor: alice }
//! provides:
//!   states: ["${actor} logged in"]   # what holds after it ran (free text, compared as written)
//!   vars: [reg_${actor}]             # variables it captures or sets
//! ```
//!
//! Every declared variable must be captured or set by the fragment's own steps; a profile's
//! replacement must take the same params and provide at least the same states and variables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

/// The places fragments come from besides a case's own folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    /// `--fragments DIR`s, searched in order after the case's own `fragments/` folder.
    pub dirs: Vec<PathBuf>,
    /// A profile's replacements of built-in fragments: `fetion/login` → file.
    pub overrides: std::collections::BTreeMap<String, PathBuf>,
    /// The built-in scenarios folder (`scenarios/`).
    pub builtin: PathBuf,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            dirs: Vec::new(),
            overrides: std::collections::BTreeMap::new(),
            builtin: builtin_dir(),
        }
    }
}

/// The built-in scenarios: `./scenarios` when it exists, else the checkout's `scenarios/`.
pub fn builtin_dir() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }
}

/// `provides:` of a fragment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provides {
    /// What holds once the fragment ran (`${actor} logged in`), compared as written.
    #[serde(default)]
    pub states: Vec<String>,
    /// Variables it captures or sets (`reg_${actor}`), as written.
    #[serde(default)]
    pub vars: Vec<String>,
}

/// What a fragment file promises: its params and `provides:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contract {
    /// Parameter names.
    pub params: BTreeSet<String>,
    /// Declared states.
    pub states: BTreeSet<String>,
    /// Declared variables.
    pub vars: BTreeSet<String>,
}

impl Contract {
    /// What `self` promises that `other` does not (`param actor`, `state …`, `var …`).
    pub fn lacking_in(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, mine, theirs) in [
            ("param", &self.params, &other.params),
            ("state", &self.states, &other.states),
            ("var", &self.vars, &other.vars),
        ] {
            out.extend(mine.difference(theirs).map(|x| format!("{what} `{x}`")));
        }
        out
    }
}

/// Where one case looks for fragments.
#[derive(Clone, Debug)]
pub(crate) struct Lookup {
    /// The case's own `fragments/` folder.
    own: PathBuf,
    /// Whether that folder is the built-in one.
    own_is_builtin: bool,
    /// The case's folder name under the built-in set (`fetion`, `gateway`, …).
    folder: String,
    sources: Sources,
}

impl Lookup {
    /// The lookup of the case at `path` (protocol name `protocol`).
    pub(crate) fn new(path: &Path, protocol: &str, sources: &Sources) -> Self {
        let own = own_dir(path);
        let builtin = canonical(&sources.builtin);
        let mut dir = canonical(path.parent().unwrap_or(Path::new(".")));
        if dir.file_name().is_some_and(|n| n == "fragments") {
            dir.pop();
        }
        let in_builtin = (dir.parent() == Some(builtin.as_path()))
            .then(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .flatten();
        Self {
            own,
            own_is_builtin: in_builtin.is_some(),
            folder: in_builtin.unwrap_or_else(|| protocol.to_owned()),
            sources: sources.clone(),
        }
    }

    /// The file of fragment `name`, or an error naming every place looked in.
    pub(crate) fn resolve(&self, name: &str) -> Result<PathBuf, String> {
        let file = format!("{name}.yaml");
        let key = format!("{}/{name}", self.folder);
        let own = self.own.join(&file);
        let mut places = vec![own.clone()];
        places.extend(self.sources.dirs.iter().map(|d| d.join(&file)));
        let builtin = builtin_file(&self.sources.builtin, &key);
        if !self.own_is_builtin {
            places.push(builtin.clone());
        }
        if let Some(found) = places.iter().find(|p| p.is_file()) {
            let is_builtin = *found == builtin || (self.own_is_builtin && *found == own);
            return Ok(match self.sources.overrides.get(&key) {
                Some(replacement) if is_builtin => replacement.clone(),
                _ => found.clone(),
            });
        }
        Err(format!(
            "fragment `{name}` not found; looked in {}",
            places
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The file of built-in fragment `key` (`fetion/login`) under `builtin`.
pub fn builtin_file(builtin: &Path, key: &str) -> PathBuf {
    let (folder, name) = key.split_once('/').unwrap_or(("", key));
    builtin
        .join(folder)
        .join("fragments")
        .join(format!("{name}.yaml"))
}

/// Checks that every declared variable is captured or set by `steps` (before substitution).
pub(crate) fn check_declared(provides: &Provides, steps: &[Value]) -> Result<(), String> {
    let mut written = BTreeSet::new();
    for s in steps {
        collect_written(s, &mut written);
    }
    match provides.vars.iter().find(|v| !written.contains(v.as_str())) {
        Some(v) => Err(format!(
            "`provides:` declares var `{v}`, which no step of this fragment captures or sets"
        )),
        None => Ok(()),
    }
}

/// The contract of a fragment file read from `params:` and `provides:` keys.
pub(crate) fn contract_of(params: &Mapping, provides: &Provides) -> Contract {
    Contract {
        params: params
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        states: provides.states.iter().cloned().collect(),
        vars: provides.vars.iter().cloned().collect(),
    }
}

/// Names of `capture:` and `set:` keys anywhere in a step (repeat bodies included).
fn collect_written(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                if let (Some("capture" | "set"), Value::Mapping(vars)) = (k.as_str(), x) {
                    out.extend(vars.keys().filter_map(|n| n.as_str().map(str::to_owned)));
                }
                collect_written(x, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| collect_written(x, out)),
        _ => {}
    }
}

fn own_dir(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    if parent.file_name().is_some_and(|n| n == "fragments") {
        parent.to_path_buf()
    } else {
        parent.join("fragments")
    }
}

fn canonical(p: &Path) -> PathBuf {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
