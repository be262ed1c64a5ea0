//! Prompt templates and the Midjourney prompt validator, in plain Rust.
//!
//! [`template`] parses `{{name}}` bodies and renders them strictly; [`validate`] normalises a
//! prompt and checks its length, banned words, `--` parameters and `::` weights against a
//! [`Policy`]; [`render`] does both. Every problem is reported as an [`Issue`], all at once.

pub mod banned;
pub mod issue;
pub mod midjourney;
pub mod normalize;
pub mod policy;
pub mod prompt;
pub mod template;

pub use issue::{Code, Issue, Rejection};
pub use midjourney::{Model, Parameter, Segment};
pub use policy::{ConfigError, Policy, PolicyVariables};
pub use prompt::{Prompt, render, validate};
