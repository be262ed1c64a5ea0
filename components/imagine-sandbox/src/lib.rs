//! imagine-sandbox: the embedded image provider. It speaks the midjourney-proxy REST
//! contract (`POST /mj/submit/imagine`, `GET /mj/task/{id}/fetch`) on a private route, moves
//! each task through SUBMITTED, IN_PROGRESS and SUCCESS or FAILURE as time passes, and serves
//! a real PNG derived from the prompt at `GET /mj/image/{id}.png`.
//!
//! The logic lives in plain modules tested natively; `component` is the Spin HTTP glue.

pub mod api;
pub mod config;
pub mod image;
pub mod task;

#[cfg(target_arch = "wasm32")]
mod component;
