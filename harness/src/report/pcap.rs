//! The pcapng report (`imspec run --pcap FILE`): every recorded TCP connection of the run
//! ([`CaseResult::connections`]) as a TCP stream Wireshark reads.
//!
//! Each connection gets a synthesised handshake at the time it was opened, then its bytes,
//! exactly as they were written and read, in IPv4 (or IPv6)/TCP packets between its real local
//! and remote addresses, with sequence and acknowledgement numbers that follow the bytes, and a
//! FIN where a side ended. A packet carries one protocol frame (one SIP message, one MSNP
//! command, one WebSocket frame, one HTTP message, split further only above
//! [`MAX_SEGMENT`]), stamped with the time its last byte was read or written, so a dissector
//! shows one frame per packet as the wire log does. Frames are cut with the codec (through the
//! protocol modules), `httparse` and tungstenite's frame header parser: one parser per grammar.
//!
//! A pure function of the results: `imspec report` can write it from an old run's JSON.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::SocketAddr;

use etherparse::PacketBuilder;
use imspec_codec::Status;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use super::pcapng::{LINKTYPE_RAW, Writer};
use crate::proto;
use crate::runner::{CaseResult, Connection, Way};

/// Largest TCP payload of one packet (IPv4's total length is 16 bits).
pub const MAX_SEGMENT: usize = 60_000;
const WINDOW: u16 = 65_535;
const TTL: u8 = 64;

/// The pcapng file of `results`' connections, packets in time order.
pub fn render(results: &[CaseResult]) -> Vec<u8> {
    let mut packets: Vec<Packet> = Vec::new();
    for r in results {
        for c in &r.connections {
            connection(r, c, &mut packets);
        }
    }
    // Stable: packets of one connection at the same microsecond keep their order.
    packets.sort_by_key(|p| p.ts_us);
    let mut w = Writer::new(LINKTYPE_RAW, concat!("imspec ", env!("CARGO_PKG_VERSION")));
    for p in &packets {
        w.packet(p.ts_us, &p.data, p.comment.as_deref());
    }
    w.finish()
}

