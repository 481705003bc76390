//! The little SDP the MSRP mailbox needs (RFC 4566 lines, RFC 4975 §8 media): find an
//! `m=message … TCP/MSRP` offer with its `a=path` and `a=accept-types`, and write the answer.

/// What the client offered for its MSRP session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Offer {
    /// The `a=path:` value: the client's MSRP URIs, space-separated, as written.
    pub(crate) path: String,
    /// The `a=accept-types:` media types (`*` for any).
    pub(crate) accept_types: Vec<String>,
}

impl Offer {
    /// Whether the client takes `message/cpim` (listed, `message/*` or `*`).
    pub(crate) fn accepts_cpim(&self) -> bool {
        self.accept_types.iter().any(|t| {
            t == "*"
                || t.eq_ignore_ascii_case("message/cpim")
                || t.eq_ignore_ascii_case("message/*")
        })
    }
}

/// The first `m=message <port> TCP/MSRP <fmt>` section of `body` with its media-level
/// `a=path` (required) and `a=accept-types`. `TCP/TLS/MSRP` is not offered back: the mailbox
/// listens on plain TCP only, so such an offer finds nothing (the caller answers 488).
pub(crate) fn parse_offer(body: &str) -> Option<Offer> {
    let mut in_msrp = false;
    let mut path = None;
    let mut accept_types = Vec::new();
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(media) = line.strip_prefix("m=") {
            if in_msrp {
                break;
            }
            let mut words = media.split_ascii_whitespace();
            let (kind, _port, proto) = (words.next(), words.next(), words.next());
            in_msrp = kind == Some("message")
                && proto.is_some_and(|p| p.eq_ignore_ascii_case("TCP/MSRP"));
            continue;
        }
        if !in_msrp {
            continue;
        }
        if let Some(p) = line.strip_prefix("a=path:") {
            let p = p.trim();
            if !p.is_empty() {
                path = Some(p.to_owned());
            }
        } else if let Some(t) = line.strip_prefix("a=accept-types:") {
            accept_types = t.split_ascii_whitespace().map(str::to_owned).collect();
        }
    }
    Some(Offer {
        path: path?,
        accept_types,
    })
}

/// The SDP answer: one `m=message` section whose `a=path` is `path` (`msrp://host:port/id;tcp`
/// on the MSRP listener `host:port`).
pub(crate) fn answer(session: &str, host: &str, port: &str, path: &str) -> String {
    let ip = if host.contains(':') { "IP6" } else { "IP4" };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    format!(
        "v=0\r\no=imspec {session} 1 IN {ip} {host}\r\ns=-\r\nc=IN {ip} {host}\r\nt=0 0\r\nm=message {port} TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\na=path:{path}\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_sdp_offer_is_found_in_its_media_section() {
        let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=path:msrp://wrong\r\nm=message 7654 TCP/MSRP *\r\na=accept-types:text/plain message/cpim\r\na=path:msrp://127.0.0.1:7654/jshA7weztas;tcp\r\n";
        let offer = parse_offer(body).unwrap();
        assert_eq!(offer.path, "msrp://127.0.0.1:7654/jshA7weztas;tcp");
        assert!(offer.accepts_cpim());
        let plain = parse_offer(
            "m=message 9 TCP/MSRP *\na=accept-types:text/plain\na=path:msrp://h:1/s;tcp\n",
        )
        .unwrap();
        assert!(!plain.accepts_cpim());
        assert_eq!(
            parse_offer("m=message 9 TCP/TLS/MSRP *\r\na=path:msrps://h:1/s;tcp\r\n"),
            None
        );
        assert_eq!(parse_offer("m=message 9 TCP/MSRP *\r\n"), None, "no a=path");
        assert_eq!(
            parse_offer("m=audio 9 RTP/AVP 0\r\na=path:msrp://h:1/s;tcp\r\n"),
            None
        );
    }

    #[test]
    fn sip_sdp_answer_names_the_listener() {
        let a = answer("42", "127.0.0.1", "2855", "msrp://127.0.0.1:2855/abc;tcp");
        assert!(a.contains("\r\nc=IN IP4 127.0.0.1\r\n"));
        assert!(a.contains("\r\nm=message 2855 TCP/MSRP *\r\n"));
        assert!(a.ends_with("a=path:msrp://127.0.0.1:2855/abc;tcp\r\n"));
        assert_eq!(
            parse_offer(&a).unwrap().path,
            "msrp://127.0.0.1:2855/abc;tcp"
        );
        assert!(answer("1", "[::1]", "9", "p").contains("IN IP6 ::1"));
    }
}
