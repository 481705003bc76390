//! Findings as runnable scenarios: the round's bytes as raw `send:` steps in the order they
//! went out (connections opened where they opened), then the check that failed. The bytes come
//! from the round's recorded TCP connections: a stream's writes; a LeanCloud WebSocket
//! connection's data messages (sent again as binary messages: the runner frames them); a
//! gateway actor's request bodies (the gateway transport carries them again).
//!
//! Raw bytes replay the round exactly, but not the state a server derives from values it
//! chose (a login answered with a fresh nonce fails when replayed): a problem that needs such
//! state may not reproduce, which `imspec fuzz` reports. YAML is written by hand here, the
//! way `scenarios/README.md` documents it, and loaded back by `scenario::load` before use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use super::frames;
use super::net::{Kind, Log, way_bytes};
use imspec_harness::runner::{Connection, Way};
use imspec_harness::scenario::{Protocol, Scenario};
use imspec_harness::transport::gateway;

/// The actor the liveness steps use.
pub const PROBE: &str = "imspec_probe";

/// The check a reproduction ends with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Every connection closed, then the liveness steps on a fresh connection.
    Liveness,
    /// The sends of `actor` up to the one holding `bytes` (the mutated message), then its
    /// reply.
    Reply {
        /// The actor.
        actor: String,
        /// The mutated message.
        bytes: Vec<u8>,
    },
    /// Every send, then valid frames on `actor`'s connection: a barrier, or the close the
    /// server made (`closed`).
    Valid {
        /// The actor.
        actor: String,
        /// The server closed the connection in the round.
        closed: bool,
    },
}

/// One step of a replayed round.
#[derive(Debug)]
enum Event {
    /// The actor (re)connects, to this actor target.
    Connect(String),
    /// The actor sends these bytes (a `raw:` send: the bytes of a stream, the payload of a
    /// WebSocket message, an MSNP gateway body).
    Send(Vec<u8>),
}

