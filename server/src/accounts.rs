//! Who may log in: the account policy the reference server checks logins against.
//!
//! * Fetion SIP-C/2.0 login: the `A: Digest response=…` of a `REGISTER` must be
//!   [`fetion_digest`] of the account's password
//!   ([`Accounts::check_fetion_digest`]).
//! * MSNP24 login carries `<ssl-compact-ticket>t=<password></ssl-compact-ticket>` in the `ATH`
//!   body; the default test ticket is [`MSNP_TICKET`] (`t=imspec`). See [`Accounts::check_msnp_ticket`].
//! * The policy ([`Accounts`]): without an accounts file any account id is accepted with
//!   the password [`DEFAULT_PASSWORD`] (`imspec`); with a file, only the listed ids, each with its
//!   own password.
//!
//! Accounts file format (UTF-8 text, one account per line, `#` starts a comment line):
//!
//! ```text
//! # id         password
//! 815389316    secret1
//! alice        imspec
//! *            imspec     # optional: any other id, with this password
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};

/// The password every test account has when no accounts file is given (the runner's default
/// credential, `imspec_harness::runner::profile::DEFAULT_PASSWORD`, is the same word).
pub const DEFAULT_PASSWORD: &str = "imspec";
/// The MSNP24 compact ticket that goes with [`DEFAULT_PASSWORD`].
pub const MSNP_TICKET: &str = "t=imspec";

/// Compares two strings in time independent of where they differ (equal lengths only leak the
/// length, which is public for digests and tickets).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which accounts exist and their passwords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounts {
    passwords: HashMap<String, String>,
    /// The password of any id not listed; `None` refuses unlisted ids.
    fallback: Option<String>,
}

/// An accounts file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file could not be read.
    #[error("cannot read accounts file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `id password`.
    #[error("accounts file line {line}: expected `id password`")]
    Syntax {
        /// 1-based line number.
        line: usize,
    },
}

impl Default for Accounts {
    fn default() -> Self {
        Self::open()
    }
}

impl Accounts {
    /// The default policy: any account id, password [`DEFAULT_PASSWORD`].
    pub fn open() -> Self {
        Self {
            passwords: HashMap::new(),
            fallback: Some(DEFAULT_PASSWORD.to_owned()),
        }
    }

    /// Parses the accounts file format of the module docs.
    pub fn parse(text: &str) -> Result<Self, AccountsError> {
        let mut passwords = HashMap::new();
        let mut fallback = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split_once('#').map_or(raw, |(l, _)| l).trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(id), Some(pw), None) = (words.next(), words.next(), words.next()) else {
                return Err(AccountsError::Syntax { line: i + 1 });
            };
            if id == "*" {
                fallback = Some(pw.to_owned());
            } else {
                passwords.insert(id.to_owned(), pw.to_owned());
            }
        }
        Ok(Self {
            passwords,
            fallback,
        })
    }

    /// Reads and parses an accounts file.
    pub fn load(path: &Path) -> Result<Self, AccountsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AccountsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The password of `id`, or `None` if the account does not exist.
    pub fn password(&self, id: &str) -> Option<&str> {
        self.passwords
            .get(id)
            .or(self.fallback.as_ref())
            .map(String::as_str)
    }

    /// Whether `id` exists.
    pub fn exists(&self, id: &str) -> bool {
        self.password(id).is_some()
    }

    /// Whether `response` is the Fetion digest of `sid`'s password for `nonce`/`cnonce`
    /// (hex compared case-insensitively).
    pub fn check_fetion_digest(
        &self,
        sid: &str,
        nonce: &str,
        cnonce: &str,
        response: &str,
    ) -> bool {
        let Some(pw) = self.password(sid) else {
            return false;
        };
        let want = fetion_digest(sid, FETION_DOMAIN, pw, nonce, cnonce);
        constant_time_eq(want.as_bytes(), response.to_ascii_uppercase().as_bytes())
    }

    /// Whether `ticket` (the text of `<ssl-compact-ticket>`) is `t=<password of id>`.
    pub fn check_msnp_ticket(&self, id: &str, ticket: &str) -> bool {
        let Some(pw) = self.password(id) else {
            return false;
        };
        let Some(given) = ticket.trim().strip_prefix("t=") else {
            return false;
        };
        constant_time_eq(given.as_bytes(), pw.as_bytes())
    }
}

impl fmt::Display for Accounts {
    /// Renders the policy for logs, without passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.fallback, self.passwords.len()) {
            (Some(_), 0) => f.write_str("any account id"),
            (Some(_), n) => write!(f, "{n} listed accounts and any other id"),
            (None, n) => write!(f, "{n} listed accounts"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_policy_accepts_any_id_with_imspec() {
        let a = Accounts::open();
        let r = fetion_digest("123", FETION_DOMAIN, "imspec", "n", "c");
        assert!(a.check_fetion_digest("123", "n", "c", &r));
        assert!(a.check_fetion_digest("123", "n", "c", &r.to_ascii_lowercase()));
        assert!(!a.check_fetion_digest("124", "n", "c", &r));
        assert!(!a.check_fetion_digest("123", "n2", "c", &r));
        assert!(a.check_msnp_ticket("live:anyone", MSNP_TICKET));
        assert!(!a.check_msnp_ticket("live:anyone", "t=wrong"));
        assert!(!a.check_msnp_ticket("live:anyone", "imspec"));
    }

    #[test]
    fn accounts_file_restricts_ids() {
        let a = Accounts::parse("# test\nalice s3cret\n\n815389316 pw # trailing\n").unwrap();
        assert_eq!(a.password("alice"), Some("s3cret"));
        assert_eq!(a.password("815389316"), Some("pw"));
        assert!(!a.exists("bob"));
        assert!(a.check_msnp_ticket("alice", "t=s3cret"));
        assert!(!a.check_msnp_ticket("alice", MSNP_TICKET));
        let with_star = Accounts::parse("alice x\n* imspec\n").unwrap();
        assert_eq!(with_star.password("bob"), Some("imspec"));
        assert_eq!(with_star.password("alice"), Some("x"));
        assert!(matches!(
            Accounts::parse("alice\n"),
            Err(AccountsError::Syntax { line: 1 })
        ));
        assert!(matches!(
            Accounts::parse("a b c\n"),
            Err(AccountsError::Syntax { line: 1 })
        ));
    }
}
