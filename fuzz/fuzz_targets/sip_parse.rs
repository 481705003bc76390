//! Raw bytes into the SIP decoder, strict and lenient: no panic, laws 1–2 on success, every
//! proper prefix of an accepted frame incomplete (law 3), and the typed accessors and the
//! RFC 3842 message-summary decoder never panic; a summary they accept round-trips as a value.
#![no_main]

use imspec_codec::Status;
use imspec_codec::sip::{self, message_summary};
use imspec_codec::testing::{self, Sip, SipLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (strict, limits) in [(true, sip::Limits::default()), (false, sip::Limits::lenient())] {
        let checked = if strict {
            testing::fixpoint::<Sip>(data)
        } else {
            testing::fixpoint::<SipLenient>(data)
        };
        let n = match checked {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) => panic!("{e}"),
        };
        if n <= 4096 {
            let prefixes = if strict {
                testing::prefixes_incomplete::<Sip>(&data[..n])
            } else {
                // A lenient frame may start with skipped keep-alives; its prefixes still wait.
                testing::prefixes_incomplete::<SipLenient>(&data[..n])
            };
            if let Err(e) = prefixes {
                panic!("{e}");
            }
        }
        let Ok(Status::Complete((msg, _))) = sip::parse_with(data, &limits) else {
            panic!("fixpoint accepted a frame that parse_with now refuses");
        };
        let _ = (msg.cseq(), msg.from(), msg.to(), msg.vias(), msg.contacts());
        let _ = (msg.event(), msg.subscription_state(), msg.expires(), msg.content_type());
        for limits in [message_summary::Limits::default(), message_summary::Limits::lenient()] {
            if let Ok(summary) = message_summary::parse_with(&msg.body, &limits) {
                let bytes = summary.to_bytes();
                assert_eq!(summary.encoded_len(), bytes.len());
                assert_eq!(message_summary::parse(&bytes), Ok(summary));
            }
        }
    }
});
