//! The WebSocket face of the LeanCloud [`Hub`], for the driver: the opening HTTP
//! request, subprotocol negotiation, then one hub frame per WebSocket message.
//!
//! * The upgrade (RFC 6455 §4.2) must be a `GET` with `Upgrade: websocket`,
//!   `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`, and offer one of
//!   `lc.protobuf2.3`, `lc.proto2base64.3`, `lc.protobuf2.1`, `lc.proto2base64.1` in
//!   `Sec-WebSocket-Protocol` (the first one offered that we speak is chosen). Anything else
//!   is answered `400` (legacy `lc.json.*` and friends, or no subprotocol) and closed.
//! * A plain `GET /v1/route` answers the RTM router's JSON (`{"server": "ws://HOST", …}`,
//!   docs/protocols/peers.md §4.4) so the SDK's `server` option can point here; other plain requests get
//!   `404`.
//! * `protobuf2` connections exchange binary messages, `proto2base64` ones text messages;
//!   the hub gets the payload either way and refuses what it cannot decode. Pings are
//!   answered by tungstenite (a pong is queued on read and flushed with the next write or
//!   read); any message, ping included, resets the idle timer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use imspec_codec::leancloud::Subprotocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::{Event, Hub};
use crate::driver::outbox::Outbox;
use crate::{ConnId, Output};

/// Largest opening request head.
const MAX_HEAD: usize = 8 * 1024;
/// Time allowed for the opening request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest WebSocket message (the hub's own limit is checked on the payload).
pub const MAX_MESSAGE: usize = 1 << 20;

/// What the driver provides to a LeanCloud connection.
pub(crate) trait Host: Send + Sync + 'static {
    /// Runs `f` on the hub, then routes the outputs to their connections.
    fn with_hub(&self, f: &mut dyn FnMut(&mut Hub));
    /// A connection id and its outbox, or `None` over the connection cap.
    fn register(&self) -> Option<(ConnId, Arc<Outbox>)>;
    /// Forgets a connection registered before.
    fn unregister(&self, id: ConnId);
    /// Close a connection silent for this long.
    fn idle_timeout(&self) -> Duration;
    /// Fires when the server shuts down.
    fn shutdown(&self) -> watch::Receiver<bool>;
}

