//! generation-worker: on each Redis wake-up it leases one job from the queue (a new one, or
//! one a dead worker left), runs an attempt of it on the image provider (the
//! midjourney-proxy REST contract) under a lease it keeps renewing, downloads and stores the
//! image, finishes or retries the job, delivers the due notifications and, while jobs wait,
//! wakes the next worker.
//!
//! The run is plain Rust over the traits in [`ports`], so native tests drive it with a
//! scripted provider, an in-memory queue and a fake clock; `component` is the Wasm glue.

pub mod config;
pub mod heartbeat;
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
