//! Scenario scripts: the model ([`model`]), the YAML loader ([`load`](mod@load)), where
//! fragments come from ([`fragment`]), the capability registry ([`capability`]), the rule
//! catalog ([`rules`]) and the check of rule sources ([`cite`]). No tokio here.

pub mod capability;
mod check;
pub mod cite;
pub mod fragment;
pub mod fuzz;
pub mod load;
pub mod model;
pub mod rules;
pub mod schema;
pub mod skeleton;
pub mod template;

use std::fmt;
use std::path::{Path, PathBuf};

pub use load::{discover, load, load_str, load_str_with, load_with};
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