/// How many frames of each protocol the pcap carries, as a dissector should count them: for
/// every recorded connection, the frames its bytes hold, cut as [`render`] cuts them — `sip`,
/// `msrp`, `msnp` and `fetion` frames of their connections, `websocket` data frames (text and
/// binary; not the handshake, not control frames), and `http` the requests and responses of the
/// HTTP connections and WebSocket handshakes.
///
/// Counted from the connections' bytes, not from the wire log: a frame that arrived after the
/// case stopped reading is on the wire (and in the pcap) without a wire-log entry.
pub fn frame_counts(results: &[CaseResult]) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in results.iter().flat_map(|r| &r.connections) {
        for way in [Way::Send, Way::Recv] {
            let bytes: Vec<u8> = c
                .chunks
                .iter()
                .filter(|k| k.way == way)
                .flat_map(|k| k.raw.iter().copied())
                .collect();
            let mut start = 0;
            for (i, end) in frame_ends(&c.protocol, way, &bytes).into_iter().enumerate() {
                let frame = &bytes[start..end];
                start = end;
                let name = match c.protocol.as_str() {
                    "websocket" if i == 0 => "http",
                    "websocket" if is_ws_data(frame) => "websocket",
                    "websocket" => continue,
                    p => p,
                };
                *counts.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    counts
}

/// Whether `frame` is one whole WebSocket text or binary frame.
fn is_ws_data(frame: &[u8]) -> bool {
    let mut cur = Cursor::new(frame);
    matches!(
        FrameHeader::parse(&mut cur),
        Ok(Some((h, len))) if matches!(h.opcode, OpCode::Data(Data::Text | Data::Binary))
            && usize::try_from(cur.position()).ok().zip(usize::try_from(len).ok())
                .is_some_and(|(head, body)| head + body == frame.len())
    )
}

/// Cut points of one way of a connection: the end offset of each frame in its bytes.
pub fn frame_ends(protocol: &str, way: Way, bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    let mut ws_open = protocol != "websocket";
    while at < bytes.len() {
        let rest = &bytes[at..];
        let n = if !ws_open {
            ws_open = true;
            http_message(rest, way, false)
        } else {
            match protocol {
                "http" => http_message(rest, way, true),
                "websocket" => ws_frame(rest),
                p => proto::by_name(p).and_then(|m| match m.parse(rest) {
                    Ok(Status::Complete((_, n))) if n > 0 => Some(n),
                    _ => None,
                }),
            }
        };
        match n {
            Some(n) => {
                at += n;
                ends.push(at);
            }
            None => {
                ends.push(bytes.len());
                break;
            }
        }
    }
    ends
}

struct Packet {
    ts_us: u64,
    data: Vec<u8>,
    comment: Option<String>,
}

/// One way's pieces: (start, end, index of the chunk holding the last byte).
fn pieces(c: &Connection, way: Way) -> Vec<(usize, usize, usize)> {
    let mut bytes = Vec::new();
    let mut chunk_end = Vec::new();
    for (i, k) in c.chunks.iter().enumerate() {
        if k.way == way && !k.raw.is_empty() {
            bytes.extend_from_slice(&k.raw);
            chunk_end.push((bytes.len(), i));
        }
    }
    let mut out = Vec::new();
    let mut start = 0;
    for end in frame_ends(&c.protocol, way, &bytes) {
        let mut a = start;
        while a < end {
            let b = end.min(a + MAX_SEGMENT);
            let chunk = chunk_end
                .iter()
                .find(|(e, _)| *e >= b)
                .map_or(0, |(_, i)| *i);
            out.push((a, b, chunk));
            a = b;
        }
        start = end;
    }
    out
}

fn connection(r: &CaseResult, c: &Connection, out: &mut Vec<Packet>) {
    let (Ok(local), Ok(remote)) = (
        c.local.parse::<SocketAddr>(),
        c.remote.parse::<SocketAddr>(),
    ) else {
        return;
    };
    let at = |t_ms: f64| r.started_us + (t_ms.max(0.0) * 1000.0).round() as u64;
    let bytes_of = |way: Way| -> Vec<u8> {
        c.chunks
            .iter()
            .filter(|k| k.way == way)
            .flat_map(|k| k.raw.iter().copied())
            .collect()
    };
    let seed = crate::runner::vars::fnv(format!("{}/{}", r.id, c.id).as_bytes());
    let mut next = [seed as u32, (seed >> 32) as u32]; // [client, server] next sequence numbers
    let side = |w: Way| usize::from(w == Way::Recv);
    let mut emit = |way: Way, t_ms: f64, flags: Flags, payload: &[u8], comment: Option<String>| {
        let me = side(way);
        let (src, dst) = if way == Way::Send {
            (local, remote)
        } else {
            (remote, local)
        };
        let ack = if flags.syn && way == Way::Send {
            None
        } else {
            Some(next[1 - me])
        };
        if let Some(data) = tcp_packet(src, dst, next[me], ack, flags, payload) {
            out.push(Packet {
                ts_us: at(t_ms),
                data,
                comment,
            });
        }
        let used = payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin);
        next[me] = next[me].wrapping_add(used);
    };
    let syn = Flags {
        syn: true,
        ..Flags::default()
    };
    let comment = format!(
        "{} · {} · {} to {}{}",
        r.id,
        c.actor,
        c.protocol,
        c.peer,
        if c.truncated { " (truncated)" } else { "" }
    );
    emit(Way::Send, c.t_ms, syn, &[], Some(comment));
    emit(Way::Recv, c.t_ms, syn, &[], None);
    emit(Way::Send, c.t_ms, Flags::default(), &[], None);
    // Every data piece and FIN, ordered by the read or write that completed it.
    let mut events: Vec<(usize, Way, Option<Span>)> = Vec::new();
    for way in [Way::Send, Way::Recv] {
        for (a, b, chunk) in pieces(c, way) {
            events.push((chunk, way, Some((a, b))));
        }
    }
    for (i, k) in c.chunks.iter().enumerate() {
        if k.fin {
            events.push((i, k.way, None));
        }
    }
    events.sort_by_key(|(chunk, _, piece)| (*chunk, piece.is_none()));
    let streams = [bytes_of(Way::Send), bytes_of(Way::Recv)];
    for (chunk, way, piece) in events {
        let t_ms = c.chunks.get(chunk).map_or(c.t_ms, |k| k.t_ms);
        match piece {
            Some((a, b)) => emit(
                way,
                t_ms,
                Flags {
                    psh: true,
                    ..Flags::default()
                },
                &streams[side(way)][a..b],
                None,
            ),
            None => {
                emit(
                    way,
                    t_ms,
                    Flags {
                        fin: true,
                        ..Flags::default()
                    },
                    &[],
                    None,
                );
                // The other side acknowledges the FIN.
                let other = if way == Way::Send {
                    Way::Recv
                } else {
                    Way::Send
                };
                emit(other, t_ms, Flags::default(), &[], None);
            }
        }
    }
}

/// Bytes `start..end` of one way.
type Span = (usize, usize);

#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    syn: bool,
    fin: bool,
    psh: bool,
}

fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    flags: Flags,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let ip = match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            PacketBuilder::ipv4(s.ip().octets(), d.ip().octets(), TTL)
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            PacketBuilder::ipv6(s.ip().octets(), d.ip().octets(), TTL)
        }
        _ => return None,
    };
    let mut b = ip.tcp(src.port(), dst.port(), seq, WINDOW);
    if let Some(a) = ack {
        b = b.ack(a);
    }
    if flags.syn {
        b = b.syn();
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.psh {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).ok()?;
    Some(out)
}

/// The length of the HTTP message at the start of `buf` (a request when `way` is `Send`):
/// the head, and with `body` the body its `Content-Length` or chunked coding gives.
fn http_message(buf: &[u8], way: Way, body: bool) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let (head, hs): (usize, &[httparse::Header<'_>]) = if way == Way::Send {
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf).ok()? {
            httparse::Status::Complete(n) => (n, req.headers),
            httparse::Status::Partial => return None,
        }
    } else {
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(buf).ok()? {
            httparse::Status::Complete(n) => (n, resp.headers),
            httparse::Status::Partial => return None,
        }
    };
    if !body {
        return Some(head);
    }
    let value = |name: &str| {
        hs.iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    if value("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut at = head;
        loop {
            let (used, size) = match httparse::parse_chunk_size(buf.get(at..)?).ok()? {
                httparse::Status::Complete(x) => x,
                httparse::Status::Partial => return None,
            };
            at += used + usize::try_from(size).ok()? + 2;
            if size == 0 {
                // The last chunk; no trailers in what imspec's peers send.
                return (at <= buf.len()).then_some(at);
            }
        }
    }
    let len = match value("Content-Length") {
        Some(v) => v.trim().parse::<usize>().ok()?,
        None => 0,
    };
    (head + len <= buf.len()).then_some(head + len)
}

