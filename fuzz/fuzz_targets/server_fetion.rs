//! Programs of connects, frames, raw bytes, closes and clock steps into the Fetion hub:
//! no panic, outputs decode, every request gets exactly one reply. Body:
//! `imspec_server::fuzz::fetion` (`imspec_server::fuzz` describes the program format).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_server::fuzz::fetion::run(data) {
        panic!("{e}");
    }
});
