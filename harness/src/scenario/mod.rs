//! Scenario scripts: the model ([`model`]) and the YAML loader ([`load`](mod@load)). No tokio here.

mod check;
pub mod load;
pub mod model;
pub mod schema;
pub mod skeleton;
pub mod template;

use std::fmt;
use std::path::{Path, PathBuf};

pub use load::{discover, load, load_str};
pub use model::*;

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

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Must => "must",
            Self::Should => "should",
        })
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::High => "high",
            Self::Low => "low",
            Self::Medium => "medium",
        })
    }
}
