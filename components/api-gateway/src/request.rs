//! Checks on the raw request before a handler runs: its full path from Spin's routing
//! headers, the content type and size of its body, and conditional image requests.

use crate::error::ApiError;

/// The request's path from the root, e.g. `/api/templates/tpl_1`.
///
/// Spin passes the component's route (`spin-component-route`, `/api` for `/api/...`) and
/// the rest (`spin-path-info`); without them (another runtime) the URI's path is used.
pub fn full_path(component_route: Option<&str>, path_info: Option<&str>, uri: &str) -> String {
    match (component_route, path_info) {
        (Some(route), Some(info)) => format!("{}{info}", route.trim_end_matches('/')),
        _ => split_query(uri).0.to_string(),
    }
}

/// Splits a path-and-query at `?` into the path and the query (empty without one).
pub fn split_query(path_and_query: &str) -> (&str, &str) {
    path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""))
}

/// 415 unless a request's body is declared as JSON (`application/json`, optionally with
/// parameters, or a `+json` type). A body without a content type is taken as JSON.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json" || media_type.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(content_type))
    }
}

/// 413 when the declared `Content-Length` is over `max` bytes (checked before reading).
pub fn check_declared_length(content_length: Option<&str>, max: u64) -> Result<(), ApiError> {
    match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(length) if length > max => Err(ApiError::payload_too_large(max)),
        _ => Ok(()),
    }
}

/// The strong ETag of an image: its SHA-256 in quotes.
pub fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

/// Whether `If-None-Match` names the image's ETag (or is `*`); weak tags compare equal too,
/// as RFC 9110 asks for this header.
pub fn etag_matches(if_none_match: Option<&str>, sha256: &str) -> bool {
    let Some(header) = if_none_match else {
        return false;
    };
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag(sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_path_joins_the_component_route_and_path_info() {
        assert_eq!(
            full_path(Some("/api"), Some("/templates/tpl_1"), "/ignored"),
            "/api/templates/tpl_1"
        );
        assert_eq!(
            full_path(Some("/healthz"), Some(""), "/healthz"),
            "/healthz"
        );
        assert_eq!(full_path(Some("/api"), Some(""), "/api"), "/api");
        assert_eq!(
            full_path(None, None, "/api/jobs?status=queued"),
            "/api/jobs"
        );
    }

    #[test]
    fn queries_split_at_the_first_question_mark() {
        assert_eq!(split_query("/api/jobs?a=1?b"), ("/api/jobs", "a=1?b"));
        assert_eq!(split_query("/api/jobs"), ("/api/jobs", ""));
    }

    #[test]
    fn json_content_types_are_accepted_and_others_refused() {
        for ok in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/merge-patch+json"),
        ] {
            assert_eq!(check_content_type(ok), Ok(()), "{ok:?}");
        }
        let error = check_content_type(Some("text/plain")).expect_err("not JSON");
        assert_eq!(
            (error.status, error.code.as_str()),
            (415, "unsupported_media_type")
        );
        assert_eq!(
            error.message,
            "content type `text/plain` is not accepted; send `application/json`"
        );
    }

    #[test]
    fn declared_lengths_over_the_limit_are_413() {
        assert_eq!(check_declared_length(Some("65536"), 65_536), Ok(()));
        assert_eq!(check_declared_length(None, 65_536), Ok(()));
        assert_eq!(check_declared_length(Some("junk"), 65_536), Ok(()));
        let error = check_declared_length(Some("65537"), 65_536).expect_err("too large");
        assert_eq!(
            (error.status, error.code.as_str()),
            (413, "payload_too_large")
        );
        assert_eq!(
            error.message,
            "the body is over the limit of 65536 bytes; send a smaller one"
        );
    }

    #[test]
    fn if_none_match_compares_quoted_digests() {
        assert_eq!(etag("ab12"), "\"ab12\"");
        assert!(etag_matches(Some("\"ab12\""), "ab12"));
        assert!(etag_matches(Some("\"x\", W/\"ab12\""), "ab12"));
        assert!(etag_matches(Some("*"), "ab12"));
        assert!(!etag_matches(Some("ab12"), "ab12"));
        assert!(!etag_matches(Some("\"cd34\""), "ab12"));
        assert!(!etag_matches(None, "ab12"));
    }
}
