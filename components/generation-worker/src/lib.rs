//! generation-worker: on each Redis wake-up it leases one job from the queue, runs it on the
//! image provider (the midjourney-proxy REST contract), downloads and stores the image,
//! finishes the job, notifies the job's webhook and, while jobs wait, wakes the next worker.
//!
//! The run is plain Rust over the traits in [`ports`], so native tests drive it with a
//! scripted provider, an in-memory queue and a fake clock; `component` is the Wasm glue.

pub mod config;
pub mod outcome;
pub mod png_size;
pub mod ports;
pub mod provider;
pub mod retry;
pub mod run;
pub mod webhook;
pub mod worker;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod testing;
