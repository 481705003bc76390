//! Law 3: any chunking of a byte stream yields the same frames and the same ending, for
//! every framer (SIP-C, MSNP, SIP, MSRP). The first byte `n` says how many cut points follow
//! (`n % 8`, each a little-endian `u16`); the rest is the stream. `codec/tests/fuzz.rs`
//! replays `corpus/*/regressions/stream_chunking-*` files with the same decoding.
#![no_main]

use imspec_codec::testing::{self, Msnp, Msrp, Sip, Sipc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n * 2);
    let cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    for check in [
        testing::chunking::<Sipc>,
        testing::chunking::<Msnp>,
        testing::chunking::<Sip>,
        testing::chunking::<Msrp>,
    ] {
        if let Err(e) = check(stream, &cuts) {
            panic!("{e}");
        }
    }
});
