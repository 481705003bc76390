//! Twin cases: the same case run a second time another way, so a report shows both side by
//! side ([`crate::report::Parity`]): every MSNP case over the HTTP gateway (`<id>@gateway`)
//! and, with `--chop`, every case with chopped writes (`<id>@chop`).

use crate::scenario::{ActorTarget, Scenario};
use crate::transport::gateway::{SERVICE, SUFFIX};

/// The id suffix of a case's chopped twin (see [`with_chop_twins`]).
pub const CHOP_SUFFIX: &str = "@chop";

/// Every case followed by its chopped twin (`<id>@chop`, sends split into 1–7 byte writes
/// and consecutive sends coalesced), so a report shows both side by side.
pub fn with_chop_twins(cases: Vec<Scenario>) -> Vec<Scenario> {
    let mut out = Vec::with_capacity(cases.len() * 2);
    for s in cases {
        let mut twin = s.clone();
        twin.id.push_str(CHOP_SUFFIX);
        out.push(s);
        out.push(twin);
    }
    out
}

/// Whether a case talks to the gateway itself (declares an actor on [`SERVICE`]).
pub fn is_gateway_case(s: &Scenario) -> bool {
    s.actors
        .values()
        .any(|a| matches!(a, ActorTarget::Service(x) if x == SERVICE))
}

/// The twin of an MSNP case that runs over the gateway: id + [`SUFFIX`], every actor on the
/// protocol's own service (`msnp`) moved to [`SERVICE`]. `None` for protocols without the
/// gateway among their services, gateway cases and cases without an actor on the own service.
pub fn over_gateway(s: &Scenario) -> Option<Scenario> {
    let services = s.protocol.module().services();
    let own = *services.first()?;
    let direct = |a: &ActorTarget| matches!(a, ActorTarget::Service(x) if x == own);
    if !services.contains(&SERVICE) || is_gateway_case(s) || !s.actors.values().any(direct) {
        return None;
    }
    let mut twin = s.clone();
    twin.id.push_str(SUFFIX);
    for a in twin.actors.values_mut() {
        if direct(a) {
            *a = ActorTarget::Service(SERVICE.into());
        }
    }
    Some(twin)
}

/// The cases to run: each MSNP case over TCP (`tcp`) and its twin over the gateway
/// (`gateway`), next to each other; every other case once.
pub fn with_twins(cases: Vec<Scenario>, tcp: bool, gateway: bool) -> Vec<Scenario> {
    let mut out = Vec::with_capacity(cases.len() * 2);
    for s in cases {
        match over_gateway(&s) {
            Some(twin) => {
                if tcp || !gateway {
                    out.push(s);
                }
                if gateway {
                    out.push(twin);
                }
            }
            None => out.push(s),
        }
    }
    out
}
