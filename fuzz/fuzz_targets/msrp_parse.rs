//! Raw bytes into the MSRP decoder, strict and lenient: no panic, laws 1–2 on success, every
//! proper prefix of an accepted chunk incomplete (law 3: the end-line search must never
//! complete early), and the typed header accessors never panic.
#![no_main]

use imspec_codec::Status;
use imspec_codec::msrp;
use imspec_codec::testing::{self, Msrp, MsrpLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (strict, limits) in [(true, msrp::Limits::default()), (false, msrp::Limits::lenient())] {
        let checked = if strict {
            testing::fixpoint::<Msrp>(data)
        } else {
            testing::fixpoint::<MsrpLenient>(data)
        };
        let n = match checked {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) => panic!("{e}"),
        };
        if n <= 4096 {
            let prefixes = if strict {
                testing::prefixes_incomplete::<Msrp>(&data[..n])
            } else {
                testing::prefixes_incomplete::<MsrpLenient>(&data[..n])
            };
            if let Err(e) = prefixes {
                panic!("{e}");
            }
        }
        let Ok(Status::Complete((chunk, _))) = msrp::parse_with(data, &limits) else {
            panic!("fixpoint accepted a chunk that parse_with now refuses");
        };
        let _ = (chunk.to_path(), chunk.from_path(), chunk.message_id(), chunk.byte_range());
        let _ = (chunk.status_header(), chunk.success_report(), chunk.failure_report());
        let _ = chunk.content_type();
        if let Some(body) = &chunk.body {
            assert!(msrp::can_carry(&chunk.transaction, body), "a decoded body holds its end-line");
        }
    }
});
