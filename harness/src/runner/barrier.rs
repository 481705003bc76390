//! `barrier:`: a round trip every reply to which shows the target has handled what came
//! before, or a quiet period when the profile asks for one.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::proto;

use super::actor::{Closed, lock};
use super::case::{Case, StepFail, StepResult};
use super::options::QUIET_MS;
use super::profile::BarrierMode;
use super::result::Direction;
use super::wait::take_reply;

impl<'a> Case<'a> {
    pub(super) async fn barrier(&mut self, name: &str, deadline: Instant) -> StepResult {
        if self.actor(name)?.is_http() {
            return Err(StepFail::new(format!(
                "`{name}` is an actor of `http:` steps: it has no connection to make a barrier on"
            )));
        }
        // A target that does not claim what the round trip needs gets quiet barriers (Fetion:
        // its round trip would test KeepAlive in every case that needs a barrier).
        let unclaimed = self
            .proto
            .barrier_claim()
            .is_some_and(|c| !self.opts.profile.claims(c));
        if self.opts.profile.barrier == BarrierMode::Quiet || unclaimed {
            let ms = self.opts.profile.quiet_ms.unwrap_or(QUIET_MS);
            let quiet = Duration::from_secs_f64(ms as f64 * self.opts.timeout_scale / 1000.0);
            self.wire
                .event(name, "barrier", format!("barrier: {ms} ms of quiet"));
            tokio::time::sleep(quiet).await;
            return match lock(&self.actor(name)?.inbox).closed.clone() {
                Some(Closed::Failed(m)) => Err(StepFail::new(m)),
                _ => Ok(()),
            };
        }
        let proto = self.proto_of(name);
        let mut spec = proto.barrier();
        if proto.builds_with_local() {
            spec.local = self.local(name).map(Cow::Owned);
        }
        let counter = self.actor(name)?.counter;
        let bytes = proto.build(&spec, counter)?;
        let key = match proto.parse(&bytes) {
            Ok(imspec_codec::Status::Complete((fr, _))) => proto.request_key(&fr),
            _ => None,
        }
        .ok_or_else(|| StepFail::new("internal: the barrier request has no reply key"))?;
        let actor = self.actor_mut(name)?;
        actor.counter += 1;
        lock(&actor.inbox).pending.push(key.clone());
        self.wire
            .event(name, "barrier", "barrier: a round trip".into());
        self.wire.frame(name, Direction::SEND, &bytes, proto);
        let rng = if self.chop() {
            Some(&mut self.rng)
        } else {
            None
        };
        let actor = self
            .actors
            .get_mut(name)
            .ok_or_else(|| StepFail::new("not connected"))?;
        actor
            .write(&bytes, rng)
            .await
            .map_err(|e| StepFail::new(format!("writing to `{name}` failed: {e}")))?;
        let what = format!("answer to the barrier `{}`", proto::first_line(&bytes));
        self.wait(name, deadline, |ib| take_reply(ib, &key).map(Ok))
            .await
            .map(|_| ())
            .map_err(|e| self.wait_fail(name, e, &what))
    }
}
