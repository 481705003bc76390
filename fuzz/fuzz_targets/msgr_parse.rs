//! Raw bytes into the MSGR XML document decoder (lenient and strict): no panic, and law 4
//! on success: the re-encoded document decodes to the same value.
#![no_main]

use imspec_codec::msnp::msgr::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limits in [
        Limits::default(),
        Limits {
            allow_markup_in_content: true,
            ..Limits::default()
        },
    ] {
        let Ok(doc) = msgr::parse_document_bytes(data, &limits) else {
            continue;
        };
        let mut out = Vec::new();
        doc.encode(&mut out);
        match msgr::parse_document_bytes(&out, &Limits::default()) {
            Ok(back) if back == doc => {}
            other => panic!(
                "re-encoded document differs\n doc:  {doc:?}\n back: {other:?}\n text: {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
});
