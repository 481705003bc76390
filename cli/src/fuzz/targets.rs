//! The bodies of the harness-side fuzz targets, by name. The cargo-fuzz targets in `fuzz/`
//! call them, and the regression test replays `corpus/*/regressions/<target>-<sha8>` files
//! through them on stable `cargo test`, so a crash file stays a test without copying the
//! target's code (regex copies its fuzz function into its tests; one copy is simpler).

use imspec_harness::scenario::fuzz::scenario_load;
use imspec_server::Protocol;

/// A target body: `Err` describes a broken invariant (the fuzz target panics with it).
pub type Target = fn(&[u8]) -> Result<(), String>;

/// The harness-side targets that are not a server hub's, by name.
pub const TARGETS: &[(&str, Target)] = &[("scenario_load", scenario_load)];

/// The target called `name`: one of [`TARGETS`], or a hub's `server_<protocol>` target
/// ([`imspec_server::PROTOCOLS`]).
pub fn by_name(name: &str) -> Option<Target> {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .or_else(|| Protocol::from_fuzz_target(name).map(|p| p.fuzz))
}
