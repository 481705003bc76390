//! Property tests of the round-trip laws (see `imspec_codec::testing`) for SIP messages,
//! RFC 3842 message-summary bodies and MSRP chunks. Raise the case count with
//! `PROPTEST_CASES` in a longer job.

use imspec_codec::msrp::{self, Chunk, Flag};
use imspec_codec::sip::message_summary::{self, Class, MessageSummary, Summary};
use imspec_codec::sip::{self, Message, Method};
use imspec_codec::testing::{self, Msrp, MsrpLenient, Sip, SipLenient};
use imspec_codec::{Header, Headers, Status};
use proptest::prelude::*;

fn header_value() -> impl Strategy<Value = String> {
    // Any UTF-8 without line breaks, including leading and trailing white space.
    "[^\r\n]{0,24}"
}

/// RFC 3261 token names, neither `Content-Length` nor its compact `l`.
fn sip_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("Via".to_owned()),
                Just("v".to_owned()),
                Just("Call-ID".to_owned()),
                Just("i".to_owned()),
                Just("CSeq".to_owned()),
                Just("From".to_owned()),
                Just("To".to_owned()),
                Just("Event".to_owned()),
                "[A-Za-z][A-Za-z0-9.!%*_+`'~-]{0,15}",
            ]
            .prop_filter("not a Content-Length", |n: &String| {
                !sip::header::same_name(n, "Content-Length")
            }),
            header_value(),
        ),
        0..8,
    )
}

fn sip_message() -> impl Strategy<Value = Message<'static>> {
    let request = (
        prop_oneof![
            Just("MESSAGE".to_owned()),
            Just("REGISTER".to_owned()),
            Just("SUBSCRIBE".to_owned()),
            Just("NOTIFY".to_owned()),
            Just("PUBLISH".to_owned()),
            "[A-Za-z0-9.!%*_+`'~-]{1,10}",
        ],
        "(sip|sips|tel|msrp)(:[!-~]{1,24})",
    )
        .prop_map(|(m, uri)| Message::request(Method::new(m).unwrap_or(Method::OPTIONS), uri));
    let response = (100u16..1000, "[ -~\u{a0}-\u{17f}]{0,20}")
        .prop_map(|(status, reason)| Message::response(status, reason));
    (
        prop_oneof![request, response],
        sip_headers(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(mut msg, hs, compact, body)| {
            for (n, v) in hs {
                msg.headers.push(n, v);
            }
            if compact {
                msg.headers.push("l", "0");
            }
            msg.set_body(body);
            msg
        })
}

/// The same message with some header lines in the other RFC 3261 forms the lenient decoder
/// accepts: no space after the colon, white space before it, a value folded at a single
/// space or right after the colon.
fn loosened(msg: &Message<'_>, choices: &[u8]) -> Vec<u8> {
    let canonical = msg.to_bytes();
    let head_end = canonical
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(canonical.len(), |p| p + 2);
    let first_line = canonical
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |p| p + 2);
    let mut out = canonical[..first_line].to_vec();
    for (i, h) in msg.headers.iter().enumerate() {
        let v = h.value.as_ref();
        let plain = !v.starts_with([' ', '\t']) && !v.is_empty();
        let single_space = v
            .char_indices()
            .find(|&(at, c)| {
                c == ' '
                    && at > 0
                    && !v[..at].ends_with([' ', '\t'])
                    && !v[at + 1..].starts_with([' ', '\t'])
                    && at + 1 < v.len()
            })
            .map(|(at, _)| at);
        let line = match (
            choices.get(i).copied().unwrap_or(0) % 5,
            plain,
            single_space,
        ) {
            (1, true, _) => format!("{}:{v}", h.name),
            (2, _, _) => format!("{} \t: {v}", h.name),
            (3, _, Some(at)) => format!("{}: {}\r\n {}", h.name, &v[..at], &v[at + 1..]),
            (4, true, _) => format!("{}:\r\n\t{v}", h.name),
            _ => format!("{}: {v}", h.name),
        };
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&canonical[head_end..]);
    out
}

fn class() -> impl Strategy<Value = Class> {
    prop::sample::select(Class::ALL.to_vec())
}

