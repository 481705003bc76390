//! Raw bytes into the SIP-C body decoders (`<args>`, `<events>`, session lines): no panic,
//! and on success the re-encoded body decodes to the same value.
#![no_main]

use imspec_codec::sipc::body::{Args, Events, Session};
use libfuzzer_sys::fuzz_target;

macro_rules! fixpoint {
    ($ty:ty, $data:expr) => {
        if let Ok(v) = <$ty>::parse($data) {
            let bytes = v.to_bytes();
            match <$ty>::parse(&bytes) {
                Ok(back) if back == v => {}
                other => panic!(
                    "{} re-encoding differs\n v:    {v:?}\n back: {other:?}",
                    stringify!($ty)
                ),
            }
        }
    };
}

fuzz_target!(|data: &[u8]| {
    fixpoint!(Args, data);
    fixpoint!(Events, data);
    fixpoint!(Session, data);
});
