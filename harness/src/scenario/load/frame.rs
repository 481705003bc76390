//! The frame of a `send:` step: its keys read as templates, checked against the keys the
//! case protocol's frames take ([`crate::proto::Protocol::frame_keys`]).

use serde_yaml::{Mapping, Value};

use crate::scenario::model::{FrameSpec, Protocol, Template, Tree};

use super::source::Bad;
use super::values::{describe, scalar_text, text_of};

pub(in crate::scenario) fn frame_spec(protocol: Protocol, m: &Mapping) -> Result<FrameSpec, Bad> {
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
    let keys = protocol.module().frame_keys();
    if let Some(k) = keys.foreign.iter().find(|k| has(k)) {
        return Err(Bad::at(
            k,
            format!("`{k}` is not a {} frame key", protocol.name()),
        ));
    }
    if keys.one_of.iter().filter(|k| has(k)).count() != 1 {
        return Err(Bad::from(keys.missing.to_owned()));
    }
    Ok(f)
}

/// A YAML value as a [`Tree`]: strings become templates, other scalars keep their kind.
pub(in crate::scenario) fn tree(v: &Value) -> Result<Tree, String> {
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

pub(in crate::scenario) fn headers(v: &Value) -> Result<Vec<(String, Template)>, String> {
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
