//! The per-case [`Connector`] of client cases: imspec is the server, so `connect: NAME`
//! *accepts* the client's next connection on the listener of NAME's service, and
//! `connect: driver` starts the driver command with the listeners' addresses in its
//! environment (docs/driver-protocol.md).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::runner::actor::lock;
use crate::scenario::{ActorTarget, Scenario, load::DRIVER};
use crate::transport::{BoxFuture, BoxStream, Connector, Endpoint, TransportError};

/// Lines of the driver's stderr kept for a failure report.
pub const STDERR_LINES: usize = 20;
/// Longest wait for the rest of the driver's stderr once it is killed.
const STDERR_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Listeners of one case and its driver process.
pub struct Host {
    command: String,
    case: String,
    listeners: BTreeMap<String, TcpListener>,
    child: Mutex<Option<Child>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Host {
    /// Binds `127.0.0.1:0` for every service an actor of `s` names (the driver aside).
    pub async fn bind(s: &Scenario, command: &str) -> std::io::Result<Self> {
        let mut listeners = BTreeMap::new();
        for target in s.actors.values() {
            if let ActorTarget::Service(name) = target
                && name != DRIVER
                && !listeners.contains_key(name)
            {
                listeners.insert(name.clone(), TcpListener::bind("127.0.0.1:0").await?);
            }
        }
        Ok(Self {
            command: command.to_owned(),
            case: s.id.clone(),
            listeners,
            child: Mutex::new(None),
            stderr: Arc::default(),
            stderr_task: Mutex::new(None),
        })
    }

    /// The environment the driver gets: `IMSPEC_<SERVICE>=HOST:PORT` per listener
    /// (upper case, `-` as `_`) and `IMSPEC_CASE`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .listeners
            .iter()
            .filter_map(|(name, l)| Some((env_name(name), l.local_addr().ok()?.to_string())))
            .collect();
        env.push(("IMSPEC_CASE".into(), self.case.clone()));
        env
    }

    /// The listener addresses by service.
    pub fn addrs(&self) -> BTreeMap<String, SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(n, l)| Some((n.clone(), l.local_addr().ok()?)))
            .collect()
    }

    /// Kills the driver's process group (`sh`, the adapter and whatever it started) and
    /// returns the last lines of its stderr.
    pub async fn finish(&self) -> Vec<String> {
        let child = lock(&self.child).take();
        if let Some(mut c) = child {
            kill_group(&c).await;
            let _ = c.kill().await;
        }
        // With the group gone the pipe closes and the reader ends; the bound only guards
        // against a descendant that left the group and still holds the pipe.
        let task = lock(&self.stderr_task).take();
        if let Some(t) = task {
            let _ = tokio::time::timeout(STDERR_DRAIN, t).await;
        }
        lock(&self.stderr).iter().cloned().collect()
    }

    fn spawn(&self) -> Result<BoxStream, TransportError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let unreachable = |e: std::io::Error| TransportError::Unreachable {
            to: format!("driver `{}`", self.command),
            source: e,
        };
        let mut child = cmd.spawn().map_err(unreachable)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(unreachable(std::io::Error::other("no pipes to the driver")));
        };
        let tail = Arc::clone(&self.stderr);
        let task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut t = lock(&tail);
                if t.len() == STDERR_LINES {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        if let Some(old) = lock(&self.stderr_task).replace(task) {
            old.abort();
        }
        if let Some(mut old) = lock(&self.child).replace(child) {
            let _ = old.start_kill();
        }
        Ok(Box::new(Pipes { stdin, stdout }))
    }
}

impl Connector for Host {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            match to {
                Endpoint::Service(s) if s == DRIVER => self.spawn(),
                Endpoint::Service(s) => {
                    let l = self
                        .listeners
                        .get(s)
                        .ok_or_else(|| TransportError::NoService(s.clone()))?;
                    let (stream, _) =
                        l.accept().await.map_err(|e| TransportError::Unreachable {
                            to: format!("the {s} listener"),
                            source: e,
                        })?;
                    let _ = stream.set_nodelay(true);
                    Ok(Box::new(stream) as BoxStream)
                }
                Endpoint::Address(a) => Err(TransportError::BadAddress(format!(
                    "{a} (a client case accepts connections on its listeners; it dials none)"
                ))),
            }
        })
    }

    fn accepts(&self) -> bool {
        true
    }
}

/// Ends the process group a driver leads (it was started with `process_group(0)`, so its
/// pid is the group id), with the system's `kill`: no unsafe code here.
async fn kill_group(child: &Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
}

/// `IMSPEC_LEANCLOUD` for `leancloud`, `IMSPEC_FETION_CHAT` for `fetion-chat`.
pub fn env_name(service: &str) -> String {
    format!("IMSPEC_{}", service.to_ascii_uppercase().replace('-', "_"))
}

/// The driver's stdout (read) and stdin (write) as one stream.
struct Pipes {
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl AsyncRead for Pipes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pipes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}
