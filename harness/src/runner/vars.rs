//! Variables and `${…}` interpolation (scenarios/README.md §3.5).

use std::collections::HashMap;

use crate::proto::Frame;
use crate::scenario::Protocol;
use crate::scenario::template::{self, Piece};

use super::profile::Profile;

/// A variable's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// One string.
    Str(String),
    /// A list (captures with `all:` / `append:`).
    List(Vec<String>),
}

impl Value {
    /// The values as a list (a string is a one-element list).
    pub fn as_list(&self) -> Vec<String> {
        match self {
            Self::Str(s) => vec![s.clone()],
            Self::List(l) => l.clone(),
        }
    }

    /// The value as text (lists joined by `,`).
    pub fn text(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            Self::List(l) => l.join(","),
        }
    }
}

/// The variables of one case run.
#[derive(Debug)]
pub struct Vars {
    /// Named values.
    pub values: HashMap<String, Value>,
    /// Frames stored with `as:`.
    pub frames: HashMap<String, Frame>,
    /// Unique per run.
    pub run_id: String,
    protocol: Protocol,
    profile: std::sync::Arc<Profile>,
}

const MAX_NESTING: usize = 16;

impl Vars {
    /// Fresh variables for a run.
    pub fn new(run_id: String, protocol: Protocol, profile: std::sync::Arc<Profile>) -> Self {
        Self {
            values: HashMap::new(),
            frames: HashMap::new(),
            run_id,
            protocol,
            profile,
        }
    }

    /// Sets a string variable.
    pub fn set(&mut self, name: &str, value: String) {
        // A variable set again (a `repeat`'s `iteration`) keeps its name's allocation.
        match self.values.get_mut(name) {
            Some(v) => *v = Value::Str(value),
            None => {
                self.values.insert(name.to_owned(), Value::Str(value));
            }
        }
    }

    /// Resolves every `${…}` in `s`.
    pub fn interpolate(&self, s: &str) -> Result<String, String> {
        self.interp(s, 0)
    }

    /// [`interpolate`](Self::interpolate), borrowing `s` when it holds no `${…}` (a check's
    /// literal expectation, compared without a copy).
    pub fn interpolate_cow<'s>(&self, s: &'s str) -> Result<std::borrow::Cow<'s, str>, String> {
        if s.contains("${") {
            self.interp(s, 0).map(std::borrow::Cow::Owned)
        } else {
            Ok(std::borrow::Cow::Borrowed(s))
        }
    }

    fn interp(&self, s: &str, depth: usize) -> Result<String, String> {
        if depth > MAX_NESTING {
            return Err("`${…}` nests too deeply".into());
        }
        if !s.contains("${") {
            return Ok(s.to_owned());
        }
        let mut out = String::with_capacity(s.len());
        for piece in template::pieces(s)? {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Expr(e) => out.push_str(&self.eval(e, depth)?),
            }
        }
        Ok(out)
    }

    /// Evaluates one expression (the text between `${` and `}`).
    fn eval(&self, expr: &str, depth: usize) -> Result<String, String> {
        let expr = expr.trim();
        if let Some((name, args)) = template::call(expr) {
            let args = args
                .into_iter()
                .map(|a| self.interp(a.trim(), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            return call(name, &args);
        }
        let expr = self.interp(expr, depth + 1)?;
        if let Some(role) = expr.strip_prefix("fresh:") {
            return Ok(self.account_id(role));
        }
        if let Some(role) = expr.strip_prefix("password:") {
            return Ok(self.password(role));
        }
        match expr.as_str() {
            "run_id" => return Ok(self.run_id.clone()),
            "" => return Err("empty `${}`".into()),
            _ => {}
        }
        if let Some(v) = self.values.get(&expr) {
            return Ok(v.text());
        }
        if let Some((frame, field)) = expr.split_once('.')
            && let Some(f) = self.frames.get(frame)
        {
            return f
                .get(field)
                .map(str::to_owned)
                .ok_or_else(|| format!("`${{{expr}}}`: frame `{frame}` has no field `{field}`"));
        }
        Err(format!("unknown variable `{expr}`"))
    }

    /// The account id for a role: the profile's, or one fresh to this run.
    pub fn account_id(&self, role: &str) -> String {
        if let Some(a) = self.profile.accounts.get(role) {
            return a.id.clone();
        }
        let h = fnv(format!("{}/{role}", self.run_id).as_bytes());
        self.protocol.module().fresh_id(role, h)
    }

    /// The password for a role.
    pub fn password(&self, role: &str) -> String {
        self.profile
            .accounts
            .get(role)
            .and_then(|a| a.password.clone())
            .unwrap_or_else(|| self.profile.password.clone())
    }
}

/// FNV-1a, for deterministic fresh ids and chop seeds.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn call(name: &str, args: &[String]) -> Result<String, String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{name}` takes {n} argument(s), got {}",
                args.len()
            ))
        }
    };
    match name {
        "fetion_digest" => {
            arity(4)?;
            Ok(imspec_codec::sipc::digest::fetion_digest(
                &args[0],
                imspec_codec::sipc::digest::FETION_DOMAIN,
                &args[1],
                &args[2],
                &args[3],
            ))
        }
        "len" => {
            arity(1)?;
            Ok(args[0].len().to_string())
        }
        "lower" => {
            arity(1)?;
            Ok(args[0].to_lowercase())
        }
        "upper" => {
            arity(1)?;
            Ok(args[0].to_uppercase())
        }
        other => Err(format!(
            "unknown function `{other}` (expected fetion_digest, len, lower, upper)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new(
            "abc".into(),
            Protocol::of(&crate::proto::fetion::Fetion),
            Arc::new(Profile::default()),
        );
        v.set("actor", "alice".into());
        v.set("x", "a,b".into());
        v
    }

    #[test]
    fn nested_and_functions() {
        let v = vars();
        let id = v.interpolate("${fresh:alice}").unwrap();
        assert_eq!(id.len(), 9);
        assert_eq!(v.interpolate("${fresh:${actor}}").unwrap(), id);
        assert_eq!(v.interpolate("${len(héllo)}").unwrap(), "6");
        assert_eq!(v.interpolate("[${len(${x})}]").unwrap(), "[3]");
        assert_eq!(v.interpolate("${password:alice}").unwrap(), "imspec");
        assert!(
            v.interpolate("${nope}")
                .unwrap_err()
                .contains("unknown variable `nope`")
        );
        assert!(v.interpolate("${x").is_err());
        let d = v.interpolate("${fetion_digest(1, imspec, n, c)}").unwrap();
        assert_eq!(
            d,
            imspec_codec::sipc::digest::fetion_digest(
                "1",
                imspec_codec::sipc::digest::FETION_DOMAIN,
                "imspec",
                "n",
                "c"
            )
        );
    }
}
