//! api-gateway: the REST API of prompt-mesh. It authenticates API keys, limits each key's
//! requests per minute by tier, checks ownership of jobs and images, and calls the services
//! (templates, prompts, jobs, images, ratings, experiments) through their WIT imports.
//!
//! Everything but the calls to imports and the host lives in plain modules tested natively;
//! `component` (Wasm only) wires them to spin-sdk and the imports.

// `ApiError` (about 130 bytes) is built at most once per request, on the failure path;
// boxing it would make every handler noisier for no measurable gain.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod health;
pub mod hooks;
pub mod keys;
pub mod model;
pub mod openapi;
pub mod query;
pub mod ratelimit;
pub mod render;
pub mod request;
pub mod requests;
pub mod response;
pub mod rfc3339;
pub mod routes;

#[cfg(target_arch = "wasm32")]
mod component;
