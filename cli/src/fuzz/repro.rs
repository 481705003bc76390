//! Findings as runnable scenarios: the round's bytes as raw `send:` steps in the order they
//! went out (connections opened where they opened), then the check that failed.
//!
//! Raw bytes replay the round exactly, but not the state a server derives from values it
//! chose (a login answered with a fresh nonce fails when replayed): a problem that needs such
//! state may not reproduce, which `imspec fuzz` reports. YAML is written by hand here, the
//! way `scenarios/README.md` documents it, and loaded back by `scenario::load` before use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use super::net::{Kind, Log};
use imspec_harness::scenario::{Protocol, Scenario};
use imspec_harness::transport::Endpoint;

/// The actor the liveness steps use.
pub const PROBE: &str = "imspec_probe";

/// The check a reproduction ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Every connection closed, then the liveness steps on a fresh connection.
    Liveness,
    /// The sends up to message `message` of connection `conn`, then its reply.
    Reply {
        /// Connection index.
        conn: usize,
        /// Message index on that connection.
        message: usize,
    },
    /// Every send, then valid frames on connection `conn`: a barrier, or the close the server
    /// made (`closed`).
    Valid {
        /// Connection index.
        conn: usize,
        /// The server closed the connection in the round.
        closed: bool,
    },
}

/// What a reproduction is made of.
#[derive(Debug)]
pub struct Draft<'a> {
    /// The finding's kind.
    pub kind: Kind,
    /// The scenario the round replayed.
    pub case: &'a Scenario,
    /// The round.
    pub round: u64,
    /// The run's seed.
    pub seed: u64,
    /// What the round changed.
    pub mutation: &'a str,
    /// What was observed.
    pub detail: &'a str,
    /// The round's connections.
    pub log: &'a Log,
    /// Target services by name (to name the actors' targets).
    pub services: &'a BTreeMap<String, SocketAddr>,
    /// The closing check.
    pub tail: Tail,
    /// The round's step timeout.
    pub timeout: Duration,
}

/// The reproduction scenario's YAML text.
pub fn scenario(d: &Draft<'_>) -> String {
    let protocol = d.case.protocol;
    let mut y = String::new();
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let _ = writeln!(y, "# imspec fuzz finding: {}", d.kind.name());
    let _ = writeln!(
        y,
        "# round {} replaying {} ({}), seed {}",
        d.round,
        d.case.id,
        d.case.path.display(),
        d.seed
    );
    let _ = writeln!(y, "# mutation: {}", one_line(d.mutation));
    let _ = writeln!(y, "# observed: {}", one_line(d.detail));
    let _ = writeln!(y, "#");
    let _ = writeln!(
        y,
        "# The round's bytes as raw sends, then the check that failed. It fails against the server\n\
         # that showed the problem (imspec run --target {}=HOST:PORT … THIS_FILE) and passes once\n\
         # the problem is fixed.",
        protocol.name()
    );
    let _ = writeln!(
        y,
        "title: {}",
        quoted(&format!(
            "fuzz: {} after a mutated {}",
            d.kind.name(),
            d.case.id
        ))
    );
    let _ = writeln!(y, "protocol: {}", protocol.name());
    let _ = writeln!(y, "rules:");
    let _ = writeln!(y, "  - id: fuzz.{}", d.kind.name());
    let _ = writeln!(y, "    text: {}", quoted(rule_text(d.kind)));
    let _ = writeln!(y, "    source: imspec fuzz (issue 5)");
    let _ = writeln!(y, "    evidence: high");
    let _ = writeln!(y, "    level: must");
    let _ = writeln!(y, "timeout_ms: {}", d.timeout.as_millis().max(1) * 2);

    // Actors: one per connection name, targeted like the round's connection.
    let mut actors: BTreeMap<String, String> = BTreeMap::new();
    for (c, conn) in d.log.conns.iter().enumerate() {
        actors
            .entry(d.log.actor(c))
            .or_insert_with(|| target_of(&conn.endpoint, conn.addr, d.services));
    }
    if d.tail == Tail::Liveness {
        actors.insert(PROBE.into(), protocol.name().into());
    }
    let _ = writeln!(y, "actors:");
    for (name, target) in &actors {
        let _ = writeln!(y, "  {name}: {target}");
    }

    // Events in time order: connects and sends.
    let mut events: Vec<(std::time::Instant, usize, Option<usize>)> = Vec::new();
    for (c, conn) in d.log.conns.iter().enumerate() {
        events.push((conn.opened, c, None));
        for (m, sent) in conn.messages.iter().enumerate() {
            events.push((sent.at, c, Some(m)));
        }
    }
    events.sort_by_key(|(t, c, m)| (*t, *c, m.map_or(0, |m| m + 1)));
    let _ = writeln!(y, "steps:");
    for (_, c, m) in events {
        let actor = d.log.actor(c);
        let Some(m) = m else {
            let _ = writeln!(y, "  - connect: {actor}");
            continue;
        };
        let sent = &d.log.conns[c].messages[m];
        let _ = writeln!(y, "  - send: {actor}");
        let last = d.tail
            == Tail::Reply {
                conn: c,
                message: m,
            };
        if last {
            let _ = writeln!(y, "    as: fuzzed");
        }
        if let Some(what) = &sent.mutation {
            let _ = writeln!(y, "    note: {}", quoted(&format!("mutated: {what}")));
        }
        let _ = writeln!(y, "    raw: '{}'", raw(&sent.bytes));
        if last {
            break;
        }
    }
    match d.tail {
        Tail::Reply { conn, .. } => {
            let _ = writeln!(y, "  - expect: {}", d.log.actor(conn));
            let _ = writeln!(y, "    reply: fuzzed");
            let _ = writeln!(
                y,
                "    note: the server must answer a whole request (or close)"
            );
        }
        Tail::Valid { conn, closed: true } => {
            let _ = writeln!(y, "  - expect_closed: {}", d.log.actor(conn));
            let _ = writeln!(y, "    note: every frame before the close must decode");
        }
        Tail::Valid {
            conn,
            closed: false,
        } => {
            let _ = writeln!(y, "  - barrier: {}", d.log.actor(conn));
            let _ = writeln!(y, "    note: every frame the server sends must decode");
        }
        Tail::Liveness => {
            let names: BTreeMap<String, ()> = (0..d.log.conns.len())
                .map(|c| (d.log.actor(c), ()))
                .collect();
            for name in names.keys() {
                let _ = writeln!(y, "  - disconnect: {name}");
            }
            y.push_str(&liveness_steps(protocol));
        }
    }
    y
}

