//! Triggers: what makes a component run.

pub mod http;
pub mod redis;
pub mod router;
