//! One actor's connection: the framing read loop (its own task) feeding a reply map and a
//! push queue, and the write side used by the step runner.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use imspec_codec::Status;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::proto::{self, Frame, Pairing, Protocol};
use crate::transport::BoxStream;
use crate::transport::tap::{Capture, Reader, Writer, split};

use super::result::{Direction, WireEntry, WireText, cap_text};

/// Most bytes buffered for one unfinished frame before the case fails (the codecs' own limits
/// normally fire first).
pub const MAX_BUFFER: usize = 2 * 1024 * 1024;
/// Most wire log entries kept per case; later ones are counted, not stored.
pub const MAX_WIRE_ENTRIES: usize = 4_000;
pub use super::result::MAX_WIRE_TEXT;

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    /// The peer closed it cleanly between frames.
    Eof,
    /// Bad input, a frame cut by the close, or an I/O error.
    Failed(String),
}

/// What the read loop has received and not yet been taken by a step.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Keys of requests that wait for a reply.
    pub pending: Vec<String>,
    /// Replies that arrived, by request key.
    pub replies: Vec<(String, Frame)>,
    /// Everything else, in arrival order.
    pub pushes: VecDeque<Frame>,
    /// Set once the connection is over.
    pub closed: Option<Closed>,
}

impl Inbox {
    /// Files an incoming frame as a reply or a push.
    fn deliver(&mut self, proto: &dyn Protocol, frame: Frame) {
        let pos = match proto.pairing(&frame) {
            Pairing::Key(k) => self.pending.iter().position(|p| *p == k),
            Pairing::KeyPrefix(prefix) => self.pending.iter().position(|p| p.starts_with(&prefix)),
            Pairing::Push => None,
            Pairing::Ignore => return,
        };
        match pos {
            Some(i) => {
                let key = self.pending.remove(i);
                self.replies.push((key, frame));
            }
            None => self.pushes.push_back(frame),
        }
    }
}

/// The case-wide wire log, and the capture of the case's TCP connections.
#[derive(Debug)]
pub struct Wire {
    start: Instant,
    started_us: u64,
    state: Mutex<Log>,
    /// Where a [`crate::transport::tap::Tap`] records the case's connections.
    pub capture: Arc<Capture>,
}

#[derive(Debug, Default)]
struct Log {
    entries: Vec<WireEntry>,
    dropped: usize,
    /// Per actor: its name as entries share it, the peer of its connection and the recorded
    /// TCP connection, if any.
    bound: BTreeMap<Arc<str>, (Arc<str>, Option<u32>)>,
    protocols: BTreeMap<String, String>,
}

impl Wire {
    /// A log starting now.
    pub fn new() -> Self {
        let start = Instant::now();
        let started_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Self {
            start,
            started_us,
            state: Mutex::new(Log::default()),
            capture: Arc::new(Capture::new(start)),
        }
    }

    /// When the log started, in microseconds since the Unix epoch.
    pub fn started_us(&self) -> u64 {
        self.started_us
    }

    /// From now on `actor`'s entries go to `peer` over connection `conn`, in `protocol`.
    pub fn bind(&self, actor: &str, peer: &str, conn: Option<u32>, protocol: &str) {
        let mut g = lock(&self.state);
        g.bound.insert(actor.into(), (peer.into(), conn));
        g.protocols.insert(actor.to_owned(), protocol.to_owned());
    }

    /// The protocol of each actor that was bound.
    pub fn protocols(&self) -> BTreeMap<String, String> {
        lock(&self.state).protocols.clone()
    }

    /// Records bytes or an event as text.
    pub fn log(&self, actor: &str, dir: Direction, text: String) {
        self.push(actor, dir, cap_text(text).into(), None, None);
    }

    /// Records a frame: its exact bytes, and the text `proto` makes of them when a report
    /// reads it ([`WireText`]).
    pub fn frame(&self, actor: &str, dir: Direction, bytes: &[u8], proto: &'static dyn Protocol) {
        let raw: Arc<[u8]> = Arc::from(bytes);
        self.push(
            actor,
            dir,
            WireText::of(proto, Arc::clone(&raw)),
            None,
            Some(raw),
        );
    }

    /// Records an event of kind `event` (`connect`, `disconnect`, `close`, `barrier`).
    pub fn event(&self, actor: &str, event: &str, text: String) {
        self.push(
            actor,
            Direction::Event,
            cap_text(text).into(),
            Some(event.to_owned()),
            None,
        );
    }

