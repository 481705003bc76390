//! The hyper glue of the gateway: one hyper HTTP/1.1 connection task per client connection,
//! a request handler that feeds the MSNP hub and holds long polls, and the idle-expiry timer.
//! Every decision is the [`Table`]'s; this module only moves bytes and waits.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::{Begin, Config, MAX_REQUEST_BODY, PATH, Query, RequestId, Response, Table};
use crate::now_ms;
use crate::{ConnId, Event, Mutant, Output, Service};

/// How often idle sessions are looked for.
pub const EXPIRY_TICK: Duration = Duration::from_millis(200);

/// What the glue needs from the driver: the MSNP hub.
pub trait Hub: Send + Sync + 'static {
    /// Feeds `event` of gateway connection `conn` to the MSNP hub. Its output for gateway
    /// connections comes back synchronously through [`Front::on_output`].
    fn msnp(&self, conn: ConnId, event: Event<'_>);
}

/// The gateway's shared state: the session table and the signal that wakes waiting polls.
#[derive(Debug)]
pub struct Front {
    table: Mutex<Table>,
    wake: watch::Sender<u64>,
}

impl Front {
    /// A gateway with no sessions.
    pub fn new(config: Config) -> Self {
        Self {
            table: Mutex::new(Table::new(config)),
            wake: watch::Sender::new(0),
        }
    }

    /// Takes a hub output for a gateway connection and wakes the polls if one was answered.
    pub fn on_output(&self, output: Output) {
        let handed = self.table().on_output(output);
        if handed {
            self.wake();
        }
    }

    /// Under [`Mutant::GatewayWedgeOnBadBody`]: whether the gateway is wedged, after `body`
    /// (a body that is not whole MSNP commands wedges it for good).
    fn wedge_on(&self, body: &[u8]) -> bool {
        let mut table = self.table();
        if !table.mutant(Mutant::GatewayWedgeOnBadBody) {
            return false;
        }
        let mut at = 0;
        while at < body.len() {
            match imspec_codec::msnp::parse(&body[at..]) {
                Ok(imspec_codec::Status::Complete((_, n))) => at += n,
                _ => {
                    table.wedged = true;
                    break;
                }
            }
        }
        table.wedged
    }

    fn wake(&self) {
        self.wake.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Serves HTTP/1.1 on `stream` until the client closes it or `shutdown` changes.
pub async fn serve<S>(
    front: Arc<Front>,
    hub: Arc<dyn Hub>,
    stream: S,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |req| {
        let (front, hub) = (Arc::clone(&front), Arc::clone(&hub));
        async move { Ok::<_, Infallible>(handle(&front, hub.as_ref(), req).await) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.changed() => {}
    }
}

/// Ends idle sessions every [`EXPIRY_TICK`] until `shutdown` changes.
pub async fn expire_loop(
    front: Arc<Front>,
    hub: Arc<dyn Hub>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(EXPIRY_TICK) => {}
            _ = shutdown.changed() => return,
        }
        let expired = front.table().expire(now_ms());
        for conn in expired {
            hub.msnp(conn, Event::Closed);
        }
    }
}

async fn handle(
    front: &Front,
    hub: &dyn Hub,
    req: Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    if req.uri().path() != PATH {
        return to_http(Response::plain(404));
    }
    if req.method() != Method::POST && req.method() != Method::GET {
        return to_http(Response::plain(405));
    }
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let html = req
        .headers()
        .get("x-requested-session-content-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"text/html"));
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return to_http(Response::plain(413)),
    };
    if front.wedge_on(&body) {
        // Planted bug for `imspec fuzz` (fuzz-only mutant): the gateway never answers again.
        std::future::pending::<()>().await;
    }
    let begin = front.table().begin(now_ms(), &query, html);
    let response = match begin {
        Begin::Answer(r) => r,
        Begin::Open { conn, request } => {
            hub.msnp(conn, Event::Connected(Service::Msnp));
            feed(hub, conn, &body);
            front.table().finish(now_ms(), request)
        }
        Begin::Send { conn, request } => {
            feed(hub, conn, &body);
            front.table().finish(now_ms(), request)
        }
        Begin::Poll {
            conn,
            request,
            deadline_ms,
        } => {
            feed(hub, conn, &body);
            wait(front, request, deadline_ms).await
        }
        Begin::Close { conn, response } => {
            hub.msnp(conn, Event::Closed);
            front.wake();
            response
        }
    };
    to_http(response)
}

fn feed(hub: &dyn Hub, conn: ConnId, body: &[u8]) {
    if !body.is_empty() {
        hub.msnp(conn, Event::Data(body));
    }
}

/// Holds poll `request` until output is handed to it or `deadline_ms` passes.
async fn wait(front: &Front, request: RequestId, deadline_ms: u64) -> Response {
    let mut rx = front.wake.subscribe();
    let mut guard = Abandon {
        front,
        request,
        armed: true,
    };
    let wait_ms = deadline_ms.saturating_sub(now_ms());
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        rx.borrow_and_update();
        let got = front.table().collect(now_ms(), request);
        if let Some(r) = got {
            guard.armed = false;
            return r;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { break },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    guard.armed = false;
    front.table().finish(now_ms(), request)
}

/// Gives a poll's output back to its session if the client goes away while it waits (hyper
/// drops the request future when the connection closes).
struct Abandon<'a> {
    front: &'a Front,
    request: RequestId,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.front.table().abandon(now_ms(), self.request);
        }
    }
}

fn to_http(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        b = b.header(*name, value.as_str());
    }
    b.body(Full::new(Bytes::from(r.body))).unwrap_or_else(|_| {
        // A header value the client smuggled in (an unknown SessionID) that HTTP cannot carry.
        let mut bad = hyper::Response::new(Full::new(Bytes::new()));
        *bad.status_mut() = hyper::StatusCode::BAD_REQUEST;
        bad
    })
}
