//! `imspec new PROTOCOL NAME`: a runnable skeleton case — metadata, actors, the protocol's
//! login fragment, one request and its reply — that passes against the reference server and
//! is meant to be edited into a real case.

use super::model::Protocol;

/// The text of a new case named `name` (a slug such as `history-after-sdg`).
pub fn skeleton(protocol: Protocol, name: &str) -> String {
    let p = protocol.name();
    let (actors, steps) = match protocol {
        Protocol::Fetion => (
            "actors:\n  alice: fetion\n",
            r#"  - connect: alice
  - include: login
    with: { actor: alice }
  - send: alice
    as: keepalive
    method: S
    headers: { F: "${fresh:alice}", N: KeepAlive }
  - expect: alice
    reply: keepalive
    match: { status: 200 }
"#,
        ),
        Protocol::LeanCloud => (
            "actors:\n  alice: leancloud\n",
            r#"  - connect: alice
  - include: open
    with: { actor: alice, peer: alice }
  - send: alice
    as: echo
    command: { cmd: echo }
  - expect: alice
    reply: echo
    match: { cmd: echo, i: "${echo.i}" }
"#,
        ),
        Protocol::Msnp => (
            "actors:\n  alice: msnp\n",
            r#"  - connect: alice
  - include: login
    with: { actor: alice }
  - send: alice
    as: ping
    verb: PNG
    trid: "31"
    target: CON
  - expect: alice
    reply: ping
    match: { verb: PNG, trid: "31", target: CON }
"#,
        ),
        Protocol::Sip => (
            "params:\n  domain: imspec.test\n\nactors:\n  alice: sip\n",
            r#"  - connect: alice
  - include: register
    with: { actor: alice }
  - send: alice
    as: options
    method: OPTIONS
    target: sip:${domain}
    headers:
      From: <sip:${fresh:alice}@${domain}>
      To: <sip:${domain}>
  - expect: alice
    reply: options
    match: { status: 200, cseq.method: OPTIONS }
"#,
        ),
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