    /// Entries logged so far (dropped ones not counted).
    pub fn len(&self) -> usize {
        lock(&self.state).entries.len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the newest received frame of `actor` at or after `from` with exactly
    /// these bytes.
    pub fn find_recv(&self, actor: &str, bytes: &[u8], from: usize) -> Option<usize> {
        let g = lock(&self.state);
        (from..g.entries.len()).rev().find(|&i| {
            let e = &g.entries[i];
            e.dir == Direction::RECV && *e.actor == *actor && e.raw.as_deref() == Some(bytes)
        })
    }

    fn push(
        &self,
        actor: &str,
        dir: Direction,
        text: WireText,
        event: Option<String>,
        raw: Option<Arc<[u8]>>,
    ) {
        let t_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let mut g = lock(&self.state);
        if g.entries.len() < MAX_WIRE_ENTRIES {
            // A bound actor's entries share its name and peer instead of copying them.
            let (actor, peer, conn) = match g.bound.get_key_value(actor) {
                Some((a, (p, c))) => (Arc::clone(a), Some(Arc::clone(p)), *c),
                None => (Arc::from(actor), None, None),
            };
            g.entries.push(WireEntry {
                t_ms: (t_ms * 1000.0).round() / 1000.0,
                actor,
                dir,
                text,
                event,
                peer,
                conn,
                raw,
            });
        } else {
            g.dropped += 1;
        }
    }

    /// The entries so far (and a last event counting dropped ones).
    pub fn entries(&self) -> Vec<WireEntry> {
        let g = lock(&self.state);
        let mut out = g.entries.clone();
        if g.dropped > 0 {
            out.push(dropped_entry(g.dropped));
        }
        out
    }

    /// As [`entries`](Self::entries), moving them out (the log is empty afterwards): for the
    /// end of a case, where copying thousands of frames would be waste.
    pub fn take(&self) -> Vec<WireEntry> {
        let mut g = lock(&self.state);
        let dropped = std::mem::take(&mut g.dropped);
        let mut out = std::mem::take(&mut g.entries);
        if dropped > 0 {
            out.push(dropped_entry(dropped));
        }
        out
    }
}

fn dropped_entry(n: usize) -> WireEntry {
    WireEntry {
        text: format!("{n} more entries not kept").into(),
        ..WireEntry::default()
    }
}

impl Default for Wire {
    fn default() -> Self {
        Self::new()
    }
}

/// Locks a mutex, recovering from poisoning (a panicked reader must not hide results).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Tells the waiting step that an inbox changed: a version number and the step's waker.
/// (A `watch` channel does the same with a lock and a list of waiters; a case has one
/// waiter.)
#[derive(Debug, Default)]
pub struct Signal {
    version: AtomicU64,
    waker: AtomicWaker,
}

impl Signal {
    /// An inbox changed (a read loop delivered or closed, an HTTP request ended).
    pub fn wake(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.waker.wake();
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Waits until the version is no longer `seen`, and updates `seen`.
    pub async fn changed(&self, seen: &mut u64) {
        std::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            let now = self.version();
            if now == *seen {
                return Poll::Pending;
            }
            *seen = now;
            Poll::Ready(())
        })
        .await;
    }
}

/// A connected actor.
pub struct Actor {
    /// Shared with the read loop.
    pub inbox: Arc<Mutex<Inbox>>,
    writer: Option<Writer>,
    reader: Option<JoinHandle<()>>,
    /// Next transaction number for built frames.
    pub counter: u64,
    /// Requests sent whose reply no step has taken yet: (name, key), oldest first.
    pub outstanding: VecDeque<(Option<String>, String)>,
    /// Bytes waiting to be written (`--chop` coalesces consecutive sends).
    pub out_buf: Vec<u8>,
    /// An actor of `http:` steps: no stream; its requests run as tasks that deliver the
    /// responses into the inbox.
    http: bool,
    requests: Vec<JoinHandle<()>>,
}

impl Actor {
    /// Starts the read loop on `stream`.
    pub fn start(
        name: &str,
        stream: BoxStream,
        proto: &'static dyn Protocol,
        wire: Arc<Wire>,
        signal: Arc<Signal>,
    ) -> Self {
        let (rd, wr) = split(stream);
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        // A task of its own: run inside the case's task instead (polled beside the steps),
        // the runner bench measured 10% slower round trips on the multi-threaded runtime.
        let reader = tokio::spawn(read_loop(
            name.to_owned(),
            rd,
            proto,
            Arc::clone(&inbox),
            wire,
            signal,
        ));
        Self {
            inbox,
            writer: Some(wr),
            reader: Some(reader),
            counter: 1,
            outstanding: VecDeque::new(),
            out_buf: Vec::new(),
            http: false,
            requests: Vec::new(),
        }
    }

    /// An actor of `http:` steps: an inbox without a stream.
    pub fn http() -> Self {
        Self {
            inbox: Arc::new(Mutex::new(Inbox::default())),
            writer: None,
            reader: None,
            counter: 1,
            outstanding: VecDeque::new(),
            out_buf: Vec::new(),
            http: true,
            requests: Vec::new(),
        }
    }

