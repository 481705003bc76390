//! The bodies of the harness-side fuzz targets, by name. The cargo-fuzz targets in `fuzz/`
//! call them, and the regression test replays `corpus/*/regressions/<target>-<sha8>` files
//! through them on stable `cargo test`, so a crash file stays a test without copying the
//! target's code (regex copies its fuzz function into its tests; one copy is simpler).

use std::path::{Path, PathBuf};

use super::hub;
use crate::scenario;

/// A target body: `Err` describes a broken invariant (the fuzz target panics with it).
pub type Target = fn(&[u8]) -> Result<(), String>;

/// Every harness-side target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("scenario_load", scenario_load),
    ("server_fetion", hub::fetion),
    ("server_msnp", hub::msnp),
    ("server_leancloud", hub::leancloud),
];

/// The target called `name`.
pub fn by_name(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// YAML text into the scenario loader, as if it were `scenarios/fetion/fuzz.yaml` (so
/// `include:` finds the real fragments when the source tree is there). No panic; an error
/// names the input or a fragment file and a line inside it.
pub fn scenario_load(data: &[u8]) -> Result<(), String> {
    // `scenario::load` reads files as UTF-8 and refuses anything else before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let path = input_path();
    let Err(e) = scenario::load_str(&path, text) else {
        return Ok(());
    };
    // YAML breaks lines at CRLF, LF and a lone CR alike; an error at the end of the input may
    // sit on the line after the last one.
    let lines = text.replace("\r\n", "\n").matches(['\r', '\n']).count() + 1;
    let in_input = e.span.file == path;
    let in_fragment = e.span.file.starts_with(path.with_file_name("fragments"));
    if !(in_input || in_fragment) {
        return Err(format!("error names no file of the input: {e:?}"));
    }
    if e.span.line == 0 || (in_input && e.span.line > lines + 1) {
        return Err(format!(
            "error line outside the input ({lines} lines): {e:?}"
        ));
    }
    Ok(())
}

fn input_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fetion/fuzz.yaml")
}
