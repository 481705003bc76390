//! `send:`: a step's frame with its templates resolved, built by the actor's protocol and
//! written (or, chopped, buffered until the next step that is not a send).

use std::borrow::Cow;

use crate::proto::{self, Frame, Spec};
use crate::scenario::{FrameSpec, Template, Tree};

use super::actor::lock;
use super::case::{Case, StepFail, StepResult};
use super::result::{Direction, Failure};

impl<'a> Case<'a> {
    pub(super) fn resolve_spec<'f>(&self, f: &'f FrameSpec) -> Result<Spec<'f>, StepFail> {
        let t = |x: &'f Option<Template>| -> Result<Option<Cow<'f, str>>, StepFail> {
            x.as_ref()
                .map(|t| self.vars.interpolate_cow(&t.0))
                .transpose()
                .map_err(StepFail::from)
        };
        let pairs = |v: &[(String, Template)]| -> Result<Vec<(String, String)>, StepFail> {
            v.iter()
                .map(|(n, t)| Ok((self.vars.interpolate(n)?, self.vars.interpolate(&t.0)?)))
                .collect::<Result<_, String>>()
                .map_err(StepFail::from)
        };
        let reply_to = match &f.reply_to {
            Some(n) => Some(self.vars.frames.get(n).cloned().ok_or_else(|| {
                StepFail::new(format!(
                    "`reply_to: {n}`: no frame stored as `{n}` (use `as: {n}` on an expect)"
                ))
            })?),
            None => None,
        };
        Ok(Spec {
            method: t(&f.method)?,
            status: t(&f.status)?,
            reason: t(&f.reason)?,
            target: t(&f.target)?,
            version: t(&f.version)?,
            verb: t(&f.verb)?,
            trid: t(&f.trid)?,
            length: t(&f.length)?,
            headers: pairs(&f.headers)?,
            blocks: f
                .blocks
                .iter()
                .map(|b| pairs(b))
                .collect::<Result<_, _>>()?,
            body: t(&f.body)?,
            reply_to,
            local: None,
            command: f.command.as_ref().map(|c| self.tree(c)).transpose()?,
        })
    }

    /// A written LeanCloud command with its templates resolved, as JSON.
    pub(super) fn tree(&self, t: &Tree) -> Result<serde_json::Value, StepFail> {
        use serde_json::Value as J;
        Ok(match t {
            Tree::Null => J::Null,
            Tree::Bool(b) => J::Bool(*b),
            Tree::Number(n) => {
                serde_json::from_str(n).map_err(|e| StepFail::new(format!("number `{n}`: {e}")))?
            }
            Tree::Str(s) => J::String(self.vars.interpolate(&s.0)?),
            Tree::List(l) => J::Array(l.iter().map(|x| self.tree(x)).collect::<Result<_, _>>()?),
            Tree::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| Ok((self.vars.interpolate(k)?, self.tree(v)?)))
                    .collect::<Result<_, StepFail>>()?,
            ),
        })
    }

    pub(super) async fn send(
        &mut self,
        name: &str,
        as_name: Option<&str>,
        f: &FrameSpec,
    ) -> StepResult {
        let proto = self.proto_of(name);
        let bytes = match &f.raw {
            Some(raw) => proto.raw(proto::unescape(&self.vars.interpolate(&raw.0)?)?),
            None => {
                let mut spec = self.resolve_spec(f)?;
                if proto.builds_with_local() {
                    spec.local = self.local(name).map(Cow::Owned);
                }
                let counter = self.actor(name)?.counter;
                let bytes = proto.build(&spec, counter)?;
                self.actor_mut(name)?.counter += 1;
                bytes
            }
        };
        // The sent frame is decoded only when a step names it (`as:`); the key needs less.
        let mut key = proto.request_key_of(&bytes);
        // Playing the server (client cases), a frame that would pair as a reply if it came
        // from the server (`session/opened` with the client's `i`, a SIP response) answers the
        // client and waits for nothing.
        if key.is_some() && self.connector.accepts() {
            let is_reply = match proto.parse(&bytes) {
                Ok(imspec_codec::Status::Complete((frame, _))) => {
                    proto.pairing(&frame) != proto::Pairing::Push
                }
                _ => false,
            };
            if is_reply {
                key = None;
            }
        }
        let chop = self.chop();
        let actor = self
            .actors
            .get_mut(name)
            .ok_or_else(|| StepFail::new(format!("`{name}` is not connected")))?;
        if actor.is_http() {
            return Err(StepFail::new(format!(
                "`{name}` is an actor of `http:` steps; it has no connection to `send:` on"
            )));
        }
        if !actor.is_open() {
            return Err(StepFail::new(format!("`{name}` was disconnected")));
        }
        if let Some(k) = key {
            lock(&actor.inbox).pending.push(k.clone());
            actor.outstanding.push_back((as_name.map(str::to_owned), k));
        }
        self.wire.frame(name, Direction::SEND, &bytes, proto);
        if let Some(n) = as_name {
            let frame = match proto.parse(&bytes) {
                Ok(imspec_codec::Status::Complete((frame, used))) if used == bytes.len() => frame,
                _ => Frame::opaque(bytes.clone()),
            };
            self.vars.frames.insert(n.to_owned(), frame);
        }
        if chop {
            actor.out_buf.extend_from_slice(&bytes);
            Ok(())
        } else {
            actor
                .write(&bytes, None)
                .await
                .map_err(|e| StepFail::new(format!("writing to `{name}` failed: {e}")))
        }
    }

    pub(super) async fn flush_all(&mut self) -> Result<(), Failure> {
        let names: Vec<String> = self
            .actors
            .iter()
            .filter(|(_, a)| !a.out_buf.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            let Some(actor) = self.actors.get_mut(&n) else {
                continue;
            };
            let bytes = std::mem::take(&mut actor.out_buf);
            actor
                .write(&bytes, Some(&mut self.rng))
                .await
                .map_err(|e| Failure {
                    reason: format!("writing to `{n}` failed: {e}"),
                    ..Failure::default()
                })?;
        }
        Ok(())
    }
}
