//! Raw text into the SIP URI decoder (RFC 3261 §25.1, `imspec_codec::sip::Uri`), strict and
//! lenient, and every URI a SIP message carries (Request-URI, From, To, Contact) the same way:
//! no panic; the lenient reader agrees with the strict one wherever that accepts; a decoded
//! URI writes back to text that decodes equal (strict input as read, bar leading zeros of a
//! port); the accessors never panic.
#![no_main]

use imspec_codec::Status;
use imspec_codec::sip::{self, Uri, uri::Limits};
use libfuzzer_sys::fuzz_target;

fn check(text: &str) {
    let lenient = Uri::parse_with(text, &Limits::lenient());
    if let Ok(strict) = Uri::parse(text) {
        assert_eq!(lenient.as_ref(), Ok(&strict), "lenient differs on {text:?}");
        // Written back as read, but a port without its leading zeros (`:0160` is `:160`).
        let written = strict.to_string();
        assert_eq!(Uri::parse(&written).as_ref(), Ok(&strict), "{text:?}");
        assert!(
            written.len() <= text.len(),
            "{text:?} written longer: {written:?}"
        );
    }
    if let Ok(uri) = lenient {
        let written = uri.to_string();
        assert_eq!(
            Uri::parse_with(&written, &Limits::lenient()).as_ref(),
            Ok(&uri),
            "{text:?}"
        );
        let _ = (
            uri.user_unescaped(),
            uri.socket_addr(),
            uri.transport(),
            uri.lr(),
        );
        let _ = (uri.header("to"), uri.host_unbracketed(), uri.is_sips());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = core::str::from_utf8(data) {
        check(text);
    }
    let Ok(Status::Complete((msg, _))) = sip::parse_with(data, &sip::Limits::lenient()) else {
        return;
    };
    if let Some(uri) = msg.uri() {
        check(uri);
    }
    for addr in [msg.from(), msg.to()].into_iter().flatten().flatten() {
        check(&addr.uri);
    }
    for contact in msg.contacts().unwrap_or_default() {
        check(&contact.uri);
    }
});
