//! The bodies of the harness-side fuzz targets, by name. The cargo-fuzz targets in `fuzz/`
//! call them, and the regression test replays `corpus/*/regressions/<target>-<sha8>` files
//! through them on stable `cargo test`, so a crash file stays a test without copying the
//! target's code (regex copies its fuzz function into its tests; one copy is simpler).

use imspec_harness::scenario::fuzz::scenario_load;
use imspec_server::fuzz as hub;

/// A target body: `Err` describes a broken invariant (the fuzz target panics with it).
pub type Target = fn(&[u8]) -> Result<(), String>;

/// Every harness-side target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("scenario_load", scenario_load),
    ("server_fetion", hub::fetion),
    ("server_msnp", hub::msnp),
    ("server_leancloud", hub::leancloud),
    ("server_sip", hub::sip),
];

/// The target called `name`.
pub fn by_name(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
