//! Waiting: for replies and pushes (`expect:`, `expect_any_order:`), for a close, and what
//! a wait that ends without its frame reports.

use std::sync::Arc;
use std::time::Instant;

use smallvec::SmallVec;

use crate::proto::{self, Frame};
use crate::scenario::{Expect, ExpectSource};

use super::actor::{Closed, Inbox, lock};
use super::case::{Case, StepFail, StepResult};
use super::expect::{self, short};
use super::vars::Value;

/// A wait's deadline passed.
pub(super) struct Elapsed;

impl<'a> Case<'a> {
    /// Waits until an inbox of the case changes after version `seen` ([`Signal`]), or until
    /// `deadline`.
    pub(super) async fn changed_until(
        &mut self,
        deadline: Instant,
        seen: &mut u64,
    ) -> Result<(), Elapsed> {
        // One timer for the case, moved rather than made anew: moving a registered tokio
        // timer to a later instant is an atomic store (it re-files itself when it comes due),
        // where a `timeout_at` per wait registered and removed a timer each time, under the
        // timer wheel's lock (callgrind: about 900 instructions per round trip).
        let deadline = tokio::time::Instant::from_std(deadline);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        // The signal first, as `timeout_at` polls its future before its delay.
        tokio::select! {
            biased;
            () = self.signal.changed(seen) => Ok(()),
            () = timer.as_mut() => Err(Elapsed),
        }
    }

    /// Waits until `f` finds what it looks for in `name`'s inbox, the connection ends, or the deadline.
    pub(super) async fn wait<T>(
        &mut self,
        name: &str,
        deadline: Instant,
        mut f: impl FnMut(&mut Inbox) -> Option<Result<T, StepFail>>,
    ) -> Result<T, WaitEnd> {
        let inbox = Arc::clone(&self.actor(name).map_err(WaitEnd::Fail)?.inbox);
        loop {
            let mut seen = self.signal.version();
            self.serve_answers().await.map_err(WaitEnd::Fail)?;
            {
                let mut ib = lock(&inbox);
                if let Some(r) = f(&mut ib) {
                    return r.map_err(WaitEnd::Fail);
                }
                if let Some(c) = &ib.closed {
                    return Err(WaitEnd::Closed(c.clone()));
                }
            }
            if self.changed_until(deadline, &mut seen).await.is_err() {
                return Err(WaitEnd::Timeout);
            }
        }
    }

    pub(super) fn wait_fail(&self, name: &str, e: WaitEnd, what: &str) -> StepFail {
        match e {
            WaitEnd::Fail(f) => f,
            WaitEnd::Closed(Closed::Eof) if self.is_driver(name) => StepFail::new(format!(
                "`{name}`: the driver closed its output (exited) before {what}"
            )),
            WaitEnd::Closed(Closed::Eof) => StepFail::new(format!(
                "`{name}`: the {} closed the connection before {what}",
                if self.connector.accepts() {
                    "client"
                } else {
                    "server"
                }
            )),
            WaitEnd::Closed(Closed::Failed(m)) => StepFail::new(format!("`{name}`: {m}")),
            WaitEnd::Timeout => {
                let pushes = self
                    .actors
                    .get(name)
                    .map(|a| summaries(&lock(&a.inbox).pushes))
                    .unwrap_or_default();
                StepFail {
                    frame: None,
                    reason: format!("`{name}`: no {what} within {}", self.timeout_text()),
                    expected: Some(what.to_owned()),
                    actual: Some(if pushes.is_empty() {
                        "nothing arrived".into()
                    } else {
                        format!("unpaired frames: {pushes}")
                    }),
                }
            }
        }
    }

