//! Reading scalars, maps and lists out of YAML values, with errors that name the key.

use serde_yaml::{Mapping, Value};

use crate::scenario::model::Template;

use super::source::Bad;

/// The text of `key`'s value in `m`, if any; a list or map is refused.
pub(in crate::scenario) fn text_of(m: &Mapping, key: &str) -> Result<Option<String>, Bad> {
    m.get(key).map(|v| single(key, v)).transpose()
}

/// The text of a scalar written under `key`; a list or map is described, never echoed as YAML.
pub(in crate::scenario) fn single(key: &str, v: &Value) -> Result<String, Bad> {
    match v {
        Value::Sequence(_) | Value::Mapping(_) => Err(Bad::at(
            key,
            format!("`{key}` takes a single value, found {}", describe(v)),
        )),
        v => Ok(scalar_text(v)),
    }
}

pub(in crate::scenario) fn take_u64(m: &mut Mapping, key: &str) -> Result<Option<u64>, String> {
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

pub(in crate::scenario) fn mapping_pairs(m: &Mapping) -> Result<Vec<(String, Template)>, String> {
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
pub(in crate::scenario) fn scalar_text(v: &Value) -> String {
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

pub(in crate::scenario) fn describe(v: &Value) -> String {
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
