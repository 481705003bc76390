//! Raw bytes into the SDP decoder (RFC 8866, `imspec_codec::sip::sdp`), strict and lenient,
//! and the body of every SIP message the same way: no panic; the lenient reader agrees with
//! the strict one wherever that accepts; a strictly valid description writes back byte for
//! byte; any decoded description writes back (CRLF) to bytes that decode equal, of
//! `encoded_len` bytes; the media accessors (RFC 4975 `a=path`, `a=accept-types`) never panic.
#![no_main]

use imspec_codec::Status;
use imspec_codec::sip::{self, sdp::Limits, sdp::SessionDescription};
use libfuzzer_sys::fuzz_target;

fn check(body: &[u8]) {
    let lenient = SessionDescription::parse_with(body, &Limits::lenient());
    if let Ok(strict) = SessionDescription::parse(body) {
        assert_eq!(lenient.as_ref(), Ok(&strict), "lenient differs");
        assert_eq!(
            strict.to_bytes(),
            body,
            "strict SDP not written back as read"
        );
    }
    if let Ok(sd) = lenient {
        let bytes = sd.to_bytes();
        assert_eq!(sd.encoded_len(), bytes.len());
        assert_eq!(
            SessionDescription::parse_with(&bytes, &Limits::lenient()).as_ref(),
            Ok(&sd)
        );
        for m in sd.media() {
            let _ = (
                m.path(),
                m.accept_types(),
                m.accepts("message", "cpim"),
                m.is_msrp_tcp(),
            );
        }
        let _ = sd.session_lines();
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(Status::Complete((msg, _))) = sip::parse_with(data, &sip::Limits::lenient()) {
        check(&msg.body);
    }
});
