//! The step loop: runs a case's steps in order (a `repeat` as a loop of its own), gives a
//! failing step its label and location, and dispatches each step kind to its part of the
//! runner.

use std::sync::Arc;
use std::time::Instant;

use crate::scenario::{ExpectSource, Step, StepKind};

use super::actor::{Closed, lock};
use super::case::{BoxFut, Case, StepFail, StepResult};
use super::expect::check;
use super::options::MAX_TIMES;
use super::result::{Failure, StepTime, Waited};
use super::vars::Value;
use super::wait::{WaitEnd, summaries};

impl<'a> Case<'a> {
    pub(super) fn exec_steps<'b>(
        &'b mut self,
        steps: &'b [Step],
        prefix: &'b str,
        iteration: Option<u64>,
    ) -> BoxFut<'b, Result<(), Failure>>
    where
        'a: 'b,
    {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                // Built only when needed: a passing step never shows its path.
                let path = || step_label(prefix, step, i);
                let from = self.wire.len();
                let began = self.times.is_some().then(Instant::now);
                let outcome = if let StepKind::Repeat(r) = &step.kind {
                    self.repeat(step, r, &path()).await
                } else {
                    let wire = Arc::clone(&self.wire);
                    let waited = |f: &StepFail| {
                        let actor = step_actor(&step.kind);
                        let frame = match (&f.frame, &actor) {
                            (Some(b), Some(a)) => wire.find_recv(a, b, from),
                            _ => None,
                        };
                        Waited {
                            actor,
                            from,
                            to: wire.len(),
                            frame,
                        }
                    };
                    self.exec(step).await.map_err(|f| Failure {
                        waited: Some(waited(&f)),
                        step: match iteration {
                            Some(n) => format!("{} (iteration {n})", path()),
                            None => path(),
                        },
                        location: step.span.to_string(),
                        action: action(&step.kind),
                        reason: f.reason,
                        expected: f.expected,
                        actual: f.actual,
                        note: step.note.clone(),
                    })
                };
                outcome?;
                if let (Some(began), Some(times)) = (began, self.times.as_mut()) {
                    times.push(StepTime {
                        step: path(),
                        action: action(&step.kind),
                        elapsed: began.elapsed(),
                    });
                }
            }
            Ok(())
        })
    }

    pub(super) async fn repeat(
        &mut self,
        step: &Step,
        r: &crate::scenario::Repeat,
        path: &str,
    ) -> Result<(), Failure> {
        let fail = |reason: String| Failure {
            step: path.to_owned(),
            location: step.span.to_string(),
            action: "repeat".into(),
            reason,
            note: step.note.clone(),
            ..Failure::default()
        };
        let times = match &r.times {
            Some(t) => {
                let n = self.vars.interpolate(&t.0).map_err(&fail)?;
                let n: u64 = n
                    .trim()
                    .parse()
                    .map_err(|_| fail(format!("`times: {n}` is not a whole number")))?;
                if n > MAX_TIMES {
                    return Err(fail(format!("`times: {n}` exceeds {MAX_TIMES}")));
                }
                Some(n)
            }
            None => None,
        };
        let bound = times.unwrap_or(r.max).min(r.max);
        let saved = self.vars.values.get("iteration").cloned();
        let prefix = format!("{path}.");
        let mut i = 0;
        let outcome = loop {
            if i >= bound {
                break match &r.until {
                    Some((var, _)) if times.is_none() => Err(fail(format!(
                        "`until` on `{var}` still false after `max: {}` iterations",
                        r.max
                    ))),
                    _ => Ok(()),
                };
            }
            i += 1;
            self.vars
                .set("iteration", itoa::Buffer::new().format(i).to_owned());
            if let Err(f) = self.exec_steps(&r.steps, &prefix, Some(i)).await {
                break Err(f);
            }
            if let Some((var, c)) = &r.until {
                let values = self
                    .vars
                    .values
                    .get(var)
                    .map(Value::as_list)
                    .unwrap_or_default();
                if check(var, c, &values, &self.vars, &|_| Vec::new()).is_ok() {
                    break Ok(());
                }
            }
        };
        match saved {
            Some(v) => {
                self.vars.values.insert("iteration".into(), v);
            }
            None => {
                self.vars.values.remove("iteration");
            }
        }
        outcome
    }

    pub(super) async fn exec(&mut self, step: &Step) -> StepResult {
        if !matches!(step.kind, StepKind::Send(_)) {
            self.flush_all().await.map_err(|f| StepFail {
                reason: f.reason,
                ..StepFail::default()
            })?;
        }
        let deadline = self.deadline(step);
        match &step.kind {
            // Steps other than `send` and `expect` run boxed, each a future of its own, so
            // that the future of the usual step (and of every `repeat` iteration, which is
            // boxed) stays small.
            StepKind::Connect(name) => Box::pin(self.connect(name, deadline)).await,
            StepKind::Answer(a) => {
                self.answers.push((a.clone(), step.span.clone()));
                self.serve_answers().await
            }
            StepKind::Http(h) => Box::pin(self.http(h, deadline)).await,
            StepKind::Send(send) => {
                self.send(&send.actor, send.name.as_deref(), &send.frame)
                    .await
            }
            StepKind::Expect(e) => {
                let frames = self.expect_all(std::slice::from_ref(e), deadline).await?;
                self.after_expect(e, frames.into_iter().next())
            }
            StepKind::ExpectAnyOrder(list) => {
                let frames = self.expect_all(list, deadline).await?;
                for (e, f) in list.iter().zip(frames) {
                    self.after_expect(e, Some(f))?;
                }
                Ok(())
            }
            StepKind::Barrier(names) => {
                for n in names {
                    Box::pin(self.barrier(n, deadline)).await?;
                }
                Ok(())
            }
            StepKind::ExpectNoPush(names) => {
                for name in names {
                    Box::pin(self.barrier(name, deadline)).await?;
                }
                self.serve_answers().await?;
                for name in names {
                    let actor = self.actor(name)?;
                    let ib = lock(&actor.inbox);
                    if !ib.pushes.is_empty() {
                        return Err(StepFail {
                            frame: None,
                            reason: format!(
                                "{} unexpected frame(s) arrived on `{name}`",
                                ib.pushes.len()
                            ),
                            expected: Some("no frame".into()),
                            actual: Some(summaries(&ib.pushes)),
                        });
                    }
                }
                Ok(())
            }
            StepKind::ExpectClosed(name) => {
                let r = self
                    .wait(name, deadline, |ib| match &ib.closed {
                        Some(Closed::Eof) => Some(Ok(())),
                        Some(Closed::Failed(m)) => Some(Err(StepFail::new(m.clone()))),
                        None => None,
                    })
                    .await;
                match r {
                    Err(WaitEnd::Timeout) => Err(StepFail {
                        frame: None,
                        reason: format!("`{name}` was not closed by the server in time"),
                        expected: Some("connection closed".into()),
                        actual: Some("still open".into()),
                    }),
                    other => other.map_err(|e| self.wait_fail(name, e, "the close")),
                }
            }
            StepKind::Disconnect(name) => {
                let actor = self.actor_mut(name)?;
                // A bridged stream's close (gateway, WebSocket) completes once what was
                // written has gone out, so the next step cannot overtake it
                // (transport::Carrier).
                actor.close(deadline).await;
                self.wire
                    .event(name, "disconnect", "disconnected by the scenario".into());
                Ok(())
            }
            StepKind::Set(pairs) => {
                for (k, v) in pairs {
                    let value = self.vars.interpolate(&v.0)?;
                    self.vars.set(k, value);
                }
                Ok(())
            }
            StepKind::Assert(checks) => {
                for (var, c) in checks {
                    let values = self
                        .vars
                        .values
                        .get(var)
                        .map(Value::as_list)
                        .unwrap_or_default();
                    check(var, c, &values, &self.vars, &|_| Vec::new())?;
                }
                Ok(())
            }
            StepKind::Repeat(_) => Err(StepFail::new("internal: repeat handled by exec_steps")),
        }
    }
}

