//! What the tests of the binary share: where the repository is, and "run `imspec ARGS`,
//! return its output".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the workspace), where `scenarios/` and `profiles/` are.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `imspec ARGS` from the repository root, with `NO_COLOR` unset (so `--color auto` decides
/// from the terminal alone); its exit status, stdout and stderr.
pub(crate) fn imspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imspec"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// Bytes as text (invalid UTF-8 replaced).
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout then stderr, as text.
pub(crate) fn both(o: &Output) -> String {
    format!("{}{}", lossy(&o.stdout), lossy(&o.stderr))
}
