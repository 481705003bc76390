//! Raw bytes into the MSRP decoder, strict and lenient: no panic, laws 1–2 on success, sampled
//! proper prefixes of an accepted chunk incomplete (law 3: the end-line search must never
//! complete early), and the typed header accessors never panic.
//!
//! Unlike the other `*_parse` targets this one does not ask that leniency change nothing on
//! strictly valid input: with bare LFs allowed, a body holding `LF -------<tid>$` (legal
//! data for the strict decoder, whose end-line needs a CRLF before it) ends the chunk early.
//! Each configuration gets its own fixpoint instead.
#![no_main]

use imspec_codec::Status;
use imspec_codec::msrp;
use imspec_codec::testing::{self, Msrp, MsrpLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (lenient, limits) in [
        (false, msrp::Limits::default()),
        (true, msrp::Limits::lenient()),
    ] {
        let checked = if lenient {
            testing::fixpoint::<MsrpLenient>(data)
        } else {
            testing::fixpoint::<Msrp>(data)
        };
        let n = match checked {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) => panic!("{e}"),
        };
        let prefixes = if lenient {
            imspec_fuzz::prefixes_incomplete::<MsrpLenient>(&data[..n])
        } else {
            imspec_fuzz::prefixes_incomplete::<Msrp>(&data[..n])
        };
        if let Err(e) = prefixes {
            panic!("{e}");
        }
        let Ok(Status::Complete((chunk, _))) = msrp::parse_with(data, &limits) else {
            panic!("fixpoint accepted a chunk that parse_with now refuses");
        };
        let _ = (
            chunk.to_path(),
            chunk.from_path(),
            chunk.message_id(),
            chunk.byte_range(),
        );
        let _ = (
            chunk.status_header(),
            chunk.success_report(),
            chunk.failure_report(),
        );
        let _ = chunk.content_type();
        if let Some(body) = &chunk.body {
            assert!(
                msrp::can_carry(&chunk.transaction, body),
                "a decoded body holds its end-line"
            );
        }
    }
});
