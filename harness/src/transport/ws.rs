//! WebSocket client (tokio-tungstenite) for LeanCloud realtime (docs/protocols/leancloud.md §2.1),
//! and its server side ([`accept`]) for client cases.
//!
//! [`upgrade`] runs the client handshake over an already connected stream (TCP or in memory),
//! offering exactly one subprotocol `lc.<format>.<version>`, and fails unless the server picks
//! it. The connection is then handed to the runner as a byte stream of **records**, one per
//! WebSocket message, so the runner's framing loop (`runner::actor`) works unchanged:
//!
//! ```text
//! record = tag:u8 length:u32be payload
//! from the server:
//!   'b'  a command that arrived as a binary message (lc.protobuf2.*): the message bytes
//!   't'  a command that arrived as a text message (lc.proto2base64.*): the text as received
//!        (base64; the protocol module decodes it, so errors point into the text)
//!   'x'  a message the format does not allow (a text message on lc.protobuf2, a binary one
//!        on lc.proto2base64) or a WebSocket protocol error: a description
//!   'c'  a close frame: code:u16be reason
//! to the server:
//!   'm'  a command's protobuf bytes: sent as a binary message, or as base64 text
//!   'B' / 'T'  a binary / text message sent exactly as given (malformed input on purpose)
//! ```
//!
//! Pings are answered by tungstenite itself (it queues the pong and flushes it with the next
//! read or write). Closing the write side of the record stream (`disconnect:`, the end of a
//! case) drops the socket without a close frame: an *unexpected* disconnect, which is what a
//! will message (§4.6 (8)) is about; an orderly logout is `session/close` in the protocol.
//! The close completes once the messages written before it are on the socket, so a
//! `disconnect:` step ends after them, as on a plain TCP stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{
    AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf,
};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::{BoxStream, Carrier};

/// The target service name of LeanCloud realtime.
pub const SERVICE: &str = "leancloud";
/// Largest record payload accepted from the runner or a server message (16 MiB).
pub const MAX_MESSAGE: usize = 16 << 20;
/// Bytes of a record header.
pub const HEADER: usize = 5;

/// How a command travels in a WebSocket message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Base64 of the protobuf bytes in text messages (`lc.proto2base64.*`, the SDK's `noBinary`).
    Proto2Base64,
    /// Protobuf bytes in binary messages (`lc.protobuf2.*`).
    #[default]
    Protobuf2,
}

impl Format {
    /// The name in a subprotocol and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proto2Base64 => "proto2base64",
            Self::Protobuf2 => "protobuf2",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "proto2base64" => Some(Self::Proto2Base64),
            "protobuf2" => Some(Self::Protobuf2),
            _ => None,
        }
    }
}

/// The subprotocol an actor offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Binary or base64 text messages.
    pub format: Format,
    /// `3` normally; `1` selects push mode for offline messages (docs/protocols/leancloud.md §2.1).
    pub version: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            format: Format::Protobuf2,
            version: "3".into(),
        }
    }
}

impl Options {
    /// `lc.<format>.<version>`.
    pub fn subprotocol(&self) -> String {
        format!("lc.{}.{}", self.format.name(), self.version)
    }
}

/// Runs the client handshake for `ws://<host>/` over `stream` and starts the pump task that
/// turns WebSocket messages into records. `host` is the `host:port` (or service name) put in
/// the request line and `Host` header.
pub async fn upgrade(
    stream: BoxStream,
    host: &str,
    options: &Options,
) -> Result<BoxStream, String> {
    let offered = options.subprotocol();
    let uri = format!("ws://{host}/");
    let mut request = uri
        .as_str()
        .into_client_request()
        .map_err(|e| format!("WebSocket request for `{uri}`: {e}"))?;
    let value =
        HeaderValue::from_str(&offered).map_err(|e| format!("subprotocol `{offered}`: {e}"))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", value);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| format!("WebSocket handshake offering `{offered}` failed: {e}"))?;
    // tungstenite refuses a missing or foreign subprotocol already; say so in our words too,
    // in case a future version relaxes it.
    let picked = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok());
    if picked != Some(offered.as_str()) {
        return Err(format!(
            "the server answered the WebSocket handshake with subprotocol {:?}; offered `{offered}`",
            picked.unwrap_or("(none)")
        ));
    }
    Ok(Box::new(Records::start(ws, options.format)))
}

