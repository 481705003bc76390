//! Law 4 for generated MSGR documents: the encoding decodes, strictly and leniently, to the
//! same document.
#![no_main]

use imspec_codec::msnp::msgr::{self, Document, Limits};
use imspec_fuzz::{Repro, Wire};
use libfuzzer_sys::{Corpus, fuzz_target};

fuzz_target!(|d: Repro<Document<'_>>| -> Corpus {
    let bytes = d.0.wire();
    // The derived generator writes any `String`; XML 1.0 cannot carry control characters
    // other than TAB, LF and CR (the encoder escapes CR), even as references.
    if bytes
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n'))
    {
        return Corpus::Reject;
    }
    for limits in [Limits::default(), Limits::lenient()] {
        match msgr::parse_document_bytes(&bytes, &limits) {
            Ok(back) if back == d.0 => {}
            other => panic!("re-decoding differs: {other:?}"),
        }
    }
    Corpus::Keep
});
