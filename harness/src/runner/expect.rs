//! Checks (`match:`, `xml:`, `assert:`, `until:`) and captures.

use crate::proto::{Frame, Protocol, xml};
use crate::scenario::{Capture, Check, Order, Template};

use super::vars::{Value, Vars};

/// A failed check: what was expected and what was there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// One line.
    pub reason: String,
    /// The expectation, with values resolved.
    pub expected: String,
    /// What was found.
    pub actual: String,
}

impl Mismatch {
    fn new(
        reason: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Self {
            reason: reason.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// Runs every `match:` and `xml:` check of an expect on a frame.
pub fn check_frame(
    proto: &dyn Protocol,
    frame: &Frame,
    checks: &[(String, Check)],
    xml_checks: &[(String, Check)],
    vars: &Vars,
) -> Result<(), Mismatch> {
    check_fields(&|f| proto.known_field(f), frame, checks, xml_checks, vars)
}

/// [`check_frame`] for a frame whose field names `known` accepts (the HTTP response view of
/// `http:` steps).
pub fn check_fields(
    known: &dyn Fn(&str) -> bool,
    frame: &Frame,
    checks: &[(String, Check)],
    xml_checks: &[(String, Check)],
    vars: &Vars,
) -> Result<(), Mismatch> {
    for (field, c) in checks {
        // Most fields have one value: checked from the stack, without a vector.
        let mut values = frame.values(field);
        let first = values.next();
        // A field the frame has is known; one it lacks may be absent or misspelt.
        if first.is_none() && !known(field) {
            return Err(Mismatch::new(
                format!("unknown field `{field}`"),
                field.clone(),
                "(no such field)",
            ));
        }
        let lookup = |other: &str| frame.values(other).map(str::to_owned).collect::<Vec<_>>();
        match (first, values.next()) {
            (None, _) => check_strs(field, c, &[], vars, &lookup)?,
            (Some(one), None) => check_strs(field, c, &[one], vars, &lookup)?,
            (Some(first), Some(second)) => {
                let all: Vec<&str> = [first, second].into_iter().chain(values).collect();
                check_strs(field, c, &all, vars, &lookup)?;
            }
        }
    }
    if !xml_checks.is_empty() {
        let body = String::from_utf8_lossy(frame.body());
        for (path, c) in xml_checks {
            let values = xml::select(&body, path)
                .map_err(|e| Mismatch::new(e, format!("XML body with `{path}`"), short(&body)))?;
            check(path, c, &values, vars, &|_| Vec::new())?;
        }
    }
    Ok(())
}

/// Checks `values` (named `what` in messages).
pub fn check<S: AsRef<str>>(
    what: &str,
    c: &Check,
    values: &[S],
    vars: &Vars,
    lookup: &dyn Fn(&str) -> Vec<String>,
) -> Result<(), Mismatch> {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    check_strs(what, c, &values, vars, lookup)
}

fn check_strs<'c>(
    what: &str,
    c: &'c Check,
    values: &[&str],
    vars: &Vars,
    lookup: &dyn Fn(&str) -> Vec<String>,
) -> Result<(), Mismatch> {
    let resolve = |t: &'c Template| {
        vars.interpolate_cow(&t.0)
            .map_err(|e| Mismatch::new(e, t.0.clone(), ""))
    };
    let shown = || {
        if values.len() == 1 {
            values[0].to_owned()
        } else {
            flow_list(values)
        }
    };
    match c.present {
        Some(true) if values.is_empty() => {
            return Err(Mismatch::new(
                format!("`{what}` is absent"),
                format!("{what} present"),
                "(absent)",
            ));
        }
        Some(false) if !values.is_empty() => {
            return Err(Mismatch::new(
                format!("`{what}` is present"),
                format!("{what} absent"),
                shown(),
            ));
        }
        _ => {}
    }
    let needs_first = c.equals.is_some()
        || c.not_equals.is_some()
        || c.iequals.is_some()
        || c.regex.is_some()
        || c.contains.is_some()
        || c.one_of.is_some()
        || !c.numeric.is_empty()
        || c.utf8_len_of.is_some();
    if needs_first {
        let Some(v) = values.first() else {
            return Err(Mismatch::new(
                format!("`{what}` is absent"),
                describe_first(what, c),
                "(absent)",
            ));
        };
        if let Some(t) = &c.equals {
            let e = resolve(t)?;
            if *v != e {
                return Err(Mismatch::new(
                    format!("{what}: expected {}, got {}", short(&e), short(v)),
                    e,
                    *v,
                ));
            }
        }
        if let Some(t) = &c.not_equals {
            let e = resolve(t)?;
            if *v == e {
                return Err(Mismatch::new(
                    format!("`{what}` must not equal `{e}`"),
                    format!("not {e}"),
                    *v,
                ));
            }
        }
        if let Some(t) = &c.iequals {
            let e = resolve(t)?;
            if !v.eq_ignore_ascii_case(&e) {
                return Err(Mismatch::new(
                    format!(
                        "{what}: expected {} (ignoring case), got {}",
                        short(&e),
                        short(v)
                    ),
                    e,
                    *v,
                ));
            }
        }
        if let Some(t) = &c.regex {
            let pattern = resolve(t)?;
            let re = regex::Regex::new(&pattern)
                .map_err(|e| Mismatch::new(format!("bad regex: {e}"), pattern.clone(), ""))?;
            if !re.is_match(v) {
                return Err(Mismatch::new(
                    format!("{what}: expected a match of /{pattern}/, got {}", short(v)),
                    format!("/{pattern}/"),
                    *v,
                ));
            }
        }
        if let Some(t) = &c.contains {
            let e = resolve(t)?;
            if !v.contains(&*e) {
                return Err(Mismatch::new(
                    format!("`{what}` does not contain `{e}`"),
                    format!("…{e}…"),
                    *v,
                ));
            }
        }
        if let Some(list) = &c.one_of {
            let options = list.iter().map(&resolve).collect::<Result<Vec<_>, _>>()?;
            if !options.iter().any(|o| o == v) {
                return Err(Mismatch::new(
                    format!(
                        "{what}: expected one of {}, got {}",
                        flow_list(&options),
                        short(v)
                    ),
                    format!("one of {}", flow_list(&options)),
                    *v,
                ));
            }
        }
        for (op, t) in &c.numeric {
            let e = resolve(t)?;
            let (Some(a), Some(b)) = (number(v), number(&e)) else {
                return Err(Mismatch::new(
                    format!("`{what}` is not a number"),
                    format!("{} {e}", op.key()),
                    *v,
                ));
            };
            if !op.holds(a, b) {
                return Err(Mismatch::new(
                    format!("`{what}` fails `{} {e}`", op.key()),
                    format!("{} {e}", op.key()),
                    *v,
                ));
            }
        }
        if let Some(other) = &c.utf8_len_of {
            let body = lookup(other).into_iter().next().unwrap_or_default();
            let len = body.len().to_string();
            if *v != len {
                return Err(Mismatch::new(
                    format!("`{what}` is not the UTF-8 byte length of `{other}`"),
                    len,
                    *v,
                ));
            }
        }
    }
    if let Some(cc) = &c.count {
        check(
            &format!("count of {what}"),
            cc,
            &[values.len().to_string()],
            vars,
            lookup,
        )
        .map_err(|m| Mismatch {
            actual: format!("{} ({})", m.actual, short(&shown())),
            ..m
        })?;
    }
    if c.distinct == Some(true) {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(**v)) {
            return Err(Mismatch::new(
                format!("`{what}` repeats `{dup}`"),
                "distinct values",
                shown(),
            ));
        }
    }
    if let Some(order) = c.order {
        let numeric: Option<Vec<f64>> = values.iter().map(|v| number(v)).collect();
        let bad = (1..values.len()).find(|&i| {
            let ord = match &numeric {
                Some(n) => n[i - 1].partial_cmp(&n[i]),
                None => Some(values[i - 1].cmp(values[i])),
            };
            match order {
                Order::Ascending => ord != Some(std::cmp::Ordering::Less),
                Order::Descending => ord != Some(std::cmp::Ordering::Greater),
            }
        });
        if let Some(i) = bad {
            let word = if order == Order::Ascending {
                "ascending"
            } else {
                "descending"
            };
            return Err(Mismatch::new(
                format!(
                    "`{what}` is not strictly {word}: `{}` then `{}` (indexes {} and {})",
                    values[i - 1],
                    values[i],
                    i - 1,
                    i
                ),
                format!("strictly {word}"),
                shown(),
            ));
        }
    }
    if let Some(each) = &c.each {
        for (i, v) in values.iter().enumerate() {
            check(
                &format!("{what}[{i}]"),
                each,
                std::slice::from_ref(v),
                vars,
                lookup,
            )?;
        }
    }
    if let Some(any) = &c.any
        && !values
            .iter()
            .any(|v| check(what, any, std::slice::from_ref(v), vars, lookup).is_ok())
    {
        return Err(Mismatch::new(
            format!("no value of `{what}` passes `any: {}`", yaml(any, vars)),
            format!("any: {}", yaml(any, vars)),
            shown(),
        ));
    }
    Ok(())
}

