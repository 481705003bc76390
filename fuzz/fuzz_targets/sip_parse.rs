//! Raw bytes into the SIP decoder, strict and lenient: no panic, laws 1–2 on success and
//! leniency changes nothing on strictly valid input (`imspec_fuzz::parse_laws`), sampled
//! proper prefixes of an accepted frame are incomplete (law 3), and the typed accessors and
//! the RFC 3842 message-summary decoder never panic; a summary they accept round-trips as a
//! value.
#![no_main]

use imspec_codec::sip::{self, message_summary};
use imspec_codec::testing::{Sip, SipLenient};
use imspec_codec::{Status, date};
use libfuzzer_sys::fuzz_target;

/// The dates of `imspec_codec::date` are fixed-width: what a parser accepts, its formatter
/// writes back exactly.
fn date_laws(text: &str) {
    if let Ok(secs) = date::parse_rfc1123(text) {
        assert_eq!(date::format_rfc1123(secs), text);
    }
    if let Ok(ms) = date::parse_iso8601_ms(text) {
        assert_eq!(date::format_iso8601_ms(ms), text);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = core::str::from_utf8(data) {
        date_laws(text);
    }
    if let Err(e) = imspec_fuzz::parse_laws::<Sip, SipLenient>(data) {
        panic!("{e}");
    }
    for (lenient, limits) in [
        (false, sip::Limits::default()),
        (true, sip::Limits::lenient()),
    ] {
        let Ok(Status::Complete((msg, n))) = sip::parse_with(data, &limits) else {
            continue;
        };
        let frame = &data[..n];
        // A lenient frame may start with skipped keep-alives; its prefixes still wait.
        let prefixes = if lenient {
            imspec_fuzz::prefixes_incomplete::<SipLenient>(frame)
        } else {
            imspec_fuzz::prefixes_incomplete::<Sip>(frame)
        };
        if let Err(e) = prefixes {
            panic!("{e}");
        }
        let _ = (msg.cseq(), msg.from(), msg.to(), msg.vias(), msg.contacts());
        let _ = (
            msg.event(),
            msg.subscription_state(),
            msg.expires(),
            msg.content_type(),
        );
        if let Some(Ok(secs)) = msg.date() {
            assert_eq!(
                Some(date::format_rfc1123(secs).as_str()),
                msg.header("Date").map(str::trim)
            );
        }
        for limits in [
            message_summary::Limits::default(),
            message_summary::Limits::lenient(),
        ] {
            if let Ok(summary) = message_summary::parse_with(&msg.body, &limits) {
                let bytes = summary.to_bytes();
                assert_eq!(summary.encoded_len(), bytes.len());
                assert_eq!(message_summary::parse(&bytes), Ok(summary));
            }
        }
        // On strictly valid input the lenient decoder gives the same frame (parse_laws).
        break;
    }
});
