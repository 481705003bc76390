//! Target profiles (scenarios/README.md §4): accounts, capabilities, params, baseline.

use std::collections::BTreeMap;
use std::path::Path;

use crate::scenario::ScenarioError;

/// What the runner knows about a target.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
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

fn default_password() -> String {
    crate::auth::DEFAULT_PASSWORD.to_owned()
}

impl Default for Profile {
    /// The built-in profile: the reference server's test accounts (any id, password `imspec`),
    /// every capability, no baseline.
    fn default() -> Self {
        Self {
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
    /// Loads a profile file; errors carry file:line:column.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let p: Self = crate::scenario::load::parse_yaml_file(path)?;
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