/// Takes a capture's value(s) from a frame (if any) and the variables.
pub fn capture(c: &Capture, frame: Option<&Frame>, vars: &Vars) -> Result<Value, String> {
    let raw: Vec<String> = if let Some(field) = &c.field {
        let f = frame.ok_or("`field:` captures need a frame")?;
        f.values(field).map(str::to_owned).collect()
    } else if let Some(path) = &c.xml {
        let f = frame.ok_or("`xml:` captures need a frame")?;
        xml::select(&String::from_utf8_lossy(f.body()), path)?
    } else if let Some(var) = &c.var {
        vars.values
            .get(var)
            .ok_or_else(|| format!("unknown variable `{var}`"))?
            .as_list()
    } else {
        return Err("capture needs field, xml or var".into());
    };
    let what = c
        .field
        .as_deref()
        .or(c.xml.as_deref())
        .or(c.var.as_deref())
        .unwrap_or("");
    let re = match &c.regex {
        Some(t) => Some(
            regex::Regex::new(&vars.interpolate(&t.0)?).map_err(|e| format!("bad regex: {e}"))?,
        ),
        None => None,
    };
    let format = match &c.format {
        Some(t) => Some(vars.interpolate(&t.0)?),
        None => None,
    };
    let mut out = Vec::new();
    for v in &raw {
        let mut v = match &re {
            Some(re) => match re.captures(v) {
                Some(caps) => caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map_or("", |m| m.as_str())
                    .to_owned(),
                None => continue,
            },
            None => v.clone(),
        };
        if c.lowercase {
            v = v.to_lowercase();
        }
        if let Some(f) = &format {
            v = f.replace("{}", &v);
        }
        out.push(v);
        if !c.all {
            break;
        }
    }
    if out.is_empty() && !c.all {
        return Err(match (&c.regex, raw.is_empty()) {
            (_, true) => format!("nothing to capture: `{what}` is absent"),
            (Some(r), false) => format!("`{what}` = `{}` does not match /{}/", short(&raw[0]), r.0),
            (None, false) => format!("nothing to capture from `{what}`"),
        });
    }
    Ok(if c.all {
        Value::List(out)
    } else {
        Value::Str(out.swap_remove(0))
    })
}

