//! YAML text into the scenario loader: no panic, and every error names the input (or a
//! fragment) and a line inside it. Body: `imspec_harness::scenario::fuzz::scenario_load`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_harness::scenario::fuzz::scenario_load(data) {
        panic!("{e}");
    }
});