/// A step as its file shows it: `3`, `7.2` inside a repeat, and for a step of a fragment
/// `fragment fetion/login step 3, included at 001-x.yaml:14` (each include, innermost first).
fn step_label(prefix: &str, step: &Step, index: usize) -> String {
    let number = if step.origin.number == 0 {
        index + 1
    } else {
        step.origin.number
    };
    let mut out = format!("{prefix}{number}");
    for (n, inc) in step.origin.included.iter().enumerate() {
        let file = inc
            .at
            .file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if n == 0 {
            out = format!("fragment {} step {out}", inc.fragment);
        }
        out = format!("{out}, included at {file}:{}", inc.at.line);
    }
    out
}

/// The actor a step reads or writes, if one.
fn step_actor(kind: &StepKind) -> Option<String> {
    match kind {
        StepKind::Barrier(a) | StepKind::ExpectNoPush(a) => a.first().cloned(),
        StepKind::Connect(a) | StepKind::Disconnect(a) | StepKind::ExpectClosed(a) => {
            Some(a.clone())
        }
        StepKind::Http(h) => Some(h.actor.clone()),
        StepKind::Expect(e) => Some(e.actor.clone()),
        StepKind::Answer(a) => Some(a.when.actor.clone()),
        StepKind::ExpectAnyOrder(l) => l.first().map(|e| e.actor.clone()),
        StepKind::Send(s) => Some(s.actor.clone()),
        StepKind::Assert(_) | StepKind::Repeat(_) | StepKind::Set(_) => None,
    }
}

