//! Scenario scripts: the model ([`model`]), the YAML loader ([`load`](mod@load)), where
//! fragments come from ([`fragment`]), the capability registry ([`capability`]), the rule
//! catalog ([`rules`]) and the check of rule sources ([`cite`]). No tokio here.

pub mod capability;
mod check;
pub mod cite;
pub mod error;
pub mod fragment;
pub mod fuzz;
pub mod load;
pub mod model;
pub mod rules;
pub mod schema;
pub mod skeleton;
pub mod template;

pub use error::ScenarioError;
pub use load::{discover, load, load_str, load_str_with, load_with};
pub use model::*;