/// Serves one accepted stream.
pub(crate) async fn serve<H: Host, S>(host: Arc<H>, mut stream: S, now_ms: fn() -> u64)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let Ok(Some((head, rest))) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))
        .await
        .unwrap_or(Ok(None))
    else {
        return;
    };
    let proto = match answer(&head) {
        Answer::Upgrade { accept, proto } => {
            let resp = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n"
            );
            if stream.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
            proto
        }
        Answer::Http(resp) => {
            let _ = stream.write_all(resp.as_bytes()).await;
            let _ = stream.shutdown().await;
            return;
        }
    };
    let Some((id, outbox)) = host.register() else {
        return;
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let mut ws =
        WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
    host.with_hub(&mut |h| h.handle(now_ms(), id, Event::Connected(proto)));
    let binary = proto.format.is_binary();
    let mut shutdown = host.shutdown();
    let idle = host.idle_timeout();
    // What followed a `Close` the hub asked for.
    let mut left = VecDeque::new();
    // What a hold hands over, sent at once.
    let mut batch = VecDeque::new();
    loop {
        tokio::select! {
            read = tokio::time::timeout(idle, ws.next()) => match read {
                Ok(Some(Ok(msg))) => {
                    let frame = match &msg {
                        Message::Binary(b) => Some(&b[..]),
                        Message::Text(t) => Some(t.as_bytes()),
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
                    };
                    let Some(frame) = frame else {
                        // tungstenite queued the pong; push it out now.
                        if ws.flush().await.is_err() {
                            break;
                        }
                        continue;
                    };
                    // The outbox is held so that the answer does not wake this task (see
                    // `driver::outbox`).
                    outbox.hold();
                    host.with_hub(&mut |h| h.handle(now_ms(), id, Event::Frame(frame)));
                    outbox.release(&mut batch);
                    if let Some(rest) = send_outputs(&mut ws, batch.drain(..), binary).await {
                        left = rest;
                        break;
                    }
                }
                _ => break,
            },
            out = outbox.next() => {
                if let Some(rest) = send_outputs(&mut ws, [out], binary).await {
                    left = rest;
                    break;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    host.unregister(id);
    host.with_hub(&mut |h| h.handle(now_ms(), id, Event::Closed));
    outbox.take_all(&mut left);
    for o in left {
        let Output::Send { bytes, .. } = o else { break };
        if ws.feed(to_message(bytes, binary)).await.is_err() {
            break;
        }
    }
    let _ = ws.close(None).await;
}

/// Sends `outputs` in order. `Some` when the connection is to end: a `Close` (with what
/// followed it) or a failed send (with nothing).
async fn send_outputs<S>(
    ws: &mut WebSocketStream<S>,
    outputs: impl IntoIterator<Item = Output>,
    binary: bool,
) -> Option<VecDeque<Output>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut outputs = outputs.into_iter();
    while let Some(o) = outputs.next() {
        match o {
            Output::Send { bytes, .. } => {
                if ws.send(to_message(bytes, binary)).await.is_err() {
                    return Some(VecDeque::new());
                }
            }
            Output::Close { .. } => return Some(outputs.collect()),
        }
    }
    None
}

fn to_message(bytes: Vec<u8>, binary: bool) -> Message {
    if binary {
        return Message::Binary(Bytes::from(bytes));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Message::Text(Utf8Bytes::from(s)),
        // The hub writes base64 on text connections; anything else goes out as it is.
        Err(e) => Message::Binary(Bytes::from(e.into_bytes())),
    }
}

/// Reads up to the blank line ending the request head: (head, bytes read past it).
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok(String::from_utf8(buf).ok().map(|h| (h, rest)));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// What to do with an opening request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Switch protocols.
    Upgrade {
        /// `Sec-WebSocket-Accept`.
        accept: String,
        /// The chosen subprotocol.
        proto: Subprotocol,
    },
    /// Answer this HTTP response and close.
    Http(String),
}

/// Decides the answer to a request head (sans-IO, unit-tested).
pub(crate) fn answer(head: &str) -> Answer {
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("/"),
    );
    let headers: Vec<(String, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let has_token = |name: &str, token: &str| {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let upgrade = has_token("upgrade", "websocket");
    if method != "GET" {
        return Answer::Http(http(405, "method not allowed"));
    }
    if !upgrade {
        let path = target.split('?').next().unwrap_or_default();
        if path == "/v1/route" {
            let host = header("host").unwrap_or("127.0.0.1");
            let url = format!("ws://{host}");
            let body = serde_json::json!({
                "groupId": "imspec",
                "groupUrl": url,
                "server": url,
                "secondary": url,
                "ttl": 3600,
            })
            .to_string();
            return Answer::Http(format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ));
        }
        return Answer::Http(http(404, "not found"));
    }
    let Some(key) = header("sec-websocket-key").filter(|k| !k.is_empty()) else {
        return Answer::Http(http(400, "missing Sec-WebSocket-Key"));
    };
    if header("sec-websocket-version") != Some("13") {
        return Answer::Http(
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_owned(),
        );
    }
    let offered = headers
        .iter()
        .filter(|(k, _)| k == "sec-websocket-protocol")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim);
    let mut chosen = None;
    for token in offered {
        if let Ok(p) = Subprotocol::parse(token) {
            chosen = Some(p);
            break;
        }
    }
    match chosen {
        Some(proto) => Answer::Upgrade {
            accept: derive_accept_key(key.as_bytes()),
            proto,
        },
        None => Answer::Http(http(
            400,
            "no supported subprotocol: offer lc.protobuf2.3, lc.proto2base64.3, lc.protobuf2.1 or lc.proto2base64.1",
        )),
    }
}

fn http(status: u16, text: &str) -> String {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade(protocols: &str) -> String {
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{protocols}\r\n"
        )
    }

    #[test]
    fn leancloud_ws_negotiates_the_first_supported_subprotocol() {
        let a = answer(&upgrade(
            "Sec-WebSocket-Protocol: lc.json.1, lc.proto2base64.3\r\n",
        ));
        assert_eq!(
            a,
            Answer::Upgrade {
                // RFC 6455 §1.3's example key and accept value.
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(),
                proto: Subprotocol::parse("lc.proto2base64.3").unwrap(),
            }
        );
        for p in ["lc.protobuf2.3", "lc.protobuf2.1", "lc.proto2base64.1"] {
            let Answer::Upgrade { proto, .. } =
                answer(&upgrade(&format!("Sec-WebSocket-Protocol: {p}\r\n")))
            else {
                panic!("{p} refused");
            };
            assert_eq!(proto.as_str(), p);
        }
    }

    #[test]
    fn leancloud_ws_refuses_other_subprotocols_and_bad_requests() {
        for h in [
            upgrade(""),
            upgrade("Sec-WebSocket-Protocol: lc.json.1\r\n"),
            upgrade("Sec-WebSocket-Protocol: chat\r\n"),
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: lc.protobuf2.3\r\n".into(),
        ] {
            let Answer::Http(r) = answer(&h) else {
                panic!("accepted {h:?}")
            };
            assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
        }
        let Answer::Http(r) = answer(
            &upgrade("Sec-WebSocket-Protocol: lc.protobuf2.3\r\n")
                .replace("Version: 13", "Version: 8"),
        ) else {
            panic!()
        };
        assert!(r.starts_with("HTTP/1.1 426 "), "{r}");
        let Answer::Http(r) = answer("POST / HTTP/1.1\r\n") else {
            panic!()
        };
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    }

    /// Over loopback TCP and in memory: binary and base64 sessions, a ping answered with a
    /// pong, a refused subprotocol.
    #[tokio::test]
    async fn leancloud_ws_driver_smoke() {
        use crate::{Server, ServerConfig, Service};
        use imspec_codec::leancloud::{self as lc, Format, GenericCommand};
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;

        let server = Server::start(ServerConfig {
            fetion: None,
            msnp: None,
            gateway: None,
            seed: Some(3),
            ..ServerConfig::local()
        })
        .await
        .unwrap();
        let addr = server.addr(Service::LeanCloud).unwrap();
        let open: GenericCommand = serde_json::from_str(
            r#"{"cmd":"session","op":"open","appId":"test","peerId":"alice","i":1,"sessionMessage":{"ua":"js/4.3.1"}}"#,
        )
        .unwrap();
        for (proto, format) in [
            ("lc.protobuf2.3", Format::Protobuf2),
            ("lc.proto2base64.3", Format::Proto2Base64),
        ] {
            let mut req = format!("ws://{addr}/").into_client_request().unwrap();
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", proto.parse().unwrap());
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut ws, resp) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
            assert_eq!(resp.headers()["sec-websocket-protocol"], proto);
            let mut frame = Vec::new();
            lc::encode(&open, format, &mut frame);
            let msg = if format.is_binary() {
                Message::Binary(frame.into())
            } else {
                Message::Text(String::from_utf8(frame).unwrap().into())
            };
            ws.send(msg).await.unwrap();
            ws.send(Message::Ping(Bytes::from_static(b"hb")))
                .await
                .unwrap();
            let mut got_pong = false;
            let mut opened = None;
            while opened.is_none() || !got_pong {
                let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                match m {
                    Message::Pong(p) => got_pong = p.as_ref() == b"hb",
                    Message::Binary(b) if format.is_binary() => {
                        opened = Some(lc::decode(&b, format).unwrap());
                    }
                    Message::Text(t) if !format.is_binary() => {
                        opened = Some(lc::decode(t.as_bytes(), format).unwrap());
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            let opened = opened.unwrap();
            assert_eq!(opened.i, Some(1));
            assert_eq!(opened.peer_id.as_deref(), Some("alice"));
            ws.close(None).await.unwrap();
        }
        // A legacy subprotocol is refused at the handshake.
        let mut req = format!("ws://{addr}/").into_client_request().unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "lc.json.1".parse().unwrap());
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(tokio_tungstenite::client_async(req, tcp).await.is_err());
        // In memory, as the runner connects.
        let mem = server.connect_mem(Service::LeanCloud).unwrap();
        let mut req = "ws://imspec/".into_client_request().unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "lc.protobuf2.1".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::client_async(req, mem).await.unwrap();
        let mut frame = Vec::new();
        lc::encode(&open, Format::Protobuf2, &mut frame);
        ws.send(Message::Binary(frame.into())).await.unwrap();
        let Some(Ok(Message::Binary(b))) = ws.next().await else {
            panic!()
        };
        assert_eq!(lc::decode(&b, Format::Protobuf2).unwrap().i, Some(1));
        server.shutdown().await;
    }

    #[test]
    fn leancloud_ws_serves_the_router_lookup() {
        let Answer::Http(r) =
            answer("GET /v1/route?appId=test&secure=false HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")
        else {
            panic!()
        };
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        let body: serde_json::Value =
            serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["server"], "ws://127.0.0.1:9");
        let Answer::Http(r) = answer("GET /1.1/rtm/notifications HTTP/1.1\r\n") else {
            panic!()
        };
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    }
}
