//! `answer:` steps: what a peer *may* send, answered wherever the runner waits
//! (scenarios/README.md §3.12).

use crate::proto::Frame;

use super::actor::lock;
use super::case::{Case, StepFail, StepResult};
use super::result::Direction;

impl Case<'_> {
    /// Takes every queued push that an `answer:` step in force matches out of its queue and
    /// answers it (the oldest step first), until none is left. Runs wherever the runner
    /// waits, so a peer waiting for its answer is never stuck behind the step being run.
    pub(super) async fn serve_answers(&mut self) -> StepResult {
        // Each answer is a future of its own on the heap: most waits have nothing to answer,
        // and a send and a flush held inline would make the future of every wait, and so of
        // every step, larger (one more copy per step; callgrind on the runner bench).
        while let Some((n, frame)) = self.answerable() {
            Box::pin(self.answer(n, frame)).await?;
        }
        Ok(())
    }

    /// Answers `frame` with the `answer:` step `n`.
    async fn answer(&mut self, n: usize, frame: Frame) -> StepResult {
        let (a, span) = self.answers[n].clone();
        let actor = a.when.actor.as_str();
        self.wire.log(
            actor,
            Direction::Event,
            format!("answered by the `answer:` step at {span}"),
        );
        if let Some(name) = &a.when.name {
            self.vars.frames.insert(name.clone(), frame);
        }
        self.send(actor, None, &a.frame)
            .await
            .map_err(|f| StepFail {
                reason: format!(
                    "answering `{actor}` (the `answer:` step at {span}): {}",
                    f.reason
                ),
                ..f
            })?;
        self.flush_all().await.map_err(|f| StepFail::new(f.reason))
    }

    /// The first `answer:` step in force (its index) with a queued push it matches, and that
    /// push, taken out of the queue.
    fn answerable(&self) -> Option<(usize, Frame)> {
        self.answers.iter().enumerate().find_map(|(n, (a, _))| {
            let actor = self.actors.get(&a.when.actor).filter(|x| x.is_open())?;
            let mut ib = lock(&actor.inbox);
            let p = ib
                .pushes
                .iter()
                .position(|f| self.check_expect(&a.when.actor, f, &a.when).is_ok())?;
            Some((n, ib.pushes.remove(p)?))
        })
    }
}