/// A check as the YAML it was written as (flow style), `${…}` filled in where it resolves.
pub fn yaml(c: &Check, vars: &Vars) -> String {
    let fill = |t: &Template| scalar(&vars.interpolate(&t.0).unwrap_or_else(|_| t.0.clone()));
    let only_equals = Check {
        equals: c.equals.clone(),
        ..Check::default()
    };
    if c.equals.is_some() && *c == only_equals {
        return c.equals.as_ref().map(fill).unwrap_or_default();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut one = |k: &str, t: &Option<Template>| {
        if let Some(t) = t {
            parts.push(format!("{k}: {}", fill(t)));
        }
    };
    one("equals", &c.equals);
    one("not_equals", &c.not_equals);
    one("iequals", &c.iequals);
    one("regex", &c.regex);
    one("contains", &c.contains);
    if let Some(list) = &c.one_of {
        let items: Vec<String> = list.iter().map(fill).collect();
        parts.push(format!("one_of: [{}]", items.join(", ")));
    }
    match c.present {
        Some(true) => parts.push("present: true".into()),
        Some(false) => parts.push("absent: true".into()),
        None => {}
    }
    for (op, t) in &c.numeric {
        parts.push(format!("{}: {}", op.key(), fill(t)));
    }
    for (k, inner) in [("count", &c.count), ("each", &c.each), ("any", &c.any)] {
        if let Some(inner) = inner {
            parts.push(format!("{k}: {}", yaml(inner, vars)));
        }
    }
    if let Some(d) = c.distinct {
        parts.push(format!("distinct: {d}"));
    }
    if let Some(o) = c.order {
        parts.push(format!(
            "order: {}",
            if o == Order::Ascending {
                "ascending"
            } else {
                "descending"
            }
        ));
    }
    if let Some(f) = &c.utf8_len_of {
        parts.push(format!("utf8_len_of: {}", scalar(f)));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// Values as a YAML flow list: `[a, 'b: c']`.
pub fn flow_list<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| scalar(&short(v.as_ref()))).collect();
    format!("[{}]", items.join(", "))
}

/// A string as a YAML flow scalar: plain when that reads back the same, else single-quoted.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.starts_with([
            '-', '?', ':', '!', '&', '*', '#', '|', '>', '\'', '"', '%', '@', '`', '[', ']', '{',
            '}', ',',
        ])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains([',', '[', ']', '{', '}', '\n'])
        && !["true", "false", "null", "~", "yes", "no"].contains(&s);
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn describe_first(what: &str, c: &Check) -> String {
    if let Some(e) = &c.equals {
        format!("{what} = {}", e.0)
    } else if let Some(r) = &c.regex {
        format!("{what} matching /{}/", r.0)
    } else {
        format!("{what} present")
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

/// At most 400 characters of `s`.
pub fn short(s: &str) -> String {
    if s.chars().count() <= 400 {
        s.to_owned()
    } else {
        let head: String = s.chars().take(400).collect();
        format!("{head}… ({} bytes)", s.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::runner::Profile;
    use crate::scenario::{Compare, Protocol};

    fn vars() -> Vars {
        let mut v = Vars::new(
            "r1".into(),
            Protocol::of(&crate::proto::sip::Sip),
            Arc::new(Profile::default()),
        );
        v.set("carol", "sip:carol_x@example.com".into());
        v
    }

    fn t(s: &str) -> Option<Template> {
        Some(Template(s.into()))
    }

    #[test]
    fn issue_15_mismatch_says_expected_and_got_with_variables_filled_in() {
        // Why: pushes failed with "`to.uri` differs" and the unfilled template.
        let c = Check {
            equals: t("${carol}"),
            ..Check::default()
        };
        let m = check("to.uri", &c, &["sip:bob_y@example.com"], &vars(), &|_| {
            Vec::new()
        })
        .unwrap_err();
        assert_eq!(
            m.reason,
            "to.uri: expected sip:carol_x@example.com, got sip:bob_y@example.com"
        );
        assert_eq!(m.expected, "sip:carol_x@example.com");
    }

    #[test]
    fn issue_15_checks_print_as_yaml_and_indexes_count_from_0() {
        // Why: `any:` failures printed `Check { equals: None, … }`.
        let inner = Check {
            regex: t("^sip:${carol}"),
            numeric: vec![(Compare::Ge, Template("2".into()))],
            ..Check::default()
        };
        let c = Check {
            any: Some(Box::new(inner.clone())),
            ..Check::default()
        };
        let m = check("uris", &c, &["a", "b: c"], &vars(), &|_| Vec::new()).unwrap_err();
        assert_eq!(
            m.expected,
            "any: { regex: ^sip:sip:carol_x@example.com, ge: 2 }"
        );
        assert_eq!(m.actual, "[a, 'b: c']");
        assert!(!m.reason.contains("Check {"), "{}", m.reason);
        let each = Check {
            each: Some(Box::new(Check {
                equals: t("a"),
                ..Check::default()
            })),
            ..Check::default()
        };
        let m = check("v", &each, &["a", "x"], &vars(), &|_| Vec::new()).unwrap_err();
        assert!(
            m.reason.starts_with("v[1]: expected a, got x"),
            "{}",
            m.reason
        );
        assert_eq!(
            yaml(
                &Check {
                    equals: t("${carol}"),
                    ..Check::default()
                },
                &vars()
            ),
            "sip:carol_x@example.com"
        );
    }

    #[test]
    fn a_field_is_checked_with_every_value_it_has_none_one_or_several() {
        // Why: check_fields reads one value without a vector and collects only from the
        // second on; each count must still see every value, in order.
        let mut frame = crate::proto::Frame::of(b"");
        frame.push("k", "a");
        frame.push("k", "b");
        frame.push("k", "c");
        frame.push("one", "x");
        let count = |n: &str| Check {
            count: Some(Box::new(Check {
                equals: t(n),
                ..Check::default()
            })),
            ..Check::default()
        };
        let run = |field: &str, c: Check| {
            check_fields(&|_| true, &frame, &[(field.to_owned(), c)], &[], &vars())
        };
        assert!(run("k", count("3")).is_ok());
        assert!(run("one", count("1")).is_ok());
        assert!(run("none", count("0")).is_ok());
        let m = run("k", count("2")).unwrap_err();
        assert!(m.reason.contains("count of k"), "{}", m.reason);
        let last = Check {
            each: Some(Box::new(Check {
                one_of: Some(vec![Template("a".into()), Template("b".into())]),
                ..Check::default()
            })),
            ..Check::default()
        };
        let m = run("k", last).unwrap_err();
        assert!(m.reason.starts_with("k[2]"), "{}", m.reason);
        let first = Check {
            equals: t("x"),
            ..Check::default()
        };
        assert!(run("one", first.clone()).is_ok());
        assert!(run("none", first).is_err());
    }
}