/// The subprotocols [`accept`] picks from, in order of preference (docs/protocols/leancloud.md §2.1).
pub const SUBPROTOCOLS: &[&str] = &[
    "lc.protobuf2.3",
    "lc.proto2base64.3",
    "lc.protobuf2.1",
    "lc.proto2base64.1",
];

/// The server side of [`upgrade`], for client cases: accepts the client's handshake over
/// `stream`, picking the first subprotocol of [`SUBPROTOCOLS`] it offers, and starts the same
/// record pump. Returns the record stream and the subprotocol picked; a client that offers
/// none of them fails the handshake.
pub async fn accept(stream: BoxStream) -> Result<(BoxStream, String), String> {
    use std::sync::{Arc, Mutex};
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
    let picked: Arc<Mutex<Option<String>>> = Arc::default();
    let chosen = Arc::clone(&picked);
    // The callback's signature is tungstenite's.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let offered: Vec<String> = req
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
            .collect();
        let Some(p) = SUBPROTOCOLS
            .iter()
            .find(|p| offered.iter().any(|o| o == *p))
        else {
            let mut refuse = ErrorResponse::new(Some(format!(
                "none of the offered subprotocols {offered:?} is one of {SUBPROTOCOLS:?}"
            )));
            *refuse.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::BAD_REQUEST;
            return Err(refuse);
        };
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
        if let Ok(mut g) = chosen.lock() {
            *g = Some((*p).to_owned());
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config))
        .await
        .map_err(|e| format!("WebSocket handshake from the client failed: {e}"))?;
    let subprotocol = picked
        .lock()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_default();
    let format = if subprotocol.contains("proto2base64") {
        Format::Proto2Base64
    } else {
        Format::Protobuf2
    };
    Ok((Box::new(Records::start(ws, format)), subprotocol))
}

/// The runner's end of the record stream. Its shutdown is done when the pump is: what was
/// written before it has gone out on the socket, and the socket is dropped, so what the
/// next step sends on another connection cannot overtake the last messages.
struct Records {
    inner: DuplexStream,
    pump: Carrier,
}

impl Records {
    fn start(ws: Ws, format: Format) -> Self {
        let (runner_end, pump_end) = tokio::io::duplex(super::mem::DUPLEX_BUFFER);
        let (running, carrier) = Carrier::new();
        tokio::spawn(async move {
            pump(ws, pump_end, format).await;
            drop(running);
        });
        Self {
            inner: runner_end,
            pump: carrier,
        }
    }
}

impl AsyncRead for Records {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Records {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(Err(e)) = Pin::new(&mut this.inner).poll_shutdown(cx) {
            return Poll::Ready(Err(e));
        }
        this.pump.poll_ended(cx).map(Ok)
    }
}

/// A record: tag, big-endian length, payload.
pub fn record(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(tag);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Cuts one record from the start of `buf`: `Some((tag, payload, consumed))`, or `None` while
/// it is incomplete.
pub fn cut(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&tag, rest) = buf.split_first()?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let payload = rest.get(4..4 + len)?;
    Some((tag, payload, HEADER + len))
}

/// The length a record header declares, once the header is complete.
pub fn declared_len(buf: &[u8]) -> Option<usize> {
    Some(u32::from_be_bytes(buf.get(1..HEADER)?.try_into().ok()?) as usize)
}

type Ws = tokio_tungstenite::WebSocketStream<BoxStream>;