    /// Waits for every expect's frame (in any order) and checks them; returns the frames in
    /// the order of `list`.
    pub(super) async fn expect_all(
        &mut self,
        list: &[Expect],
        deadline: Instant,
    ) -> Result<SmallVec<[Frame; 1]>, StepFail> {
        // Reply expects take their request now, so a later expect cannot claim it.
        // One expect per step is the usual case: its key and frame stay on the stack.
        let mut keys: SmallVec<[Option<String>; 2]> = SmallVec::new();
        for e in list {
            let actor = self.actor_mut(&e.actor)?;
            let key = match &e.source {
                ExpectSource::Push => None,
                ExpectSource::NextReply => Some(
                    actor
                        .outstanding
                        .pop_front()
                        .ok_or_else(|| StepFail::new(format!("`{}` has no request waiting for a reply (send one first, or use `push: true`)", e.actor)))?
                        .1,
                ),
                ExpectSource::Reply(n) => {
                    let pos = actor.outstanding.iter().position(|(name, _)| name.as_deref() == Some(n)).ok_or_else(|| {
                        StepFail::new(format!("`{}` has no request named `{n}` waiting for a reply (its reply may already have been expected)", e.actor))
                    })?;
                    actor.outstanding.remove(pos).map(|x| x.1)
                }
            };
            keys.push(key);
        }
        let mut got: SmallVec<[Option<Frame>; 2]> =
            std::iter::repeat_with(|| None).take(list.len()).collect();
        loop {
            let mut seen = self.signal.version();
            self.serve_answers().await?;
            for (i, e) in list.iter().enumerate() {
                if got[i].is_some() {
                    continue;
                }
                let inbox = Arc::clone(&self.actor(&e.actor)?.inbox);
                let mut ib = lock(&inbox);
                match &keys[i] {
                    Some(k) => {
                        if let Some(frame) = take_reply(&mut ib, k) {
                            drop(ib);
                            self.check_expect(&e.actor, &frame, e)
                                .map_err(|m| StepFail {
                                    reason: format!(
                                        "reply to `{k}` on `{}`: {}",
                                        e.actor, m.reason
                                    ),
                                    expected: Some(m.expected),
                                    actual: Some(format!(
                                        "{}\n  in frame: {}",
                                        m.actual,
                                        short(&proto::escape(&frame.bytes))
                                    )),
                                    frame: Some(frame.bytes.clone()),
                                })
                                .map_err(|f| item_fail(list, e, f))?;
                            got[i] = Some(frame);
                            continue;
                        }
                    }
                    None => {
                        let pos = ib
                            .pushes
                            .iter()
                            .position(|f| self.check_expect(&e.actor, f, e).is_ok());
                        if let Some(p) = pos {
                            got[i] = ib.pushes.remove(p);
                            continue;
                        }
                    }
                }
                if let Some(c) = ib.closed.clone() {
                    drop(ib);
                    let what = match &keys[i] {
                        Some(k) => format!("reply to `{k}`"),
                        None => "matching push".into(),
                    };
                    let f = self.wait_fail(&e.actor, WaitEnd::Closed(c), &what);
                    return Err(item_fail(list, e, f));
                }
            }
            if got.iter().all(Option::is_some) {
                return Ok(got.into_iter().flatten().collect());
            }
            match self.changed_until(deadline, &mut seen).await {
                Ok(()) => {}
                Err(Elapsed) => {
                    let Some(i) = got.iter().position(Option::is_none) else {
                        continue;
                    };
                    let e = &list[i];
                    let f = match &keys[i] {
                        Some(k) => {
                            self.wait_fail(&e.actor, WaitEnd::Timeout, &format!("reply to `{k}`"))
                        }
                        None => self.no_push(e),
                    };
                    return Err(item_fail(list, e, f));
                }
            }
        }
    }

    pub(super) fn no_push(&self, e: &Expect) -> StepFail {
        let Some(actor) = self.actors.get(&e.actor) else {
            return StepFail::new(format!("`{}` is not connected", e.actor));
        };
        let ib = lock(&actor.inbox);
        let wanted = e
            .checks
            .iter()
            .map(|(f, c)| format!("{f}: {}", expect::yaml(c, &self.vars)))
            .collect::<Vec<_>>()
            .join(", ");
        let first_mismatch = ib
            .pushes
            .front()
            .and_then(|f| self.check_expect(&e.actor, f, e).err());
        StepFail {
            frame: ib
                .pushes
                .front()
                .filter(|_| first_mismatch.is_some())
                .map(|f| f.bytes.clone()),
            reason: match first_mismatch {
                Some(m) => format!(
                    "`{}`: no push matching the checks within {}; the first queued one fails: {}",
                    e.actor,
                    self.timeout_text(),
                    m.reason
                ),
                None => format!(
                    "`{}`: no push arrived within {}",
                    e.actor,
                    self.timeout_text()
                ),
            },
            expected: Some(if wanted.is_empty() {
                "any push".into()
            } else {
                wanted
            }),
            actual: Some(if ib.pushes.is_empty() {
                "no push queued".into()
            } else {
                summaries(&ib.pushes)
            }),
        }
    }

    pub(super) fn after_expect(&mut self, e: &Expect, frame: Option<Frame>) -> StepResult {
        for (name, c) in &e.captures {
            let var = self.vars.interpolate(&name.0)?;
            let value = expect::capture(c, frame.as_ref(), &self.vars)
                .map_err(|m| StepFail::new(format!("capture `{var}`: {m}")))?;
            let value = match (c.append, value, self.vars.values.remove(&var)) {
                (true, Value::List(mut new), Some(old)) => {
                    let mut all = old.as_list();
                    all.append(&mut new);
                    Value::List(all)
                }
                (true, Value::Str(s), Some(old)) => {
                    let mut all = old.as_list();
                    all.push(s);
                    Value::List(all)
                }
                (_, v, _) => v,
            };
            self.vars.values.insert(var, value);
        }
        if let (Some(n), Some(f)) = (&e.name, frame) {
            self.vars.frames.insert(n.clone(), f);
        }
        Ok(())
    }
}

pub(super) enum WaitEnd {
    Fail(StepFail),
    Closed(Closed),
    Timeout,
}

pub(super) fn take_reply(ib: &mut Inbox, key: &str) -> Option<Frame> {
    let pos = ib.replies.iter().position(|(k, _)| k == key)?;
    Some(ib.replies.remove(pos).1)
}

pub(super) fn summaries<'f>(frames: impl IntoIterator<Item = &'f Frame>) -> String {
    let all: Vec<String> = frames.into_iter().map(|f| f.summary()).collect();
    let n = all.len();
    let mut shown: Vec<String> = all.into_iter().take(8).collect();
    if n > 8 {
        shown.push(format!("… {} more", n - 8));
    }
    shown.join(" | ")
}

/// The failure of one item of an `expect_any_order` step names the item's place and note.
pub(super) fn item_fail(list: &[Expect], e: &Expect, f: StepFail) -> StepFail {
    if list.len() < 2 {
        return f;
    }
    let note = e
        .note
        .as_deref()
        .map_or_else(String::new, |n| format!("; note: {n}"));
    StepFail {
        reason: format!("{} (the item at {}{note})", f.reason, e.span),
        ..f
    }
}
