//! `imspec new PROTOCOL NAME`: a runnable skeleton case — metadata, actors, the protocol's
//! login fragment, one request and its reply — that passes against the reference server and
//! is meant to be edited into a real case.

use super::model::Protocol;

/// The text of a new case named `name` (a slug such as `history-after-sdg`).
pub fn skeleton(protocol: Protocol, name: &str) -> String {
    let p = protocol.name();
    // A protocol module without a skeleton of its own gets a connect on its first service.
    let own = protocol.module().skeleton();
    let fallback = format!(
        "actors:\n  alice: {}\n",
        protocol.module().services().first().copied().unwrap_or(p)
    );
    let (actors, steps) = match &own {
        Some(k) => (k.actors, k.steps),
        None => (fallback.as_str(), "  - connect: alice\n"),
    };
    format!(
        "# A new {p} case: replace the title, the rule and the steps with what you check.
# Language: scenarios/README.md.
title: {name} (describe in one line what this case checks)
protocol: {p}
rules:
  - id: {p}.{name}
    text: The rule this case checks, in one sentence a server implementer can act on.
    source: Where the rule comes from (a PROTOCOLS.md section, an RFC section, a seed)
    evidence: medium
    level: must

{actors}
steps:
{steps}"
    )
}

/// Whether `name` can name a case file: lower-case letters, digits and inner dashes.
pub fn is_slug(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
