//! The imspec reference server: one sans-IO [`Hub`] per protocol ([`fetion`], [`msnp`] with its
//! HTTP [`gateway`], [`leancloud`], [`sip`] with the MSRP mailbox), listed once in
//! [`PROTOCOLS`], and one tokio [`driver`] that runs them on sockets, plus the durable stores
//! (scaffolding and backends in [`db`], the MSNP history in [`store`]), the login policy
//! ([`accounts`]), the [`Mutant`]s that break one rule each for `imspec selftest`, and the
//! bodies of the `server_*` fuzz targets ([`fuzz`]).
#![forbid(unsafe_code)]

use std::fmt;

pub mod accounts;
pub mod db;
pub mod driver;
pub mod fetion;
pub mod fuzz;
pub mod gateway;
pub mod hub;
pub mod leancloud;
pub mod msnp;
pub mod mutant;
mod rng;
pub mod sip;
pub mod store;

pub use driver::{Server, ServerConfig};
pub use hub::{Hub, PROTOCOLS, Protocol};
pub use mutant::Mutant;

/// Current Unix time in milliseconds. The hubs never read a clock themselves: the driver and
/// the gateway's HTTP glue read it and pass it in.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A connection's id, unique within one server run.
pub type ConnId = u64;

/// A listening service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Fetion SIP-C main server (login, StartChat, INVITE pushes).
    Fetion,
    /// Fetion SIP-C chat server (the address `A: CS address=…` names).
    FetionChat,
    /// LeanCloud realtime over WebSocket ([`leancloud`]; `lc.protobuf2.*`, `lc.proto2base64.*`).
    LeanCloud,
    /// MSNP24 notification server.
    Msnp,
    /// The MSNP HTTP gateway (`gateway.dll`) in front of the same MSNP24 hub.
    MsnpGateway,
    /// SIP over TCP (RFC 3261): registrar, MESSAGE store-and-forward, MWI ([`sip`]).
    Sip,
    /// The MSRP listener of the SIP mailbox (the `a=path` of its SDP answers).
    Msrp,
}

impl Service {
    /// Every service.
    pub const ALL: &'static [Self] = &[
        Self::Fetion,
        Self::FetionChat,
        Self::LeanCloud,
        Self::Msnp,
        Self::MsnpGateway,
        Self::Sip,
        Self::Msrp,
    ];

    /// The name printed in `listening <service> <host:port>`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Fetion => "fetion",
            Self::FetionChat => "fetion-chat",
            Self::LeanCloud => "leancloud",
            Self::Msnp => "msnp",
            Self::MsnpGateway => "msnp-gateway",
            Self::Sip => "sip",
            Self::Msrp => "msrp",
        }
    }

    /// The service of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The protocol this service speaks (its entry in [`PROTOCOLS`]).
    pub fn protocol(self) -> &'static Protocol {
        PROTOCOLS
            .iter()
            .find(|p| p.services.contains(&self))
            .expect("every service belongs to one protocol (hub::tests)")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened on a connection.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A client connected to `Service::Fetion` (main) or `Service::FetionChat`.
    Connected(Service),
    /// Bytes arrived (any chunking).
    Data(&'a [u8]),
    /// The peer closed or the driver dropped the connection.
    Closed,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// One or more whole frames.
        bytes: Vec<u8>,
    },
    /// Close the connection (after writing what was queued before).
    Close {
        /// The connection.
        conn: ConnId,
    },
}
