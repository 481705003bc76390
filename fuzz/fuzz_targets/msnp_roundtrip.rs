//! Law 1 for generated MSNP commands: every valid `msnp::Command` encodes to bytes
//! (`encoded_len` of them) that decode whole to it, strictly and leniently; and law 3a on two
//! proper prefixes of those bytes, which are incomplete: all but the last byte, and one
//! chosen by the input's leading `u16` (`imspec_fuzz::WithCut`), as in `sipc_roundtrip`.
#![no_main]

use imspec_codec::msnp::Command;
use imspec_codec::testing::{Msnp, MsnpLenient};
use imspec_fuzz::WithCut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|c: WithCut<Command<'static>>| {
    if let Err(e) = imspec_fuzz::frame_laws::<Msnp, MsnpLenient>(&c) {
        panic!("{e}");
    }
});