fn summary_body() -> impl Strategy<Value = MessageSummary<'static>> {
    let line = (
        class(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(any::<(u32, u32)>()),
    )
        .prop_map(|(class, new, old, urgent)| {
            let s = Summary::new(class, new, old);
            match urgent {
                Some((n, o)) => s.with_urgent(n, o),
                None => s,
            }
        });
    let group = prop::collection::vec(
        (
            "[A-Za-z][A-Za-z0-9-]{0,12}",
            "([!-~\u{a0}-\u{17f}]([ -~]{0,16}[!-~])?)?",
        ),
        1..4,
    )
    .prop_map(|hs| Headers(hs.into_iter().map(|(n, v)| Header::new(n, v)).collect()));
    (
        any::<bool>(),
        proptest::option::of("(sip|sips|im):[a-z0-9.@]{1,24}"),
        prop::collection::vec(line, 0..6),
        prop::collection::vec(group, 0..3),
    )
        .prop_map(|(waiting, account, summaries, extensions)| MessageSummary {
            waiting,
            account: account.map(Into::into),
            summaries,
            extensions,
        })
}

fn msrp_chunk() -> impl Strategy<Value = Chunk<'static>> {
    "[A-Za-z0-9][A-Za-z0-9.+%=-]{3,31}".prop_flat_map(|tid| {
        let near_misses = prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..16),
                Just(b"\r\n-------".to_vec()),
                Just(b"\n".to_vec()),
                Just(tid.clone().into_bytes()),
                Just(b"$".to_vec()),
                Just(b"+\r".to_vec()),
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat());
        let tid_for_filter = tid.clone();
        let start = prop_oneof![
            prop_oneof![
                Just("SEND".to_owned()),
                Just("REPORT".to_owned()),
                "[A-Z]{1,8}"
            ]
            .prop_map(|m| (Some(m), None)),
            (
                100u16..1000,
                proptest::option::of("[ -~\u{a0}-\u{17f}]{0,16}")
            )
                .prop_map(|r| (None, Some(r))),
        ];
        (
            Just(tid),
            start,
            "msrp://[a-z]{1,8}\\.example\\.com:[0-9]{1,5}/[a-z0-9]{1,10};tcp",
            "msrps?://[a-z]{1,8}\\.example\\.com:[0-9]{1,5}/[a-z0-9]{1,10};tcp",
            prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,12}", header_value()), 0..5),
            proptest::option::of(near_misses),
            prop_oneof![
                Just(Flag::Complete),
                Just(Flag::Continued),
                Just(Flag::Aborted)
            ],
        )
            .prop_filter("the body must not hold its end-line", move |c| {
                c.5.as_ref()
                    .is_none_or(|body| msrp::can_carry(&tid_for_filter, body))
            })
            .prop_map(|(tid, start, to, from, extra, body, flag)| {
                let mut chunk = match start {
                    (Some(method), _) => {
                        Chunk::request(tid, msrp::Method::new(method).unwrap_or(msrp::Method::SEND))
                    }
                    (None, Some((status, comment))) => {
                        Chunk::response(tid, status, comment.map(Into::into))
                    }
                    (None, None) => unreachable!(),
                };
                chunk = chunk
                    .with_header("To-Path", to)
                    .with_header("From-Path", from);
                for (n, v) in extra {
                    chunk = chunk.with_header(n, v);
                }
                if let (true, Some(body)) = (chunk.is_request(), body) {
                    chunk = chunk
                        .with_header("Content-Type", "text/plain")
                        .with_body(body);
                }
                chunk.with_flag(flag)
            })
    })
}

/// A message's header names and values, without the white space of their lines.
fn named_values<'m>(msg: &'m Message<'_>) -> Vec<(&'m str, &'m str)> {
    msg.headers
        .iter()
        .map(|h| (h.name.as_ref(), h.value.as_ref()))
        .collect()
}