/// The whole liveness scenario for `protocol`.
pub fn liveness_yaml(protocol: Protocol) -> String {
    format!(
        "title: imspec fuzz liveness ({p})\nprotocol: {p}\nactors:\n  {PROBE}: {p}\nsteps:\n{}",
        liveness_steps(protocol),
        p = protocol.name()
    )
}

/// Two requests on a fresh connection, each answered (any answer, an error included).
fn liveness_steps(protocol: Protocol) -> String {
    let requests = protocol
        .module()
        .liveness()
        .iter()
        .map(|r| r.replace("{actor}", PROBE));
    let mut s = format!("  - connect: {PROBE}\n");
    for r in requests {
        let _ = write!(
            s,
            "  - send: {PROBE}\n{r}  - expect: {PROBE}\n    note: liveness, any answer will do\n"
        );
    }
    s
}

fn rule_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Crash => "After malformed input the server still accepts connections.",
        Kind::Hang => {
            "A whole request gets an answer (or the connection closes) within the timeout."
        }
        Kind::ProtocolError => "Every byte the server sends decodes as the protocol's frames.",
        Kind::Unresponsive => {
            "After malformed input on some connections the server still answers a new one."
        }
    }
}

/// The actor target for a connection: the service whose address it reached, or the address.
fn target_of(
    endpoint: &Endpoint,
    addr: SocketAddr,
    services: &BTreeMap<String, SocketAddr>,
) -> String {
    if let Endpoint::Service(s) = endpoint {
        return s.clone();
    }
    match services.iter().find(|(_, a)| **a == addr) {
        Some((name, _)) => name.clone(),
        None => format!("{{ address: \"{addr}\" }}"),
    }
}

/// `s` as a double-quoted YAML scalar.
fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => q.push(' '),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `bytes` for a single-quoted `raw:` value: the runner's escapes (`\r`, `\n`, `\t`, `\\`,
/// `\xNN`) for everything but printable ASCII, `$` escaped so nothing interpolates, and `'`
/// doubled for YAML.
pub fn raw(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("''"),
            b'$' => s.push_str("\\x24"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trips_through_the_runners_unescape() {
        let bytes: Vec<u8> = (0..=255u8).chain(*b"${x}'\\").collect();
        let text = raw(&bytes);
        // What YAML does to a single-quoted scalar, then what the runner does to `raw:`.
        let yaml = text.replace("''", "'");
        assert_eq!(imspec_harness::proto::unescape(&yaml).unwrap(), bytes);
        assert!(!text.contains('$'));
    }
}
