//! Programs of WebSocket connects (any of the four subprotocols), commands built from what
//! the server said, raw frames, closes and clock steps into the LeanCloud hub: no panic,
//! outputs decode, every command with `i` gets exactly one reply. Body:
//! `imspec_server::fuzz::leancloud` (its module docs describe the program format).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_server::fuzz::leancloud::run(data) {
        panic!("{e}");
    }
});
