//! One running case: its scenario, options and connector, the protocol of each actor, the
//! variables, the connected actors and the wire log; and a step's failure ([`StepFail`])
//! before the step loop gives it its location.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::Sleep;
use tokio::time::error::Elapsed;

use crate::proto::{self, Frame, Protocol};
use crate::scenario::{ActorTarget, Answer, Expect, Scenario, Span, Step};
use crate::transport::{BoxStream, Connector, Endpoint, TransportError, tap};

use super::actor::{Actor, Signal, Wire};
use super::expect::{self, Mismatch, check_frame};
use super::options::RunOptions;
use super::result::StepTime;
use super::twins::CHOP_SUFFIX;
use super::vars::{Value, Vars};

/// A step's failure before it gets its location.
#[derive(Debug, Default)]
pub(super) struct StepFail {
    pub(super) reason: String,
    pub(super) expected: Option<String>,
    pub(super) actual: Option<String>,
    /// The bytes of the received frame that failed the checks.
    pub(super) frame: Option<Vec<u8>>,
}

impl StepFail {
    pub(super) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            ..Self::default()
        }
    }
}

impl From<String> for StepFail {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<Mismatch> for StepFail {
    fn from(m: Mismatch) -> Self {
        Self {
            reason: m.reason,
            expected: Some(m.expected),
            actual: Some(m.actual),
            frame: None,
        }
    }
}

pub(super) type StepResult = Result<(), StepFail>;
pub(super) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A case while it runs.
pub(super) struct Case<'a> {
    pub(super) s: &'a Scenario,
    pub(super) opts: &'a RunOptions,
    pub(super) connector: &'a dyn Connector,
    pub(super) proto: &'static dyn Protocol,
    /// Actors whose protocol is not the case's (MSRP actors of a SIP case).
    pub(super) protos: BTreeMap<String, &'static dyn Protocol>,
    pub(super) vars: Vars,
    pub(super) actors: BTreeMap<String, Actor>,
    pub(super) wire: Arc<Wire>,
    pub(super) signal: Arc<Signal>,
    pub(super) rng: u64,
    pub(super) unreachable: bool,
    /// The `answer:` steps in force (each with where it is written), oldest first.
    pub(super) answers: Vec<(Answer, Span)>,
    /// Step durations, recorded only when `Some` (by [`super::run_timed`]).
    pub(super) times: Option<Vec<StepTime>>,
    /// The timer of every wait of the case, moved to each wait's deadline
    /// ([`Case::changed_until`]); made by the first wait.
    pub(super) timer: Option<Pin<Box<Sleep>>>,
}

impl<'a> Case<'a> {
    pub(super) fn deadline(&self, step: &Step) -> Instant {
        let ms = step.timeout_ms.unwrap_or(self.s.timeout_ms) as f64 * self.opts.timeout_scale;
        Instant::now() + Duration::from_secs_f64((ms / 1000.0).max(0.001))
    }

    /// The stream a connect or dial gave within the step's deadline, or the step's failure;
    /// a target service that cannot be reached marks the case unreachable.
    pub(super) fn opened(
        &mut self,
        name: &str,
        endpoint: &Endpoint,
        opened: Result<Result<BoxStream, TransportError>, Elapsed>,
    ) -> Result<BoxStream, StepFail> {
        match opened {
            Err(_) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_));
                Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint} timed out"
                )))
            }
            Ok(Err(e)) => {
                self.unreachable = matches!(endpoint, Endpoint::Service(_))
                    && matches!(e, TransportError::Unreachable { .. });
                Err(StepFail::new(format!(
                    "connecting `{name}` to {endpoint}: {e}"
                )))
            }
            Ok(Ok(s)) => Ok(s),
        }
    }

    /// The capture scope of `name`'s connections, when the run records them.
    pub(super) fn scope(&self, name: &str, carried: &str) -> Option<tap::Scope> {
        self.opts.capture.then(|| tap::Scope {
            capture: Arc::clone(&self.wire.capture),
            actor: name.to_owned(),
            protocol: carried.to_owned(),
        })
    }

    pub(super) fn chop(&self) -> bool {
        self.opts.chop || self.s.id.ends_with(CHOP_SUFFIX)
    }

    /// The protocol an actor speaks: the case's, or MSRP for an MSRP actor of a SIP case.
    pub(super) fn proto_of(&self, name: &str) -> &'static dyn Protocol {
        self.protos.get(name).copied().unwrap_or(self.proto)
    }

    /// The actor's own address, as `${local:NAME}` gives it.
    pub(super) fn local(&self, name: &str) -> Option<String> {
        self.vars
            .values
            .get(&["local:", name].concat())
            .map(Value::text)
    }

    pub(super) fn actor(&self, name: &str) -> Result<&Actor, StepFail> {
        self.actors.get(name).ok_or_else(|| {
            StepFail::new(format!(
                "`{name}` is not connected (add `connect: {name}` first)"
            ))
        })
    }

    pub(super) fn actor_mut(&mut self, name: &str) -> Result<&mut Actor, StepFail> {
        self.actors.get_mut(name).ok_or_else(|| {
            StepFail::new(format!(
                "`{name}` is not connected (add `connect: {name}` first)"
            ))
        })
    }

    /// Whether `name` is the driver actor of a client case.
    pub(super) fn is_driver(&self, name: &str) -> bool {
        matches!(self.s.actors.get(name), Some(ActorTarget::Service(s)) if s == proto::driver::DRIVER)
    }

    pub(super) fn timeout_text(&self) -> String {
        format!("the step timeout (scale {})", self.opts.timeout_scale)
    }

    /// Checks an expect's `match:` and `xml:` on a frame of `actor`: the protocol's fields, or
    /// the HTTP response view for an actor of `http:` steps.
    pub(super) fn check_expect(
        &self,
        actor: &str,
        frame: &Frame,
        e: &Expect,
    ) -> Result<(), Mismatch> {
        if self.actors.get(actor).is_some_and(Actor::is_http) {
            expect::check_fields(
                &proto::http::known_field,
                frame,
                &e.checks,
                &e.xml,
                &self.vars,
            )
        } else {
            check_frame(self.proto_of(actor), frame, &e.checks, &e.xml, &self.vars)
        }
    }
}
