//! template-service: prompt templates with immutable numbered versions, labels that point at
//! versions, tags and search, stored in SQLite (`tpl_*` tables). Exports
//! `promptmesh:templates/store@0.1.0`.
//!
//! The logic is plain Rust over [`promptmesh_guest::db::Db`] and is tested natively; the
//! Wasm-only `component` module converts between the WIT types and these.

pub mod error;
pub mod labels;
pub mod model;
pub mod schema;
pub mod search;
pub mod templates;
pub mod versions;

mod ids;
mod read;
mod syntax;
mod validate;
mod write;

#[cfg(test)]
mod testing;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, FieldError};
pub use model::{
    Label, NewTemplate, SearchQuery, Selector, Template, TemplatePage, TemplateUpdate, Version,
};
