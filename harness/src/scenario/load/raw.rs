//! The YAML shapes of a case and a fragment file as serde reads them, before conversion.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::scenario::fragment::Provides;
use crate::scenario::model::Level;

use super::values::scalar_text;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::scenario) struct RawScenario {
    pub(in crate::scenario) title: String,
    pub(in crate::scenario) protocol: String,
    #[serde(default)]
    pub(in crate::scenario) rules: Vec<RawRule>,
    #[serde(default)]
    pub(in crate::scenario) requires: Vec<String>,
    #[serde(default)]
    pub(in crate::scenario) params: Mapping,
    #[serde(default)]
    pub(in crate::scenario) actors: BTreeMap<String, RawActor>,
    pub(in crate::scenario) timeout_ms: Option<u64>,
    pub(in crate::scenario) steps: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::scenario) struct RawRule {
    pub(in crate::scenario) id: String,
    pub(in crate::scenario) text: String,
    pub(in crate::scenario) source: String,
    pub(in crate::scenario) evidence: crate::scenario::model::Evidence,
    #[serde(default = "must")]
    pub(in crate::scenario) level: Level,
}

pub(in crate::scenario) fn must() -> Level {
    Level::Must
}

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub(in crate::scenario) enum RawActor {
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
pub(in crate::scenario) struct RawFragment {
    #[serde(default)]
    pub(in crate::scenario) params: Mapping,
    #[serde(default)]
    pub(in crate::scenario) provides: Provides,
    pub(in crate::scenario) steps: Vec<Value>,
}

/// A scalar option (`version: 3` or `version: "3"`) as text.
pub(in crate::scenario) fn opt_scalar<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.map(|v| scalar_text(&v)))
}
