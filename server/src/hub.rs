//! The one interface of a protocol's sans-IO server ([`Hub`]), and the list of the protocols
//! ([`PROTOCOLS`]): the only place the server crate names them. The tokio [`driver`], the
//! `server_*` fuzz bodies ([`crate::fuzz`]) and `imspec selftest` (through
//! [`Mutant::protocol`](crate::Mutant::protocol)) all go through these two.
//!
//! A hub follows quinn-proto: no socket and no clock inside. The caller feeds it events with
//! the time (`handle`), drains what it must write (`poll_output`), asks when it next wants the
//! clock (`poll_timeout`) and fires its timers (`handle_timeout`). So whole conversations run
//! in memory and deterministically, in unit tests and under the fuzzer alike.
//!
//! [`driver`]: crate::driver

use std::net::SocketAddr;

use crate::{ConnId, Output, Service, fetion, leancloud, msnp, sip};

/// One protocol's sans-IO server.
pub trait Hub {
    /// What a connection reports: a byte stream's events ([`crate::Event`]) or, for a hub
    /// behind WebSocket, whole messages ([`leancloud::Event`]).
    type Event<'a>;

    /// Feeds one event for `conn` at time `now_ms` (Unix milliseconds).
    fn handle(&mut self, now_ms: u64, conn: ConnId, event: Self::Event<'_>);

    /// The next thing the driver must do, if any.
    fn poll_output(&mut self) -> Option<Output>;

    /// When [`handle_timeout`](Self::handle_timeout) is next due (Unix ms), if ever.
    fn poll_timeout(&self) -> Option<u64>;

    /// Fires every timer due at `now_ms`.
    fn handle_timeout(&mut self, now_ms: u64);

    /// The source address of an accepted connection (hubs that route by it use it).
    fn set_peer(&mut self, _conn: ConnId, _peer: SocketAddr) {}

    /// An outbound connection the hub wants opened: the id it already uses for it, and
    /// where to. The driver answers with `Connected`/`Closed` events like any connection.
    fn poll_connect(&mut self) -> Option<(ConnId, SocketAddr)> {
        None
    }
}

/// `impl Hub` for a hub type whose inherent methods of the same names it forwards to; the
/// optional methods go in braces.
macro_rules! impl_hub {
    ($hub:ty, $event:ident { $($optional:tt)* }) => {
        impl Hub for $hub {
            type Event<'a> = $event<'a>;
            fn handle(&mut self, now_ms: u64, conn: ConnId, event: $event<'_>) {
                <$hub>::handle(self, now_ms, conn, event);
            }
            fn poll_output(&mut self) -> Option<Output> {
                <$hub>::poll_output(self)
            }
            fn poll_timeout(&self) -> Option<u64> {
                <$hub>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now_ms: u64) {
                <$hub>::handle_timeout(self, now_ms);
            }
            $($optional)*
        }
    };
}

use crate::Event as Stream;
use leancloud::Event as Messages;

impl_hub!(fetion::Hub, Stream {});
impl_hub!(msnp::Hub, Stream {});
impl_hub!(leancloud::Hub, Messages {});
impl_hub!(sip::Hub, Stream {
    fn set_peer(&mut self, conn: ConnId, peer: SocketAddr) {
        sip::Hub::set_peer(self, conn, peer);
    }
    fn poll_connect(&mut self) -> Option<(ConnId, SocketAddr)> {
        sip::Hub::poll_connect(self)
    }
});

/// A fuzz body: runs a program against a hub; `Err` describes a broken invariant.
pub type FuzzBody = fn(&[u8]) -> Result<(), String>;

/// One protocol of the reference server.
#[derive(Clone, Copy, Debug)]
pub struct Protocol {
    /// The protocol's name, as scenarios (`protocol: …`) and `imspec decode` spell it.
    pub name: &'static str,
    /// Its listening services; the first is the one clients start at.
    pub services: &'static [Service],
    /// The name prefixes of its [`Mutant`](crate::Mutant)s (`fetion-`).
    pub mutants: &'static [&'static str],
    /// The cargo-fuzz target that runs [`fuzz`](Self::fuzz) (`server_fetion`).
    pub fuzz_target: &'static str,
    /// The state-machine fuzz body of its hub ([`crate::fuzz`]).
    pub fuzz: FuzzBody,
}

/// Every protocol the reference server speaks. Adding one: its hub module, its `impl Hub`
/// above, its fuzz body in [`crate::fuzz`], its services in [`Service`], and one line here.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol {
        name: "fetion",
        services: &[Service::Fetion, Service::FetionChat],
        mutants: &["fetion-"],
        fuzz_target: "server_fetion",
        fuzz: crate::fuzz::fetion::run,
    },
    Protocol {
        name: "leancloud",
        services: &[Service::LeanCloud],
        mutants: &["lc-"],
        fuzz_target: "server_leancloud",
        fuzz: crate::fuzz::leancloud::run,
    },
    Protocol {
        name: "msnp",
        services: &[Service::Msnp, Service::MsnpGateway],
        mutants: &["msnp-", "gateway-"],
        fuzz_target: "server_msnp",
        fuzz: crate::fuzz::msnp::run,
    },
    Protocol {
        name: "sip",
        services: &[Service::Sip, Service::Msrp],
        mutants: &["sip-"],
        fuzz_target: "server_sip",
        fuzz: crate::fuzz::sip::run,
    },
];

impl Protocol {
    /// The protocol called `name`.
    pub fn from_name(name: &str) -> Option<&'static Self> {
        PROTOCOLS.iter().find(|p| p.name == name)
    }

    /// The protocol whose hub fuzz target is `target` (`server_fetion`).
    pub fn from_fuzz_target(target: &str) -> Option<&'static Self> {
        PROTOCOLS.iter().find(|p| p.fuzz_target == target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_every_service_and_mutant_has_exactly_one_protocol() {
        for s in Service::ALL {
            let owners: Vec<&str> = PROTOCOLS
                .iter()
                .filter(|p| p.services.contains(s))
                .map(|p| p.name)
                .collect();
            assert_eq!(owners, [s.protocol().name], "{s}");
        }
        let all = crate::Mutant::ALL
            .iter()
            .chain(crate::Mutant::FUZZ_ONLY)
            .chain(crate::Mutant::RACY);
        for m in all {
            let owners = PROTOCOLS
                .iter()
                .filter(|p| p.mutants.iter().any(|pre| m.name().starts_with(pre)))
                .count();
            assert_eq!(owners, 1, "{m}");
        }
        for p in PROTOCOLS {
            assert_eq!(p.fuzz_target, format!("server_{}", p.name));
            assert_eq!(
                Protocol::from_name(p.name).unwrap().fuzz_target,
                p.fuzz_target
            );
            assert_eq!(
                Protocol::from_fuzz_target(p.fuzz_target).unwrap().name,
                p.name
            );
        }
    }
}
