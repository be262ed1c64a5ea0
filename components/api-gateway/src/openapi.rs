//! The OpenAPI 3.1 document of the REST API (`components/api-gateway/openapi.json`), served
//! at `/api/openapi.json` and checked against the routing table in tests.

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests;
