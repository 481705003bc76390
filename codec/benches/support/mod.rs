//! What the `codec`, `paired` and `instructions` benches share: seed 000's MSGR document,
//! seed 004's relayed `M`, and the baselines they are measured against.

use std::hint::black_box;

use quick_xml::events::Event;

/// Seed 000's `<recentconversations-response>`, restored (escaped `<content>`, thread id).
#[allow(dead_code)] // `instructions` does not use it
pub(crate) const RECENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/msgr/valid/seed000-recentconversations-response.xml"
));

/// quick-xml's own event loop over `doc`: every event read, every text and reference touched.
#[allow(dead_code)] // `instructions` does not use it
pub(crate) fn raw_events(doc: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut touched = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return touched,
            Ok(Event::Text(t)) => touched += black_box(t.xml10_content()).len(),
            Ok(Event::GeneralRef(r)) => touched += black_box(r.len()),
            Ok(Event::Start(s) | Event::Empty(s)) => touched += s.name().as_ref().len(),
            Ok(_) => touched += 1,
        }
    }
}

/// Seed 004's relayed `M` (restored): the frame a chat client reads most.
pub(crate) const RELAYED_M: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/fetion/valid/seed004-14-message-relayed.sipc"
));

/// The baseline: the same framing job done with httparse. The start line is cut at its LF,
/// `httparse::parse_headers` splits the header block, `L:` is read and the body sliced.
/// Returns the frame length, like `sipc::parse`.
pub(crate) fn httparse_split(buf: &[u8]) -> Option<usize> {
    let line_end = memchr::memchr(b'\n', buf)? + 1;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let httparse::Status::Complete((head_len, headers)) =
        httparse::parse_headers(&buf[line_end..], &mut headers).ok()?
    else {
        return None;
    };
    let body_len = headers
        .iter()
        .find(|h| h.name == "L")
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let end = line_end + head_len + body_len;
    (end <= buf.len()).then_some(end)
}

/// The floor: a bare scan for every CRLF of the head, up to the blank line; no checks, no
/// output. Returns the head length.
#[allow(dead_code)] // `paired` does not use it
pub(crate) fn line_scan(buf: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(rel) = memchr::memchr(b'\n', &buf[pos..]) {
        let line_start = pos;
        pos += rel + 1;
        if pos - line_start == 2 {
            break;
        }
    }
    pos
}

/// Where the blank line that ends the head starts (the end of the text `sipc::parse`
/// validates as UTF-8).
#[allow(dead_code)] // only `instructions` uses it
pub(crate) fn head_len(buf: &[u8]) -> usize {
    memchr::memmem::find(buf, b"\r\n\r\n").map_or(buf.len(), |p| p + 2)
}
