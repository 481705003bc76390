//! Property tests of the round-trip laws (see `imspec_codec::testing`) for every frame
//! type. Raise the case count with `PROPTEST_CASES` in a longer job.

use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::sipc::{Message, Method, Version};
use imspec_codec::testing::{self, Msnp, Sipc};
use imspec_codec::{Headers, msnp};
use proptest::prelude::*;

fn header_value() -> impl Strategy<Value = String> {
    // Any UTF-8 without line breaks, including leading and trailing spaces and non-ASCII.
    "[^\r\n]{0,24}"
}

fn headers(name: &'static str) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            name.prop_filter("not L", |n: &String| !n.eq_ignore_ascii_case("L")),
            header_value(),
        ),
        0..8,
    )
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V2), Just(Version::V4)]
}

fn sipc_message() -> impl Strategy<Value = Message<'static>> {
    let request = (
        prop_oneof![
            Just("R"),
            Just("S"),
            Just("M"),
            Just("I"),
            Just("A"),
            Just("B"),
            Just("O"),
            Just("IN"),
            Just("BN"),
            Just("SUB"),
            Just("XYZ")
        ],
        "[a-z0-9.@:;=]{1,20}",
        version(),
    )
        .prop_map(|(m, t, v)| {
            Message::request(Method::new(m.to_owned()).unwrap_or(Method::MESSAGE), t, v)
        });
    let response =
        (version(), 100u16..1000, "[ -~]{0,20}").prop_map(|(v, s, r)| Message::response(v, s, r));
    (
        prop_oneof![request, response],
        headers("[A-Z]{1,2}"),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(mut msg, hs, body)| {
            for (n, v) in hs {
                msg.headers.push(n, v);
            }
            msg.set_body(body);
            msg
        })
}

fn msnp_command() -> impl Strategy<Value = msnp::Command<'static>> {
    (
        prop_oneof!["[A-Z]{3}", "[0-9]{3}"],
        proptest::option::of(any::<u32>()),
        proptest::option::of("[A-Z][A-Z0-9]{0,5}(\\\\[A-Z][A-Z0-9]{0,12})?"),
        prop::collection::vec(any::<u8>(), 0..96),
    )
        .prop_map(|(verb, trid, target, payload)| msnp::Command {
            verb: verb.into(),
            trid,
            target: target.map(Into::into),
            payload: payload.into(),
        })
}

fn block(first: &'static [&'static str]) -> impl Strategy<Value = Headers<'static>> {
    (prop::sample::select(first), headers("[A-Z][A-Za-z-]{0,15}")).prop_map(|(first, rest)| {
        let mut h = Headers::new();
        h.push(first, "1.0");
        for (n, v) in rest {
            if !n.eq_ignore_ascii_case("Content-Length") {
                h.push(n, v);
            }
        }
        h
    })
}

fn layered() -> impl Strategy<Value = Layered<'static>> {
    (
        proptest::option::of(headers("[A-Z][A-Za-z-]{0,15}")),
        block(&["Routing"]),
        block(&["Reliability"]),
        block(&["Messaging", "Publication", "Notification"]),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(
            |(outer, routing, reliability, service, body, trailing_crlf)| {
                // An outer block must not itself start with `Routing:`, or the payload would read as MSNP21.
                let outer = outer.map(|hs| {
                    Headers(
                        hs.into_iter()
                            .filter(|(n, _)| !n.eq_ignore_ascii_case("Routing"))
                            .map(|(n, v)| imspec_codec::Header::new(n, v))
                            .collect(),
                    )
                });
                let mut l = Layered {
                    outer,
                    routing,
                    reliability,
                    service,
                    body: Vec::new().into(),
                    trailing_crlf,
                };
                l.set_body(body);
                l
            },
        )
}

proptest! {
    #[test]
    fn sipc_value_round_trip(msg in sipc_message()) {
        testing::value_round_trip::<Sipc>(&msg).map_err(TestCaseError::fail)?;
        testing::prefixes_incomplete::<Sipc>(&msg.to_bytes()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msnp_value_round_trip(cmd in msnp_command()) {
        testing::value_round_trip::<Msnp>(&cmd).map_err(TestCaseError::fail)?;
        testing::prefixes_incomplete::<Msnp>(&cmd.to_bytes()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msnp_layered_round_trip(l in layered()) {
        let bytes = l.to_bytes();
        prop_assert_eq!(l.encoded_len(), bytes.len());
        prop_assert_eq!(Layered::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, l);
    }

    #[test]
    fn msnp_payload_round_trip(hs in headers("[A-Z][A-Za-z-]{0,15}"), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let p = Payload::new(Headers(hs.into_iter().map(|(n, v)| imspec_codec::Header::new(n, v)).collect()), body);
        let bytes = p.to_bytes();
        prop_assert_eq!(p.encoded_len(), bytes.len());
        prop_assert_eq!(Payload::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?, p);
    }

    /// `parse_both` reads what `Payload::parse` and `Layered::parse` read, apart: on layered
    /// payloads, on them cut or with a byte changed, and on loose bytes.
    #[test]
    fn msnp_parse_both_is_both_parses(l in layered(), cut in 0usize..512, flip in any::<u8>(), noise in prop::collection::vec(any::<u8>(), 0..48)) {
        let mut bytes = l.to_bytes();
        let at = cut % (bytes.len() + 1);
        if at < bytes.len() {
            bytes[at] ^= flip;
        }
        for b in [&bytes[..at], &bytes[..], &noise[..]] {
            let both = imspec_codec::msnp::payload::parse_both(b);
            prop_assert_eq!(&both.0, &Payload::parse(b), "{:?}", String::from_utf8_lossy(b));
            prop_assert_eq!(&both.1, &Layered::parse(b), "{:?}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn sipc_stream_chunking(msgs in prop::collection::vec(sipc_message(), 1..5), cuts in prop::collection::vec(0usize..2048, 0..12), tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut stream: Vec<u8> = msgs.iter().flat_map(Message::to_bytes).collect();
        stream.extend(tail);
        testing::chunking::<Sipc>(&stream, &cuts).map_err(TestCaseError::fail)?;
        let (frames, _) = testing::decode_chunked::<Sipc>(&stream, &cuts);
        prop_assert!(frames.len() >= msgs.len());
    }

    #[test]
    fn msnp_stream_chunking(cmds in prop::collection::vec(msnp_command(), 1..5), cuts in prop::collection::vec(0usize..1024, 0..12), tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut stream: Vec<u8> = cmds.iter().flat_map(msnp::Command::to_bytes).collect();
        stream.extend(tail);
        testing::chunking::<Msnp>(&stream, &cuts).map_err(TestCaseError::fail)?;
        let (frames, _) = testing::decode_chunked::<Msnp>(&stream, &cuts);
        prop_assert!(frames.len() >= cmds.len());
    }

    #[test]
    fn sipc_arbitrary_bytes_never_panic_and_fixpoint_holds(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        testing::fixpoint::<Sipc>(&bytes).map_err(TestCaseError::fail)?;
        testing::fixpoint::<testing::SipcLenient>(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn msnp_arbitrary_bytes_never_panic_and_fixpoint_holds(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        testing::fixpoint::<Msnp>(&bytes).map_err(TestCaseError::fail)?;
        testing::fixpoint::<testing::MsnpLenient>(&bytes).map_err(TestCaseError::fail)?;
    }
}
