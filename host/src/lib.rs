//! prompt-mesh: a wasmtime host that runs a Spin application and puts a service mesh on
//! every edge between its components.

pub mod allowed_hosts;
pub mod app;
pub mod builder;
pub mod capability;
pub mod deadline;
pub mod demo;
pub mod engine;
pub mod guest_log;
pub mod linking;
pub mod manifest;
pub mod mesh;
pub mod mounts;
pub mod runtime_config;
pub mod secrets;
pub mod state;
pub mod trigger;
