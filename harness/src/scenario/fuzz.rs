//! The body of the `scenario_load` fuzz target: any bytes as a scenario file either load or fail
//! with an error that names a file of the input and a line inside it.

use std::path::{Path, PathBuf};

use crate::scenario::load as scenario;

/// Loads `data` as the scenario file `scenarios/fetion/fuzz.yaml` (so its fragments resolve);
/// `Err` names the broken property.
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