    /// Whether this is an actor of `http:` steps.
    pub fn is_http(&self) -> bool {
        self.http
    }

    /// Runs one HTTP request of this actor (aborted when the actor closes).
    pub fn spawn_request(&mut self, request: impl Future<Output = ()> + Send + 'static) {
        self.requests.retain(|r| !r.is_finished());
        self.requests.push(tokio::spawn(request));
    }

    /// Whether the write side is open.
    pub fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// Writes `bytes` (in pieces of 1–7 bytes when `chop` gives a random state).
    pub async fn write(&mut self, bytes: &[u8], chop: Option<&mut u64>) -> std::io::Result<()> {
        let w = self.writer.as_mut().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotConnected, "not connected")
        })?;
        match chop {
            None => {
                w.write_all(bytes).await?;
            }
            Some(rng) => {
                let mut at = 0;
                while at < bytes.len() {
                    let n = (1 + (next_rand(rng) % 7) as usize).min(bytes.len() - at);
                    w.write_all(&bytes[at..at + n]).await?;
                    w.flush().await?;
                    at += n;
                    tokio::task::yield_now().await;
                }
            }
        }
        w.flush().await
    }

    /// Closes the connection and stops the read loop. The close waits, until `deadline` at
    /// most, for the stream to shut down: a TCP close is immediate, while the gateway bridge
    /// and the WebSocket pump first send what was written (the bridge also has it answered
    /// and ends the session). What arrives meanwhile is still read. A `deadline` already
    /// past starts the shutdown and does not wait.
    pub async fn close(&mut self, deadline: Instant) {
        if let Some(mut w) = self.writer.take() {
            let _ = tokio::time::timeout_at(deadline.into(), w.shutdown()).await;
        }
        if let Some(r) = self.reader.take() {
            r.abort();
        }
        for r in self.requests.drain(..) {
            r.abort();
        }
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
        }
        for r in self.requests.drain(..) {
            r.abort();
        }
    }
}

/// xorshift64: deterministic write sizes for `--chop`.
pub fn next_rand(state: &mut u64) -> u64 {
    let mut x = if *state == 0 {
        0x9e37_79b9_7f4a_7c15
    } else {
        *state
    };
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// The framing loop: one buffer; parse → Complete: deliver and drain; Incomplete: read more;
/// Err: the connection is failed with the absolute byte offset and the offending bytes.
async fn read_loop(
    actor: String,
    mut rd: Reader,
    proto: &'static dyn Protocol,
    inbox: Arc<Mutex<Inbox>>,
    wire: Arc<Wire>,
    signal: Arc<Signal>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut base: u64 = 0;
    let finish = |closed: Closed| {
        let text = match &closed {
            Closed::Eof => "closed by the server".to_owned(),
            Closed::Failed(m) => m.clone(),
        };
        wire.event(&actor, "close", text);
        lock(&inbox).closed = Some(closed);
        signal.wake();
    };
    loop {
        let mut delivered = false;
        loop {
            match proto.parse(&buf) {
                Ok(Status::Complete((frame, n))) => {
                    wire.frame(&actor, Direction::RECV, &buf[..n], proto);
                    lock(&inbox).deliver(proto, frame);
                    buf.drain(..n);
                    base += n as u64;
                    delivered = true;
                }
                Ok(Status::Incomplete(_)) => break,
                Err(e) => {
                    let at = base + e.offset() as u64;
                    let shown = proto::escape(proto::cut(&buf, 512));
                    if delivered {
                        signal.wake();
                    }
                    finish(Closed::Failed(format!(
                        "byte {at}: {} (invalid frame from the server starting at byte {base}: \"{shown}\")",
                        e.kind()
                    )));
                    return;
                }
            }
        }
        if delivered {
            signal.wake();
        }
        if buf.len() > MAX_BUFFER {
            finish(Closed::Failed(format!(
                "byte {}: frame from the server exceeds {MAX_BUFFER} bytes without ending",
                base + MAX_BUFFER as u64
            )));
            return;
        }
        buf.reserve(8 * 1024);
        match rd.read_buf(&mut buf).await {
            Ok(0) if buf.is_empty() => return finish(Closed::Eof),
            Ok(0) => {
                return finish(Closed::Failed(format!(
                    "byte {}: connection closed inside a frame ({} bytes unfinished: \"{}\")",
                    base + buf.len() as u64,
                    buf.len(),
                    proto::escape(&buf[..buf.len().min(512)])
                )));
            }
            Ok(_) => {}
            Err(e) => {
                return finish(Closed::Failed(format!(
                    "read error after byte {}: {e}",
                    base + buf.len() as u64
                )));
            }
        }
    }
}
