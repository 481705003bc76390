//! Target profiles (scenarios/README.md §4): targets, accounts, capabilities, params,
//! fragments, baseline — everything `imspec run --profile F` needs to test a server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scenario::load::key_error_in;
use crate::scenario::{ScenarioError, capability, fragment};

/// What the runner knows about a target.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Where each service listens: `fetion: HOST:PORT`, … (`--target` overrides entries).
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
    /// Replacements of built-in fragments: `fetion/login: PATH` (relative to the profile's
    /// folder; absolute once loaded).
    #[serde(default)]
    pub fragments: BTreeMap<String, PathBuf>,
    /// Fixed accounts by role; other roles get fresh ids.
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
    /// Password of fresh accounts.
    #[serde(default = "default_password")]
    pub password: String,
    /// Capabilities claimed; `None` claims every capability.
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    /// Overrides of scenario params.
    #[serde(default)]
    pub params: BTreeMap<String, Scalar>,
    /// How barriers are made.
    #[serde(default)]
    pub barrier: BarrierMode,
    /// Length of a `quiet` barrier in milliseconds before `--timeout-scale` (default 300).
    #[serde(default)]
    pub quiet_ms: Option<u64>,
    /// Case ids expected to fail (glob patterns allowed).
    #[serde(default)]
    pub baseline: Vec<String>,
}

/// A fixed account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account id (Fetion sid, MSNP name).
    pub id: String,
    /// Its password; the profile's `password` when absent.
    #[serde(default)]
    pub password: Option<String>,
}

/// A YAML scalar kept as text.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true`/`false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text.
    Text(String),
}

impl Scalar {
    /// The value as text.
    pub fn text(&self) -> String {
        match self {
            Self::Bool(b) => b.to_string(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// How a barrier proves that nothing else is in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BarrierMode {
    /// A protocol round trip (MSNP `PNG`, Fetion `S` KeepAlive).
    #[default]
    RoundTrip,
    /// A bounded quiet period, for targets that answer neither.
    Quiet,
}

/// Targets read from `imspec serve`'s `listening <service> <host:port>` lines (other lines
/// are ignored; a file without any is an error).
pub fn targets_from_listening(text: &str) -> Result<Vec<(String, String)>, String> {
    let found: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["listening", service, addr] => Some((service.to_owned(), addr.to_owned())),
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return Err("no `listening <service> <host:port>` line".into());
    }
    for (name, addr) in &found {
        check_target(name, addr)?;
    }
    Ok(found)
}

/// A known service name and a `host:port` address.
fn check_target(name: &str, addr: &str) -> Result<(), String> {
    if crate::proto::by_service(name).is_none() {
        return Err(format!(
            "unknown service `{name}` (expected one of {})",
            crate::proto::services().collect::<Vec<_>>().join(", ")
        ));
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("`{name}: {addr}`: expected HOST:PORT")),
    }
}

/// A replacement of built-in fragment `key` must exist and promise what the built-in does.
fn check_replacement(builtin: &Path, key: &str, file: &Path) -> Result<(), String> {
    let original = fragment::builtin_file(builtin, key);
    if !key.contains('/') || !original.is_file() {
        return Err(format!(
            "fragments: no built-in fragment `{key}` (expected FOLDER/NAME, e.g. fetion/login, naming {})",
            original.display()
        ));
    }
    let theirs = crate::scenario::load::fragment_contract(file)
        .map_err(|e| format!("fragments: `{key}` replacement: {e}"))?;
    let ours = crate::scenario::load::fragment_contract(&original).map_err(|e| e.to_string())?;
    let lacking = ours.lacking_in(&theirs);
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fragments: {} does not provide what built-in `{key}` does: {} (declare them under `params:`/`provides:` and make its steps deliver them)",
            file.display(),
            lacking.join(", ")
        ))
    }
}

/// The password the runner logs in with when a profile gives none: the reference server's
/// default for every account (`imspec serve` without `--accounts`).
pub const DEFAULT_PASSWORD: &str = "imspec";

fn default_password() -> String {
    DEFAULT_PASSWORD.to_owned()
}

impl Default for Profile {
    /// The built-in profile: the reference server's test accounts (any id, password `imspec`),
    /// every capability, no baseline.
    fn default() -> Self {
        Self {
            targets: BTreeMap::new(),
            fragments: BTreeMap::new(),
            accounts: BTreeMap::new(),
            password: default_password(),
            capabilities: None,
            params: BTreeMap::new(),
            barrier: BarrierMode::RoundTrip,
            quiet_ms: None,
            baseline: Vec::new(),
        }
    }
}

impl Profile {
    /// Loads a profile file; errors carry file:line:column. Checks capability and service
    /// names, target addresses, and that each fragment replacement provides what the built-in
    /// fragment does (built-ins under [`fragment::builtin_dir`]).
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        Self::load_against(path, &fragment::builtin_dir())
    }

    /// [`Profile::load`] with the built-in scenarios under `builtin`.
    pub fn load_against(path: &Path, builtin: &Path) -> Result<Self, ScenarioError> {
        let mut p: Self = crate::scenario::load::parse_yaml_file(path)?;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let at = |key: &str, m: String| key_error_in(path, &text, key, m);
        for c in p.capabilities.iter().flatten() {
            if capability::find(c).is_none() {
                return Err(at("capabilities", capability::unknown(c)));
            }
        }
        for (name, addr) in &p.targets {
            check_target(name, addr).map_err(|m| at(name, format!("targets: {m}")))?;
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        for (key, file) in &mut p.fragments {
            *file = dir.join(&*file);
            check_replacement(builtin, key, file).map_err(|m| at(key, m))?;
        }
        for pattern in &p.baseline {
            globset::Glob::new(pattern).map_err(|e| {
                ScenarioError::at(
                    path,
                    0,
                    0,
                    format!("baseline: bad pattern `{pattern}`: {e}"),
                )
            })?;
        }
        Ok(p)
    }

    /// Applies `NAME=HOST:PORT` target overrides (`--target`, `--targets-from`).
    pub fn set_target(&mut self, name: &str, addr: &str) -> Result<(), String> {
        check_target(name, addr)?;
        self.targets.insert(name.to_owned(), addr.to_owned());
        Ok(())
    }

    /// Whether the target claims a capability.
    pub fn claims(&self, capability: &str) -> bool {
        self.capabilities
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == capability))
    }

    /// Whether a case is in the baseline.
    pub fn in_baseline(&self, id: &str) -> bool {
        self.baseline
            .iter()
            .any(|p| globset::Glob::new(p).is_ok_and(|g| g.compile_matcher().is_match(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_become_targets() {
        let t = targets_from_listening(
            "listening fetion 127.0.0.1:1\nnoise\nlistening sip [::1]:5060\n",
        )
        .unwrap();
        assert_eq!(
            t,
            [
                ("fetion".into(), "127.0.0.1:1".into()),
                ("sip".into(), "[::1]:5060".into())
            ]
        );
        assert!(targets_from_listening("nothing\n").is_err());
        assert!(targets_from_listening("listening pop3 127.0.0.1:1\n").is_err());
        assert!(targets_from_listening("listening sip 127.0.0.1\n").is_err());
    }
}
