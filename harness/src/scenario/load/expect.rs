//! `expect:` items: the reply or push they wait for, their `match:` checks, `xml:` checks
//! and `capture:`s.

use serde_yaml::{Mapping, Value};

use crate::scenario::model::{
    Capture, Check, Compare, Expect, ExpectSource, Order, Span, Template,
};

use super::source::{Bad, did_you_mean};
use super::values::{describe, scalar_text, single, text_of};

pub(in crate::scenario) fn expect(
    actor: String,
    m: &Mapping,
    span: Span,
    note: Option<String>,
) -> Result<Expect, Bad> {
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

pub(in crate::scenario) fn checks(m: &Mapping) -> Result<Vec<(String, Check)>, Bad> {
    m.iter()
        .map(|(k, v)| {
            let name = scalar_text(k);
            check(v)
                .map(|c| (name.clone(), c))
                .map_err(|e| e.context(&format!("`{name}`: ")))
        })
        .collect()
}

pub(in crate::scenario) const CHECK_KEYS: &[&str] = &[
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
pub(in crate::scenario) fn check(v: &Value) -> Result<Check, Bad> {
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

pub(in crate::scenario) fn capture(v: &Value) -> Result<Capture, Bad> {
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

pub(in crate::scenario) const CAPTURE_KEYS: &[&str] = &[
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
pub(in crate::scenario) const EXPECT_KEYS: &[&str] =
    &["reply", "push", "as", "match", "xml", "capture"];