proptest! {
    #[test]
    fn sip_value_round_trip(msg in sip_message()) {
        testing::value_round_trip::<Sip>(&msg).map_err(TestCaseError::fail)?;
        testing::prefixes_incomplete::<Sip>(&msg.to_bytes()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn sip_lenient_forms_decode_to_the_same_names_and_values(msg in sip_message(), choices in prop::collection::vec(any::<u8>(), 16)) {
        let wire = loosened(&msg, &choices);
        match sip::parse_with(&wire, &sip::Limits::lenient()) {
            Ok(Status::Complete((back, n))) => {
                prop_assert_eq!(n, wire.len());
                // RFC 3261 §7.3.1: the white space around the colon is not part of the value.
                prop_assert_eq!(&back.start, &msg.start);
                prop_assert_eq!(&back.body, &msg.body);
                prop_assert_eq!(named_values(&back), named_values(&msg));
            }
            other => prop_assert!(false, "{:?} -> {:?}", String::from_utf8_lossy(&wire), other),
        }
        testing::prefixes_incomplete::<SipLenient>(&wire).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn sip_stream_chunking(msgs in prop::collection::vec(sip_message(), 1..5), keepalives in prop::collection::vec(0usize..3, 5), cuts in prop::collection::vec(0usize..2048, 0..12), tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut strict: Vec<u8> = msgs.iter().flat_map(Message::to_bytes).collect();
        strict.extend(&tail);
        testing::chunking::<Sip>(&strict, &cuts).map_err(TestCaseError::fail)?;
        let (frames, _) = testing::decode_chunked::<Sip>(&strict, &cuts);
        prop_assert!(frames.len() >= msgs.len());
        // With CRLF keep-alives between messages, only the lenient decoder skips them.
        let mut lenient = Vec::new();
        for (msg, k) in msgs.iter().zip(keepalives) {
            lenient.extend(b"\r\n".repeat(k));
            lenient.extend(msg.to_bytes());
        }
        lenient.extend(&tail);
        testing::chunking::<SipLenient>(&lenient, &cuts).map_err(TestCaseError::fail)?;
        let (frames, _) = testing::decode_chunked::<SipLenient>(&lenient, &cuts);
        prop_assert!(frames.len() >= msgs.len());
    }

    #[test]
    fn sip_arbitrary_bytes_never_panic_and_fixpoint_holds(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        testing::fixpoint::<Sip>(&bytes).map_err(TestCaseError::fail)?;
        testing::fixpoint::<SipLenient>(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn sip_typed_accessors_never_panic(msg in sip_message()) {
        let _ = (msg.cseq(), msg.from(), msg.to(), msg.vias(), msg.contacts(), msg.event());
        let _ = (msg.content_type(), msg.expires(), msg.subscription_state(), msg.list("Via"));
        let _ = msg.message_summary();
    }

    #[test]
    fn message_summary_value_round_trip(s in summary_body()) {
        let bytes = s.to_bytes();
        prop_assert_eq!(s.encoded_len(), bytes.len());
        prop_assert_eq!(message_summary::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, s);
    }

    #[test]
    fn message_summary_arbitrary_text_never_panics_and_re_encodes(text in "(Messages-Waiting: (yes|no)\r\n)?([A-Za-z-]{1,18} ?: ?[0-9 /()a-z:@.]{0,16}\r?\n?){0,6}") {
        for limits in [message_summary::Limits::default(), message_summary::Limits::lenient()] {
            if let Ok(s) = message_summary::parse_with(text.as_bytes(), &limits) {
                let bytes = s.to_bytes();
                prop_assert_eq!(message_summary::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, s);
            }
        }
    }

    #[test]
    fn msrp_value_round_trip(chunk in msrp_chunk()) {
        testing::value_round_trip::<Msrp>(&chunk).map_err(TestCaseError::fail)?;
        testing::prefixes_incomplete::<Msrp>(&chunk.to_bytes()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msrp_stream_chunking(chunks in prop::collection::vec(msrp_chunk(), 1..5), cuts in prop::collection::vec(0usize..2048, 0..12), tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut stream: Vec<u8> = chunks.iter().flat_map(Chunk::to_bytes).collect();
        stream.extend(tail);
        testing::chunking::<Msrp>(&stream, &cuts).map_err(TestCaseError::fail)?;
        testing::chunking::<MsrpLenient>(&stream, &cuts).map_err(TestCaseError::fail)?;
        let (frames, _) = testing::decode_chunked::<Msrp>(&stream, &cuts);
        prop_assert!(frames.len() >= chunks.len());
    }

    #[test]
    fn msrp_arbitrary_bytes_never_panic_and_fixpoint_holds(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        testing::fixpoint::<Msrp>(&bytes).map_err(TestCaseError::fail)?;
        testing::fixpoint::<MsrpLenient>(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msrp_near_valid_bytes_keep_the_laws(chunk in msrp_chunk(), at in any::<prop::sample::Index>(), byte in prop_oneof![Just(b'-'), Just(b'\r'), Just(b'\n'), Just(b'$'), any::<u8>()]) {
        // One byte of a valid chunk replaced: whatever the decoder says, it must not panic,
        // and anything it accepts obeys the fixpoint and chunking laws.
        let mut wire = chunk.to_bytes();
        let i = at.index(wire.len());
        wire[i] = byte;
        testing::fixpoint::<Msrp>(&wire).map_err(TestCaseError::fail)?;
        testing::fixpoint::<MsrpLenient>(&wire).map_err(TestCaseError::fail)?;
        let cuts: Vec<usize> = (1..wire.len()).step_by(7).collect();
        testing::chunking::<Msrp>(&wire, &cuts).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msrp_typed_accessors_never_panic(chunk in msrp_chunk()) {
        let _ = (chunk.to_path(), chunk.from_path(), chunk.message_id(), chunk.byte_range());
        let _ = (chunk.status_header(), chunk.success_report(), chunk.failure_report(), chunk.content_type());
    }
}