/// A short description of a step for reports.
pub fn action(kind: &StepKind) -> String {
    match kind {
        StepKind::Answer(a) => format!("answer {}", a.when.actor),
        StepKind::Assert(v) => format!(
            "assert {}",
            v.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StepKind::Barrier(a) => format!("barrier {}", a.join(", ")),
        StepKind::Connect(a) => format!("connect {a}"),
        StepKind::Disconnect(a) => format!("disconnect {a}"),
        StepKind::Http(h) => format!("http {}", h.actor),
        StepKind::Expect(e) => match &e.source {
            ExpectSource::Push => format!("expect push on {}", e.actor),
            ExpectSource::NextReply => format!("expect reply on {}", e.actor),
            ExpectSource::Reply(n) => format!("expect reply to {n} on {}", e.actor),
        },
        StepKind::ExpectAnyOrder(l) => format!("expect_any_order ({} frames)", l.len()),
        StepKind::ExpectClosed(a) => format!("expect_closed {a}"),
        StepKind::ExpectNoPush(a) => format!("expect_no_push {}", a.join(", ")),
        StepKind::Repeat(_) => "repeat".into(),
        StepKind::Send(s) => format!("send {}", s.actor),
        StepKind::Set(v) => format!(
            "set {}",
            v.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::scenario::{Include, Origin, Span};

    #[test]
    fn issue_15_step_labels_count_as_the_file_shows_with_the_include_chain() {
        // Why: steps were numbered after fragments were spliced in, so `step 9` was nowhere.
        let at = |file: &str, line| Span {
            file: PathBuf::from(file),
            line,
            column: 3,
        };
        let mut step = Step {
            kind: StepKind::Connect("a".into()),
            span: at("scenarios/fetion/fragments/login.yaml", 9),
            timeout_ms: None,
            note: None,
            origin: Origin {
                number: 3,
                included: Vec::new(),
            },
        };
        assert_eq!(step_label("", &step, 7), "3");
        assert_eq!(step_label("4.", &step, 7), "4.3");
        step.origin.included = vec![
            Include {
                fragment: "fetion/login".into(),
                at: at("scenarios/fetion/fragments/conversation.yaml", 5),
            },
            Include {
                fragment: "fetion/conversation".into(),
                at: at("scenarios/fetion/001-x.yaml", 14),
            },
        ];
        assert_eq!(
            step_label("", &step, 7),
            "fragment fetion/login step 3, included at conversation.yaml:5, included at 001-x.yaml:14"
        );
    }
}
