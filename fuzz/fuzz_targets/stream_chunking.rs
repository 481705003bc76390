//! Law 3: any chunking of a byte stream yields the same frames and the same ending, for
//! every stream codec of `imspec_codec::CODECS` (SIP-C, MSNP, SIP, MSRP). The first byte `n` says how many cut points follow
//! (`n % 8`, each a little-endian `u16`); the rest is the stream. `codec/tests/fuzz.rs`
//! replays `corpus/*/regressions/stream_chunking-*` files with the same decoding.
#![no_main]

use imspec_codec::testing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = testing::stream_chunking(data, false) {
        panic!("{e}");
    }
});