/// The round's steps per recorded connection, in time order: a connection carrying the
/// protocol's stream replays its writes; a WebSocket connection its data messages; a
/// gateway actor's HTTP connections the bodies of its requests (the gateway transport cuts
/// them into requests again), reconnecting where the round opened a session.
fn events(log: &Log, services: &BTreeMap<String, SocketAddr>) -> Vec<(f64, String, Event)> {
    let mut out: Vec<(f64, String, Event)> = Vec::new();
    for c in &log.connections {
        let actor = c.actor.clone();
        match c.protocol.as_str() {
            "http" => {
                let sent = way_bytes(c, Way::Send);
                let ends = send_times(c);
                for m in frames::http_messages(Way::Send, &sent).0 {
                    let t = time_at(&ends, m.end);
                    if m.first.contains("Action=open") || m.first.contains("action=open") {
                        out.push((t, actor.clone(), Event::Connect(gateway::SERVICE.into())));
                    }
                    let lower = m.first.to_ascii_lowercase();
                    if !m.body.is_empty() && !lower.contains("action=close") {
                        out.push((t, actor.clone(), Event::Send(m.body)));
                    }
                }
            }
            "websocket" => {
                out.push((
                    c.t_ms,
                    actor.clone(),
                    Event::Connect(target_of(c, services)),
                ));
                let sent = way_bytes(c, Way::Send);
                let ends = send_times(c);
                for (payload, _text, end) in frames::ws_messages(&sent) {
                    out.push((time_at(&ends, end), actor.clone(), Event::Send(payload)));
                }
            }
            _ => {
                out.push((
                    c.t_ms,
                    actor.clone(),
                    Event::Connect(target_of(c, services)),
                ));
                for k in c
                    .chunks
                    .iter()
                    .filter(|k| k.way == Way::Send && !k.raw.is_empty())
                {
                    out.push((k.t_ms, actor.clone(), Event::Send(k.raw.clone())));
                }
            }
        }
    }
    // Stable: a connect and the sends at the same instant keep their order.
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// (offset where a send chunk ends, its time) for one connection.
fn send_times(c: &Connection) -> Vec<(usize, f64)> {
    let mut at = 0;
    c.chunks
        .iter()
        .filter(|k| k.way == Way::Send)
        .map(|k| {
            at += k.raw.len();
            (at, k.t_ms)
        })
        .collect()
}

/// When the byte before offset `end` went out.
fn time_at(ends: &[(usize, f64)], end: usize) -> f64 {
    ends.iter()
        .find(|(e, _)| *e >= end)
        .or(ends.last())
        .map_or(0.0, |(_, t)| *t)
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
    /// The service the liveness steps probe.
    pub service: &'a str,
    /// The mutated message and its actor, if one was.
    pub mutated: Option<(&'a str, &'a [u8])>,
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

    // Actors: one per connection name, targeted like the round's first connection.
    let events = events(d.log, d.services);
    let mut actors: BTreeMap<String, String> = BTreeMap::new();
    for (_, actor, e) in &events {
        if let Event::Connect(target) = e {
            actors
                .entry(actor.clone())
                .or_insert_with(|| target.clone());
        }
    }
    if d.tail == Tail::Liveness {
        actors.insert(PROBE.into(), d.service.into());
    }
    let _ = writeln!(y, "actors:");
    for (name, target) in &actors {
        let _ = writeln!(y, "  {name}: {target}");
    }

    let _ = writeln!(y, "steps:");
    let mut connected: BTreeMap<&str, bool> = BTreeMap::new();
    let mut mutated_seen = false;
    for (_, actor, e) in &events {
        let bytes = match e {
            Event::Connect(_) => {
                let _ = writeln!(y, "  - connect: {actor}");
                connected.insert(actor, true);
                continue;
            }
            Event::Send(b) => b,
        };
        if !connected.contains_key(actor.as_str()) {
            continue;
        }
        let mutated = d
            .mutated
            .is_some_and(|(a, m)| a == actor && !mutated_seen && contains(bytes, m));
        mutated_seen |= mutated;
        let last = mutated && matches!(&d.tail, Tail::Reply { actor: a, .. } if a == actor);
        let _ = writeln!(y, "  - send: {actor}");
        if last {
            let _ = writeln!(y, "    as: fuzzed");
        }
        if mutated {
            let _ = writeln!(
                y,
                "    note: {}",
                quoted(&format!("mutated: {}", d.mutation))
            );
        }
        let _ = writeln!(y, "    raw: '{}'", raw(bytes));
        if last {
            break;
        }
    }
    // A mutated message no recorded connection carries went out after the round's records
    // were taken (the gateway transport sends what is left when the scenario ends): it goes
    // last.
    if let Some((actor, bytes)) = d.mutated
        && !mutated_seen
        && connected.contains_key(actor)
    {
        let _ = writeln!(y, "  - send: {actor}");
        if matches!(&d.tail, Tail::Reply { .. }) {
            let _ = writeln!(y, "    as: fuzzed");
        }
        let _ = writeln!(
            y,
            "    note: {}",
            quoted(&format!("mutated: {}", d.mutation))
        );
        let _ = writeln!(y, "    raw: '{}'", raw(bytes));
    }
    match &d.tail {
        Tail::Reply { actor, .. } => {
            let _ = writeln!(y, "  - expect: {actor}");
            let _ = writeln!(y, "    reply: fuzzed");
            let _ = writeln!(
                y,
                "    note: the server must answer a whole request (or close)"
            );
        }
        Tail::Valid {
            actor,
            closed: true,
        } => {
            let _ = writeln!(y, "  - expect_closed: {actor}");
            let _ = writeln!(y, "    note: every frame before the close must decode");
        }
        Tail::Valid {
            actor,
            closed: false,
        } => {
            let _ = writeln!(y, "  - barrier: {actor}");
            let _ = writeln!(y, "    note: every frame the server sends must decode");
        }
        Tail::Liveness => {
            for name in connected.keys() {
                let _ = writeln!(y, "  - disconnect: {name}");
            }
            y.push_str(&liveness_steps(protocol));
        }
    }
    y
}

/// Whether `hay` holds `needle`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The whole liveness scenario for `protocol`, on `service`.
pub fn liveness_yaml(protocol: Protocol, service: &str) -> String {
    format!(
        "title: imspec fuzz liveness ({service})\nprotocol: {p}\nactors:\n  {PROBE}: {service}\nsteps:\n{}",
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

/// The actor target for a connection: the service it dialled or whose address it reached,
/// or the address.
fn target_of(c: &Connection, services: &BTreeMap<String, SocketAddr>) -> String {
    if services.contains_key(&c.peer) {
        return c.peer.clone();
    }
    match services.iter().find(|(_, a)| a.to_string() == c.remote) {
        Some((name, _)) => name.clone(),
        None => format!("{{ address: \"{}\" }}", c.peer),
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
