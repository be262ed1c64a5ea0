//! rating-service: ratings of images (one per user per image), scores per template version
//! and A/B experiments between versions, stored in SQLite (`rate_*` tables). Exports
//! `promptmesh:ratings/ratings@0.1.0` and `promptmesh:ratings/experiments@0.1.0`.
//!
//! The logic is plain Rust over [`promptmesh_guest::db::Db`], taking the current time as an
//! argument, and is tested natively; the Wasm-only `component` module converts between the
//! WIT types and these.

pub mod error;
pub mod experiments;
pub mod model;
pub mod ratings;
pub mod schema;
pub mod stats;

mod bucket;
mod validate;

#[cfg(test)]
mod testing;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, FieldError};
pub use model::{
    Arm, ArmResult, Comparison, Experiment, ExperimentResults, NewRating, Rating, ScoreSummary,
    VersionStats,
};
