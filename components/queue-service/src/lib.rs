//! queue-service: the durable priority queue of generation jobs and the images they produce,
//! exported as `promptmesh:jobs/queue` and `promptmesh:jobs/images`.
//!
//! The logic is plain Rust over [`promptmesh_guest::db::Db`], taking its configuration and
//! the current time as arguments; `component` (Wasm only) converts the WIT types.

pub mod admission;
pub mod config;
pub mod error;
pub mod history;
pub mod images;
pub mod jobs;
pub mod lease;
pub mod lifecycle;
pub mod model;
pub mod outbox;
pub mod provider_events;
pub mod schema;

mod query;
mod rows;
mod validate;

#[cfg(test)]
mod testing;

#[cfg(target_arch = "wasm32")]
mod component;
