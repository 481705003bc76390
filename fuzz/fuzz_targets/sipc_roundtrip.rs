//! Law 1 for generated SIP-C messages: every valid `sipc::Message` encodes to bytes
//! (`encoded_len` of them) that decode whole to it, strictly and leniently; and law 3a on
//! two proper prefixes of those bytes, which are incomplete: all but the last byte, and one
//! chosen by the input's leading `u16` (`imspec_fuzz::WithCut`), so that coverage guidance
//! explores the cut points across inputs.
#![no_main]

use imspec_codec::sipc::Message;
use imspec_codec::testing::{Sipc, SipcLenient};
use imspec_fuzz::WithCut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|m: WithCut<Message<'static>>| {
    if let Err(e) = imspec_fuzz::frame_laws::<Sipc, SipcLenient>(&m) {
        panic!("{e}");
    }
});
