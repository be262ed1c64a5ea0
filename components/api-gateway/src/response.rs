//! A response as plain data (status, headers, body), built by handlers and errors and turned
//! into the HTTP response only at the edge, so every response can be checked natively.

use serde_json::Value;

/// What a response carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body (204, 304).
    Empty,
    /// A JSON document, sent as `application/json`.
    Json(Value),
    /// Raw bytes of the given content type (images, the OpenAPI document).
    Bytes {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// A response before it becomes HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl ApiResponse {
    /// `status` with a JSON body.
    pub fn json(status: u16, value: Value) -> ApiResponse {
        ApiResponse {
            status,
            headers: Vec::new(),
            body: Body::Json(value),
        }
    }

    /// `200` with a JSON body.
    pub fn ok(value: Value) -> ApiResponse {
        ApiResponse::json(200, value)
    }

    /// `204 No Content`.
    pub fn no_content() -> ApiResponse {
        ApiResponse::empty(204)
    }

    /// `status` without a body.
    pub fn empty(status: u16) -> ApiResponse {
        ApiResponse {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// `200` with raw bytes.
    pub fn bytes(content_type: &str, bytes: Vec<u8>) -> ApiResponse {
        ApiResponse {
            status: 200,
            headers: Vec::new(),
            body: Body::Bytes {
                content_type: content_type.to_string(),
                bytes,
            },
        }
    }

    /// Adds a header (name in lower case).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> ApiResponse {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds every header of `headers`.
    pub fn with_headers(mut self, headers: &[(String, String)]) -> ApiResponse {
        self.headers.extend(headers.iter().cloned());
        self
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The content type and bytes to send, with the content type the body implies.
    pub fn into_parts(self) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut headers = self.headers;
        let bytes = match self.body {
            Body::Empty => Vec::new(),
            Body::Json(value) => {
                headers.push(("content-type".into(), "application/json".into()));
                value.to_string().into_bytes()
            }
            Body::Bytes {
                content_type,
                bytes,
            } => {
                headers.push(("content-type".into(), content_type));
                bytes
            }
        };
        (self.status, headers, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bodies_get_their_content_type() {
        let response = ApiResponse::ok(json!({ "status": "ok" })).with_header("X-Test", "1");
        assert_eq!(response.header("x-test"), Some("1"));
        let (status, headers, body) = response.into_parts();
        assert_eq!(status, 200);
        assert_eq!(
            headers,
            [
                ("x-test".to_string(), "1".to_string()),
                ("content-type".to_string(), "application/json".to_string())
            ]
        );
        assert_eq!(body, br#"{"status":"ok"}"#);
    }

    #[test]
    fn empty_responses_have_no_content_type() {
        let (status, headers, body) = ApiResponse::no_content().into_parts();
        assert_eq!((status, headers.len(), body.len()), (204, 0, 0));
    }

    #[test]
    fn byte_bodies_keep_their_content_type() {
        let (_, headers, body) = ApiResponse::bytes("image/png", vec![1, 2]).into_parts();
        assert_eq!(
            headers,
            [("content-type".to_string(), "image/png".to_string())]
        );
        assert_eq!(body, [1, 2]);
    }
}