/// The length of the WebSocket frame at the start of `buf`.
fn ws_frame(buf: &[u8]) -> Option<usize> {
    let mut cur = Cursor::new(buf);
    let (_, len) = FrameHeader::parse(&mut cur).ok()??;
    let total = usize::try_from(cur.position()).ok()? + usize::try_from(len).ok()?;
    (total <= buf.len()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Chunk, Direction, WireEntry};
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn chunk(t_ms: f64, way: Way, raw: &[u8]) -> Chunk {
        Chunk {
            t_ms,
            way,
            raw: raw.to_vec(),
            fin: false,
        }
    }

    fn case() -> CaseResult {
        let msnp = Connection {
            id: 1,
            actor: "alice".into(),
            protocol: "msnp".into(),
            peer: "msnp".into(),
            local: "127.0.0.1:40000".into(),
            remote: "127.0.0.1:1863".into(),
            t_ms: 1.0,
            chunks: vec![
                chunk(2.0, Way::Send, b"VER 1 CON 0\r\n"),
                // Two commands in one read, then one cut over two reads.
                chunk(3.0, Way::Recv, b"VER 1 CON 0\r\nCVR 2 CON 0\r\nPNG"),
                chunk(4.0, Way::Recv, b" 3 CON 0\r\n"),
                Chunk {
                    t_ms: 5.0,
                    fin: true,
                    ..Chunk::default()
                },
            ],
            truncated: false,
        };
        let http = Connection {
            id: 2,
            actor: "bob".into(),
            protocol: "http".into(),
            peer: "msnp-gateway".into(),
            local: "127.0.0.1:40001".into(),
            remote: "127.0.0.1:8080".into(),
            t_ms: 6.0,
            chunks: vec![
                chunk(
                    7.0,
                    Way::Send,
                    b"POST /g HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
                ),
                chunk(
                    8.0,
                    Way::Recv,
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                ),
            ],
            truncated: false,
        };
        let frame = |dir, text: &str| WireEntry {
            actor: "alice".into(),
            dir,
            text: text.into(),
            conn: Some(1),
            ..WireEntry::default()
        };
        CaseResult {
            id: "msnp/001".into(),
            started_us: 1_700_000_000_000_000,
            actors: [("alice".to_owned(), "msnp".to_owned())]
                .into_iter()
                .collect(),
            wire: vec![
                frame(Direction::SEND, "VER"),
                frame(Direction::RECV, "VER"),
                frame(Direction::RECV, "CVR"),
                // The PNG arrived after the case stopped reading: on the wire, not in the log.
            ],
            connections: vec![msnp, http],
            ..CaseResult::default()
        }
    }

    /// (src port, seq, ack, syn, fin, payload) of every packet, via etherparse's reader.
    fn packets(file: &[u8]) -> Vec<(u16, u32, u32, bool, bool, Vec<u8>)> {
        super::super::pcapng::tests::blocks(file)
            .into_iter()
            .filter(|(k, _)| *k == 6)
            .map(|(_, body)| {
                let len = u32::from_le_bytes(body[12..16].try_into().unwrap()) as usize;
                let p = SlicedPacket::from_ip(&body[20..20 + len]).unwrap();
                assert!(matches!(p.net, Some(NetSlice::Ipv4(_))));
                let Some(TransportSlice::Tcp(t)) = p.transport else {
                    panic!("not TCP")
                };
                (
                    t.source_port(),
                    t.sequence_number(),
                    t.acknowledgment_number(),
                    t.syn(),
                    t.fin(),
                    t.payload().to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn pcap_one_frame_per_packet_with_consistent_seq_and_ack() {
        let file = render(&[case()]);
        let p = packets(&file);
        let msnp: Vec<_> = p.iter().filter(|x| x.0 == 40000 || x.0 == 1863).collect();
        let payloads: Vec<&[u8]> = msnp
            .iter()
            .filter(|x| !x.5.is_empty())
            .map(|x| x.5.as_slice())
            .collect();
        assert_eq!(
            payloads,
            [
                &b"VER 1 CON 0\r\n"[..],
                b"VER 1 CON 0\r\n",
                b"CVR 2 CON 0\r\n",
                b"PNG 3 CON 0\r\n"
            ]
        );
        // Handshake, then every segment's seq follows its side's bytes and acks the other's.
        let (c0, s0) = (msnp[0].1, msnp[1].1);
        assert!(msnp[0].3 && msnp[1].3 && msnp[1].2 == c0 + 1);
        let (mut c, mut s) = (c0 + 1, s0 + 1);
        for x in &msnp[2..] {
            if x.0 == 40000 {
                assert_eq!((x.1, x.2), (c, s));
                c += x.5.len() as u32 + u32::from(x.4);
            } else {
                assert_eq!((x.1, x.2), (s, c));
                s += x.5.len() as u32 + u32::from(x.4);
            }
        }
        assert_eq!(msnp.iter().filter(|x| x.4).count(), 1, "the server's FIN");
        let http: Vec<&[u8]> = p
            .iter()
            .filter(|x| (x.0 == 40001 || x.0 == 8080) && !x.5.is_empty())
            .map(|x| x.5.as_slice())
            .collect();
        assert_eq!(http.len(), 2);
        assert!(http[1].ends_with(b"0\r\n\r\n"));
    }

    #[test]
    fn pcap_frame_counts_follow_the_recorded_bytes_and_http_messages() {
        let counts = frame_counts(&[case()]);
        // Four MSNP commands on the wire, one of them never read into the wire log.
        assert_eq!(counts.get("msnp"), Some(&4));
        assert_eq!(counts.get("http"), Some(&2));
    }

    #[test]
    fn pcap_frame_counts_websocket_data_frames_not_the_handshake_or_control_frames() {
        let mut down = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        down.extend_from_slice(b"\x82\x02hi\x89\x00\x81\x01!\x88\x00");
        let ws = Connection {
            id: 1,
            actor: "alice".into(),
            protocol: "websocket".into(),
            peer: "leancloud".into(),
            local: "127.0.0.1:40002".into(),
            remote: "127.0.0.1:8081".into(),
            t_ms: 0.0,
            chunks: vec![
                chunk(
                    1.0,
                    Way::Send,
                    b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
                ),
                chunk(2.0, Way::Recv, &down),
            ],
            truncated: false,
        };
        let r = CaseResult {
            connections: vec![ws],
            ..CaseResult::default()
        };
        let counts = frame_counts(&[r]);
        assert_eq!(
            counts.get("websocket"),
            Some(&2),
            "binary and text, not ping or close"
        );
        assert_eq!(
            counts.get("http"),
            Some(&2),
            "the upgrade request and its 101"
        );
    }

    #[test]
    fn pcap_frame_ends_cut_websocket_after_its_upgrade_and_keep_unparsable_rest() {
        let mut bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let head = bytes.len();
        bytes.extend_from_slice(b"\x82\x02hi\x81\x01!");
        assert_eq!(
            frame_ends("websocket", Way::Recv, &bytes),
            [head, head + 4, head + 7]
        );
        assert_eq!(
            frame_ends("msnp", Way::Recv, b"PNG 1 CON 0\r\n\xff\xff"),
            [13, 15]
        );
        assert!(frame_ends("sip", Way::Send, b"").is_empty());
    }
}
