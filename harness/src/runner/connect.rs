//! `connect:`: the transport opens a byte stream to the actor's endpoint, the actor's
//! protocol runs its opening handshake over it ([`crate::proto::Protocol::open`]), and the
//! actor's read loop starts.

use std::sync::Arc;
use std::time::Instant;

use tokio::time::timeout_at;

use crate::proto::{self, Protocol};
use crate::scenario::ActorTarget;
use crate::transport::{Endpoint, first_address, gateway, tap};

use super::actor::Actor;
use super::case::{Case, StepFail, StepResult};
use super::result::Direction;

impl<'a> Case<'a> {
    pub(super) async fn connect(&mut self, name: &str, deadline: Instant) -> StepResult {
        let endpoint = match self.s.actors.get(name) {
            Some(ActorTarget::Service(s)) => Endpoint::Service(s.clone()),
            Some(ActorTarget::Address(t)) => Endpoint::Address(self.vars.interpolate(&t.0)?),
            None => return Err(StepFail::new(format!("unknown actor `{name}`"))),
        };
        if let Some(mut old) = self.actors.remove(name) {
            old.close(Instant::now()).await;
        }
        let (endpoint, proto) = self.protocol_at(endpoint);
        self.protos.insert(name.to_owned(), proto);
        // What the TCP stream carries, for the capture: the gateway transport makes HTTP
        // requests, LeanCloud runs in WebSocket messages.
        let carried = match &endpoint {
            Endpoint::Service(s) if s == gateway::SERVICE => "http",
            _ => proto.carried(),
        };
        let scope = self.scope(name, carried);
        let opened = tap::within(scope, self.connector.connect(&endpoint));
        let opened = timeout_at(deadline.into(), opened).await;
        if opened.is_err() && self.connector.accepts() {
            return Err(StepFail::new(format!(
                "`{name}`: the client did not connect to the {endpoint} listener in time"
            )));
        }
        let stream = self.opened(name, &endpoint, opened)?;
        let peer = match &endpoint {
            Endpoint::Service(s) | Endpoint::Address(s) => s.clone(),
        };
        let conn = (carried != "http")
            .then(|| self.wire.capture.latest(name))
            .flatten();
        self.wire.bind(name, &peer, conn, proto.name());
        self.wire
            .event(name, "connect", format!("connected to {endpoint}"));
        let addrs = tap::socket_addrs(&stream);
        // `${local:NAME}`: this connection's own address (a SIP Contact naming the flow).
        let local = addrs.map_or_else(proto::sip::synthetic_local, |(l, _)| l.to_string());
        self.vars.set(&format!("local:{name}"), local);
        let stream = match proto.handshake() {
            None => stream,
            Some(handshake) => {
                // The Host the server sees: the address dialled (a TCP stream knows it), else
                // the service name (in memory).
                let host = match (&endpoint, addrs.map(|(_, p)| p)) {
                    (_, Some(addr)) => Ok(addr.to_string()),
                    (Endpoint::Service(s), None) => Ok(s.clone()),
                    (Endpoint::Address(a), None) => first_address(a)
                        .map(str::to_owned)
                        .map_err(|e| e.to_string()),
                };
                let opening = proto::Opening {
                    host,
                    accepts: self.connector.accepts(),
                    options: self.s.actor_options.get(name),
                };
                match timeout_at(deadline.into(), proto.open(stream, opening)).await {
                    Err(_) => {
                        return Err(StepFail::new(format!(
                            "the {handshake} handshake of `{name}` timed out"
                        )));
                    }
                    Ok(Err(e)) => return Err(StepFail::new(format!("`{name}`: {e}"))),
                    Ok(Ok(opened)) => {
                        match opened.note {
                            Some((Some(kind), text)) => self.wire.event(name, kind, text),
                            Some((None, text)) => self.wire.log(name, Direction::Event, text),
                            None => {}
                        }
                        opened.stream
                    }
                }
            }
        };
        let actor = Actor::start(
            name,
            stream,
            proto,
            Arc::clone(&self.wire),
            Arc::clone(&self.signal),
        );
        self.actors.insert(name.to_owned(), actor);
        Ok(())
    }

    /// Where an actor connects and the protocol it speaks there: the protocol of its
    /// service when that protocol is spoken inside other protocols' cases (MSRP, the
    /// driver), the protocol an address belongs to (an MSRP URI, dialled at its
    /// `host:port`), else the case's.
    pub(super) fn protocol_at(&self, endpoint: Endpoint) -> (Endpoint, &'static dyn Protocol) {
        match endpoint {
            Endpoint::Service(s) => {
                let proto = proto::by_service(&s)
                    .filter(|p| !p.scenario_protocol())
                    .unwrap_or(self.proto);
                (Endpoint::Service(s), proto)
            }
            Endpoint::Address(a) => {
                let claimed = proto::ALL
                    .iter()
                    .find_map(|p| p.address_of(&a).map(|hp| (hp, *p)));
                match claimed {
                    Some((hp, p)) => (Endpoint::Address(hp), p),
                    None => (Endpoint::Address(a), self.proto),
                }
            }
        }
    }
}
