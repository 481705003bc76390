//! Law 3: any chunking of a byte stream yields the same frames and the same ending, for
//! both framers. The first bytes choose the cut points; the rest is the stream.
#![no_main]

use imspec_codec::testing::{self, Msnp, Sipc};
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
    if let Err(e) = testing::chunking::<Sipc>(stream, &cuts) {
        panic!("{e}");
    }
    if let Err(e) = testing::chunking::<Msnp>(stream, &cuts) {
        panic!("{e}");
    }
});
