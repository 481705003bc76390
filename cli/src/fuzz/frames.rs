//! WebSocket frames and HTTP messages in recorded bytes, for the network fuzzer: what a
//! LeanCloud client wrote (to mutate one command, and to replay the round), what the server
//! answered (to judge it). Frames are cut with tungstenite's frame header parser and HTTP
//! messages with `report::pcap::frame_ends` (httparse), as the pcap writer cuts them.

use std::io::Cursor;

use imspec_harness::report::pcap;
use imspec_harness::runner::Way;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

/// One whole WebSocket frame.
#[derive(Debug)]
pub struct WsFrame {
    /// Its header (with the mask key it was sent with, if any).
    pub header: FrameHeader,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
    /// Bytes the frame takes on the wire.
    pub len: usize,
}

impl WsFrame {
    /// A text or binary frame that ends its message (`Some(true)` for text).
    pub fn data(&self) -> Option<bool> {
        match self.header.opcode {
            OpCode::Data(Data::Text) if self.header.is_final => Some(true),
            OpCode::Data(Data::Binary) if self.header.is_final => Some(false),
            _ => None,
        }
    }
}

/// The frame at the start of `buf`: `Ok(None)` while it is incomplete, `Err` with the reason
/// when the header is not one.
pub fn frame(buf: &[u8]) -> Result<Option<WsFrame>, String> {
    let mut cur = Cursor::new(buf);
    let Some((header, len)) = FrameHeader::parse(&mut cur).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let head = usize::try_from(cur.position()).unwrap_or(usize::MAX);
    let Some(total) = usize::try_from(len).ok().and_then(|l| l.checked_add(head)) else {
        return Err(format!("a frame of {len} bytes"));
    };
    let Some(masked) = buf.get(head..total) else {
        return Ok(None);
    };
    Ok(Some(WsFrame {
        payload: unmask(&header, masked),
        header,
        len: total,
    }))
}

/// The frame a client wrote at the start of `buf`, if it is whole.
pub fn client_frame(buf: &[u8]) -> Option<WsFrame> {
    frame(buf).ok().flatten()
}

/// Whether `buf` does not start with a frame header at all.
pub fn frame_error(buf: &[u8]) -> bool {
    frame(buf).is_err()
}

/// Appends a frame with `header` (its mask key kept) and `payload`.
pub fn write_frame(header: FrameHeader, payload: Vec<u8>, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = Frame::from_payload(header, Bytes::from(payload)).format(out);
}

/// The payload without its mask: formatting applies the mask key, which undoes it.
fn unmask(header: &FrameHeader, masked: &[u8]) -> Vec<u8> {
    if header.mask.is_none() {
        return masked.to_vec();
    }
    let mut out = Vec::new();
    write_frame(header.clone(), masked.to_vec(), &mut out);
    out.split_off(header.len(masked.len() as u64))
}

/// The messages of a WebSocket client's stream `sent` (the handshake, then frames): each
/// whole data frame's payload, whether it is text, and the offset where it ends.
pub fn ws_messages(sent: &[u8]) -> Vec<(Vec<u8>, bool, usize)> {
    let mut out = Vec::new();
    let Some(&head) = pcap::frame_ends("http", Way::Send, sent).first() else {
        return out;
    };
    let mut at = head;
    while let Some(f) = sent.get(at..).and_then(client_frame) {
        at += f.len;
        if let Some(text) = f.data() {
            out.push((f.payload, text, at));
        }
    }
    out
}

/// One HTTP message in a recorded stream.
#[derive(Debug)]
pub struct HttpMessage {
    /// Request target (requests) or status code (responses).
    pub first: String,
    /// The body.
    pub body: Vec<u8>,
    /// Offset where the message ends.
    pub end: usize,
    /// Whether the body is chunked (left as it is).
    pub chunked: bool,
}

/// What follows the whole messages of a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Rest {
    /// Nothing.
    None,
    /// The start of a message, from this offset.
    Incomplete(usize),
    /// Bytes that are not HTTP, from this offset.
    Bad(usize, String),
}

/// The whole HTTP messages of one way of a connection, and what follows them.
pub fn http_messages(way: Way, bytes: &[u8]) -> (Vec<HttpMessage>, Rest) {
    let mut out = Vec::new();
    let mut start = 0;
    for end in pcap::frame_ends("http", way, bytes) {
        let msg = &bytes[start..end];
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let parsed = if way == Way::Send {
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(msg) {
                Ok(httparse::Status::Complete(n)) => {
                    Ok((n, req.path.unwrap_or_default().to_owned(), req.headers))
                }
                Ok(httparse::Status::Partial) => Err(None),
                Err(e) => Err(Some(e.to_string())),
            }
        } else {
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(msg) {
                Ok(httparse::Status::Complete(n)) => {
                    Ok((n, resp.code.unwrap_or(0).to_string(), resp.headers))
                }
                Ok(httparse::Status::Partial) => Err(None),
                Err(e) => Err(Some(e.to_string())),
            }
        };
        let (head, first, hs) = match parsed {
            Ok(p) => p,
            Err(None) => return (out, Rest::Incomplete(start)),
            Err(Some(why)) => return (out, Rest::Bad(start, why)),
        };
        let chunked = hs.iter().any(|h| {
            h.name.eq_ignore_ascii_case("transfer-encoding")
                && String::from_utf8_lossy(h.value)
                    .to_ascii_lowercase()
                    .contains("chunked")
        });
        let length = hs
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if !chunked && msg.len() - head < length {
            return (out, Rest::Incomplete(start));
        }
        out.push(HttpMessage {
            first,
            body: msg[head..].to_vec(),
            end,
            chunked,
        });
        start = end;
    }
    (out, Rest::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_frame_unmasks_and_frames_again_with_its_key() {
        let header = FrameHeader {
            opcode: OpCode::Data(Data::Binary),
            mask: Some([1, 2, 3, 4]),
            ..FrameHeader::default()
        };
        let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        write_frame(header.clone(), b"hello".to_vec(), &mut wire);
        let head = wire.len() - 11;
        assert_ne!(&wire[head + 6..], b"hello", "masked on the wire");
        let f = client_frame(&wire[head..]).unwrap();
        assert_eq!(
            (f.payload.as_slice(), f.len, f.data()),
            (&b"hello"[..], 11, Some(false))
        );
        assert_eq!(
            ws_messages(&wire),
            vec![(b"hello".to_vec(), false, wire.len())]
        );
        // Incomplete, then not a frame at all (reserved bits are the server's to refuse, a
        // frame header always parses): the length runs past the bytes.
        assert!(client_frame(&wire[head..wire.len() - 1]).is_none());
        assert!(!frame_error(&wire[head..wire.len() - 1]));
    }

    #[test]
    fn http_messages_cut_whole_messages_and_say_what_follows() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab";
        let (msgs, rest) = http_messages(Way::Recv, two);
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            (msgs[0].first.as_str(), msgs[0].body.as_slice()),
            ("200", &b"ok"[..])
        );
        assert_eq!(rest, Rest::Incomplete(msgs[0].end));
        let (msgs, rest) = http_messages(Way::Recv, b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n");
        assert!(msgs.is_empty());
        assert!(matches!(rest, Rest::Bad(0, _)), "{rest:?}");
    }
}