/// Moves messages between the socket and the runner's record stream until either side ends.
async fn pump(ws: Ws, end: DuplexStream, format: Format) {
    let (mut sink, mut source) = ws.split();
    let (mut rd, mut wr) = tokio::io::split(end);
    let mut pending: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        tokio::select! {
            msg = source.next() => {
                let rec = match msg {
                    None => break,
                    Some(Ok(m)) => match incoming(m, format) {
                        Some(r) => r,
                        None => continue,
                    },
                    Some(Err(e)) => {
                        let _ = wr.write_all(&record(b'x', format!("WebSocket error: {e}").as_bytes())).await;
                        break;
                    }
                };
                if wr.write_all(&rec).await.is_err() {
                    break;
                }
            }
            n = rd.read_buf(&mut pending) => {
                if !matches!(n, Ok(k) if k > 0) {
                    // The runner closed its side: drop the socket without a close frame.
                    break;
                }
                while let Some((tag, payload, used)) = cut(&pending) {
                    let msg = outgoing(tag, payload, format);
                    pending.drain(..used);
                    match msg {
                        Some(m) => {
                            if sink.send(m).await.is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
                if declared_len(&pending).is_some_and(|n| n > MAX_MESSAGE) {
                    return;
                }
            }
        }
    }
}

/// The record for a message from the server (`None`: nothing for the runner, e.g. a ping).
fn incoming(msg: Message, format: Format) -> Option<Vec<u8>> {
    Some(match (msg, format) {
        (Message::Binary(b), Format::Protobuf2) => record(b'b', &b),
        (Message::Text(t), Format::Proto2Base64) => record(b't', t.as_bytes()),
        (Message::Binary(b), Format::Proto2Base64) => {
            refused("binary message on an lc.proto2base64 connection", &b)
        }
        (Message::Text(t), Format::Protobuf2) => {
            refused("text message on an lc.protobuf2 connection", t.as_bytes())
        }
        (Message::Close(frame), _) => {
            let (code, reason) = frame.map_or((1005, String::new()), |f| {
                (u16::from(f.code), f.reason.as_str().to_owned())
            });
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(reason.as_bytes());
            record(b'c', &payload)
        }
        (Message::Ping(_) | Message::Pong(_) | Message::Frame(_), _) => return None,
    })
}

fn refused(why: &str, bytes: &[u8]) -> Vec<u8> {
    let shown = imspec_codec::text::escape(bytes.get(..bytes.len().min(64)).unwrap_or_default());
    record(b'x', format!("{why}: \"{shown}\"").as_bytes())
}

/// The message for a record from the runner (`None`: a record that cannot be sent).
fn outgoing(tag: u8, payload: &[u8], format: Format) -> Option<Message> {
    match (tag, format) {
        (b'm', Format::Protobuf2) | (b'B', _) => {
            Some(Message::Binary(Bytes::copy_from_slice(payload)))
        }
        (b'm', Format::Proto2Base64) => Some(Message::text(
            base64::engine::general_purpose::STANDARD.encode(payload),
        )),
        (b'T', _) => String::from_utf8(payload.to_vec()).ok().map(Message::text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    /// A test server: accepts the handshake answering with `answer`, then hands the socket to
    /// `then`.
    async fn serve<F, Fut>(
        answer: Option<&'static str>,
        then: F,
    ) -> (tokio::task::JoinHandle<()>, BoxStream)
    where
        F: FnOnce(tokio_tungstenite::WebSocketStream<DuplexStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(async move {
            // The callback's signature is tungstenite's.
            #[allow(clippy::result_large_err)]
            let cb = move |_req: &Request, mut resp: Response| {
                if let Some(a) = answer {
                    resp.headers_mut()
                        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(a));
                }
                Ok(resp)
            };
            if let Ok(ws) = tokio_tungstenite::accept_hdr_async(server, cb).await {
                then(ws).await;
            }
        });
        (task, Box::new(client))
    }

    async fn read_record(s: &mut BoxStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; HEADER];
        s.read_exact(&mut head).await.unwrap();
        let mut payload = vec![0; declared_len(&head).unwrap()];
        s.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    }

    #[tokio::test]
    async fn binary_round_trip_and_ping_answered() {
        let (task, stream) = serve(Some("lc.protobuf2.3"), |mut ws| async move {
            let m = ws.next().await.unwrap().unwrap();
            assert_eq!(m, Message::Binary(Bytes::from_static(b"\x08\x00")));
            ws.send(Message::Ping(Bytes::from_static(b"hb")))
                .await
                .unwrap();
            ws.send(Message::Binary(Bytes::from_static(b"\x08\x05")))
                .await
                .unwrap();
            let m = ws.next().await.unwrap().unwrap();
            assert_eq!(m, Message::Pong(Bytes::from_static(b"hb")));
            ws.send(Message::text("oops")).await.unwrap();
            ws.close(None).await.unwrap();
        })
        .await;
        let mut s = upgrade(stream, "leancloud", &Options::default())
            .await
            .unwrap();
        s.write_all(&record(b'm', b"\x08\x00")).await.unwrap();
        assert_eq!(read_record(&mut s).await, (b'b', b"\x08\x05".to_vec()));
        let (tag, why) = read_record(&mut s).await;
        assert_eq!(tag, b'x');
        assert!(String::from_utf8_lossy(&why).contains("text message"));
        let (tag, close) = read_record(&mut s).await;
        assert_eq!((tag, &close[..2]), (b'c', &1005u16.to_be_bytes()[..]));
        task.await.unwrap();
    }

    #[tokio::test]
    async fn base64_text_both_ways() {
        let (task, stream) = serve(Some("lc.proto2base64.3"), |mut ws| async move {
            let m = ws.next().await.unwrap().unwrap();
            assert_eq!(m, Message::text("CAA="));
            ws.send(Message::text("CAU=")).await.unwrap();
            ws.send(Message::Binary(Bytes::from_static(b"\x08")))
                .await
                .unwrap();
            let _ = ws.next().await;
        })
        .await;
        let opts = Options {
            format: Format::Proto2Base64,
            version: "3".into(),
        };
        let mut s = upgrade(stream, "127.0.0.1:1", &opts).await.unwrap();
        s.write_all(&record(b'm', b"\x08\x00")).await.unwrap();
        assert_eq!(read_record(&mut s).await, (b't', b"CAU=".to_vec()));
        assert_eq!(read_record(&mut s).await.0, b'x');
        s.shutdown().await.unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn abrupt_close_sends_no_close_frame() {
        let (task, stream) = serve(Some("lc.protobuf2.3"), |mut ws| async move {
            // The client's shutdown ends the socket without a close frame: a protocol error
            // ("reset without closing handshake") or the end of the stream, never Close.
            match ws.next().await {
                None | Some(Err(_)) => {}
                Some(Ok(m)) => panic!("expected an abrupt end, got {m:?}"),
            }
        })
        .await;
        let mut s = upgrade(stream, "leancloud", &Options::default())
            .await
            .unwrap();
        s.shutdown().await.unwrap();
        drop(s);
        task.await.unwrap();
    }

    /// The record stream's shutdown completes only once the messages written before it are
    /// on the socket: the server finds them there without waiting, on this one-thread
    /// runtime where nothing else has run since. (A shutdown that returned at once left them
    /// in the pump, racing the next step's connection.)
    #[tokio::test]
    async fn shutdown_waits_until_the_messages_are_on_the_socket() {
        use futures_util::FutureExt as _;
        let (client, server) = tokio::io::duplex(64 * 1024);
        #[allow(clippy::result_large_err)]
        let cb = |_req: &Request, mut resp: Response| {
            resp.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("lc.protobuf2.3"),
            );
            Ok(resp)
        };
        let options = Options::default();
        let (s, ws) = tokio::join!(
            upgrade(Box::new(client), "leancloud", &options),
            tokio_tungstenite::accept_hdr_async(server, cb)
        );
        let (mut s, mut ws) = (s.unwrap(), ws.unwrap());
        s.write_all(&record(b'm', b"\x08\x00")).await.unwrap();
        s.write_all(&record(b'm', b"\x08\x01")).await.unwrap();
        s.shutdown().await.unwrap();
        for body in [b"\x08\x00", b"\x08\x01"] {
            let m = ws.next().now_or_never().flatten().map(Result::unwrap);
            assert_eq!(m, Some(Message::Binary(Bytes::from_static(body))));
        }
    }

    #[tokio::test]
    async fn refuses_a_server_that_picks_no_or_another_subprotocol() {
        for answer in [None, Some("lc.proto2base64.3")] {
            let (_task, stream) = serve(answer, |_ws| async {}).await;
            let e = upgrade(stream, "leancloud", &Options::default())
                .await
                .err()
                .unwrap();
            assert!(e.contains("lc.protobuf2.3"), "{e}");
        }
    }

    #[test]
    fn records_cut_whole_only() {
        let r = record(b'm', b"abc");
        assert_eq!(cut(&r), Some((b'm', &b"abc"[..], 8)));
        for n in 0..r.len() {
            assert_eq!(cut(&r[..n]), None);
        }
        assert_eq!(Options::default().subprotocol(), "lc.protobuf2.3");
    }
}
