//! A connection's queue of hub outputs, written by the connection's own task.
//!
//! Most of what a hub queues for a connection answers input that the same connection's task
//! is handing to the hub at that moment. If queuing it woke that task, tokio would see a
//! task woken while it runs: it queues the task again behind a wake-up of another worker,
//! which finds nothing to do and parks again, and the task is polled once more for nothing.
//! On loopback that cost more than the round trip itself (the runner bench's
//! `--only raw`: 44 µs per `PNG` round trip before, 18 µs after). So the task [`hold`]s its
//! outbox while it calls the hub, and writes what [`release`] hands over when the hub is done;
//! outputs queued meanwhile, by any connection's task, do not wake it. At any other time a
//! push wakes the task waiting in [`next`].
//!
//! One queue in push order: what was queued before a hold is handed over with, and before,
//! what was queued during it.
//!
//! [`hold`]: Outbox::hold
//! [`release`]: Outbox::release
//! [`next`]: Outbox::next

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::Output;

/// The outputs queued for one connection.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Output>,
    /// The connection's task, when it last waited in `next`.
    waker: Option<Waker>,
    /// The task is calling the hub and drains the queue when it returns.
    held: bool,
}

impl Outbox {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `output` and wakes the connection's task, unless it holds the outbox.
    pub(crate) fn push(&self, output: Output) {
        let waker = {
            let mut s = self.state();
            s.queue.push_back(output);
            if s.held { None } else { s.waker.take() }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// From now until [`release`](Self::release), pushes do not wake the connection's task.
    pub(crate) fn hold(&self) {
        self.state().held = true;
    }

    /// Ends a hold: moves everything queued, oldest first, to the end of `batch`, for the
    /// caller to write now. Both keep their buffers, so steady traffic does not allocate.
    pub(crate) fn release(&self, batch: &mut VecDeque<Output>) {
        let mut s = self.state();
        s.held = false;
        batch.append(&mut s.queue);
    }

    /// Moves everything queued, oldest first, to the end of `rest` (what is left to flush
    /// when the connection ends).
    pub(crate) fn take_all(&self, rest: &mut VecDeque<Output>) {
        rest.append(&mut self.state().queue);
    }

    /// The oldest output, once there is one.
    pub(crate) async fn next(&self) -> Output {
        std::future::poll_fn(|cx| {
            let mut s = self.state();
            if let Some(o) = s.queue.pop_front() {
                return Poll::Ready(o);
            }
            match &mut s.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn send(n: u8) -> Output {
        Output::Send {
            conn: 1,
            bytes: vec![n],
        }
    }

    fn bytes(outputs: &mut VecDeque<Output>) -> Vec<u8> {
        outputs
            .drain(..)
            .map(|o| match o {
                Output::Send { bytes, .. } => bytes[0],
                Output::Close { .. } => 0,
            })
            .collect()
    }

    /// Polls `next` once with a counting waker.
    fn poll_next(outbox: &Outbox, count: &Arc<Count>) -> Poll<Output> {
        let waker = Waker::from(Arc::clone(count));
        let mut cx = Context::from_waker(&waker);
        let mut next = std::pin::pin!(outbox.next());
        next.as_mut().poll(&mut cx)
    }

    #[test]
    fn a_push_wakes_the_waiting_task_unless_it_holds_the_outbox() {
        let outbox = Outbox::default();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        assert!(poll_next(&outbox, &count).is_pending());
        outbox.hold();
        outbox.push(send(1));
        outbox.push(send(2));
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "woken while holding");
        let mut batch = VecDeque::new();
        outbox.release(&mut batch);
        assert_eq!(bytes(&mut batch), [1, 2]);
        // Released: the waker registered by the wait before the hold is used now.
        outbox.push(send(3));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll_next(&outbox, &count),
            Poll::Ready(Output::Send { bytes, .. }) if bytes == [3]
        ));
    }

    #[test]
    fn what_was_queued_before_a_hold_comes_out_first() {
        let outbox = Outbox::default();
        outbox.push(send(1));
        outbox.hold();
        outbox.push(send(2));
        // Handed over after what the caller already had.
        let mut batch = VecDeque::from([send(0)]);
        outbox.release(&mut batch);
        assert_eq!(bytes(&mut batch), [0, 1, 2]);
        outbox.take_all(&mut batch);
        assert!(batch.is_empty());
        outbox.push(send(4));
        outbox.push(send(5));
        outbox.take_all(&mut batch);
        assert_eq!(bytes(&mut batch), [4, 5]);
    }
}
