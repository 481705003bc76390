//! The error of a scenario or profile that cannot be used.

use std::path::{Path, PathBuf};

use super::model::Span;

/// A scenario or profile that cannot be used, with the place to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{span}: {message}")]
pub struct ScenarioError {
    /// Where (line/column 0 when unknown).
    pub span: Span,
    /// What is wrong, lower-case, naming what was expected.
    pub message: String,
}

impl ScenarioError {
    /// An error at `file:line:column` (1-based; 0 = unknown).
    pub fn at(file: &Path, line: usize, column: usize, message: String) -> Self {
        Self {
            span: Span {
                file: PathBuf::from(file),
                line,
                column,
            },
            message,
        }
    }
}
