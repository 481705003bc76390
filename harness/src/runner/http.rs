//! `http:` steps: an HTTP request of its own (over the gateway transport's exchange) whose
//! response is the reply to the step's request, in the view of [`crate::proto::http`].

use std::sync::Arc;
use std::time::Instant;

use tokio::time::timeout_at;

use crate::proto;
use crate::scenario::{ActorTarget, HttpSend};
use crate::transport::{Endpoint, gateway, tap};

use super::actor::{Actor, Closed, lock};
use super::case::{Case, StepFail, StepResult};
use super::result::Direction;

impl<'a> Case<'a> {
    /// An `http:` step: dials the actor's service, sends the request in a task of its own and
    /// returns; the response arrives as the reply to this request.
    pub(super) async fn http(&mut self, h: &HttpSend, deadline: Instant) -> StepResult {
        let name = h.actor.as_str();
        let endpoint = match self.s.actors.get(name) {
            Some(ActorTarget::Service(s)) => Endpoint::Service(s.clone()),
            Some(ActorTarget::Address(t)) => Endpoint::Address(self.vars.interpolate(&t.0)?),
            None => return Err(StepFail::new(format!("unknown actor `{name}`"))),
        };
        if self.actors.get(name).is_some_and(|a| !a.is_http()) {
            return Err(StepFail::new(format!(
                "`{name}` has a connection (`connect:`); `http:` steps need an actor of their own"
            )));
        }
        let method = match &h.method {
            Some(m) => self.vars.interpolate(&m.0)?,
            None => "POST".into(),
        };
        let target = self.vars.interpolate(&h.target.0)?;
        let headers = h
            .headers
            .iter()
            .map(|(n, v)| Ok((self.vars.interpolate(n)?, self.vars.interpolate(&v.0)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let body = match &h.body {
            Some(b) => proto::unescape(&self.vars.interpolate(&b.0)?)?,
            None => Vec::new(),
        };
        let scope = self.scope(name, "http");
        let dialled = tap::within(scope, self.connector.dial(&endpoint));
        let dialled = timeout_at(deadline.into(), dialled).await;
        let stream = self.opened(name, &endpoint, dialled)?;
        let host = match &endpoint {
            Endpoint::Address(a) => a.clone(),
            Endpoint::Service(s) => s.clone(),
        };
        self.wire.bind(name, &host, None, "http");
        let request = gateway::HttpRequest {
            method,
            target,
            headers,
            body,
        };
        self.wire.log(name, Direction::SEND, request.describe());
        let actor = self
            .actors
            .entry(name.to_owned())
            .or_insert_with(Actor::http);
        let key = format!("http {}", actor.counter);
        actor.counter += 1;
        lock(&actor.inbox).pending.push(key.clone());
        actor.outstanding.push_back((h.name.clone(), key.clone()));
        let (inbox, wire, signal) = (
            Arc::clone(&actor.inbox),
            Arc::clone(&self.wire),
            Arc::clone(&self.signal),
        );
        let who = name.to_owned();
        actor.spawn_request(async move {
            match gateway::exchange(stream, &request, &host).await {
                Ok(resp) => {
                    wire.log(&who, Direction::RECV, resp.describe());
                    let frame = proto::http::response_frame(&resp);
                    let mut ib = lock(&inbox);
                    ib.pending.retain(|k| *k != key);
                    ib.replies.push((key, frame));
                }
                Err(e) => {
                    let m = format!("HTTP request `{key}` ({}) failed: {e}", request.target);
                    wire.event(&who, "close", m.clone());
                    lock(&inbox).closed = Some(Closed::Failed(m));
                }
            }
            signal.wake();
        });
        Ok(())
    }
}
