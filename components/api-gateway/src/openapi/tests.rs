//! The document parses, is OpenAPI 3.1, and describes exactly the routes the router serves,
//! with the security and error responses each route's access and inputs call for.

use std::collections::BTreeSet;

use serde_json::Value;

use super::DOCUMENT;
use crate::routes::{Access, ROUTES, Route};

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

fn operation<'a>(doc: &'a Value, route: &Route) -> &'a Value {
    let op = &doc["paths"][route.pattern][route.method.to_ascii_lowercase()];
    assert!(
        op.is_object(),
        "{} {} is not in the document",
        route.method,
        route.pattern
    );
    op
}

/// The response statuses of an operation.
fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let doc = document();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.pattern.to_string(), r.method.to_ascii_lowercase()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    assert_eq!(documented, routed);
}

#[test]
fn path_parameters_match_the_route_patterns() {
    let doc = document();
    for route in ROUTES {
        let expected: BTreeSet<&str> = route
            .pattern
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = operation(&doc, route)["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, expected, "{} {}", route.method, route.pattern);
    }
}

#[test]
fn security_and_error_responses_follow_each_routes_access_and_inputs() {
    let doc = document();
    for route in ROUTES {
        let op = operation(&doc, route);
        let statuses = statuses(op);
        let name = format!("{} {}", route.method, route.pattern);
        let has = |status: &str| statuses.contains(status);
        if route.access == Access::Public {
            assert_eq!(op["security"], serde_json::json!([]), "{name}");
            continue;
        }
        if route.access == Access::Hook {
            // No API key and no rate limit: the job's token stands for the key.
            assert_eq!(op["security"], serde_json::json!([]), "{name}");
            for status in ["401", "404", "413", "415", "422", "500", "503"] {
                assert!(has(status), "{name} lacks {status}");
            }
            assert!(!has("429"), "{name} is not rate limited");
            continue;
        }
        assert!(
            op.get("security").is_none(),
            "{name} uses the global security"
        );
        for status in ["401", "429", "500", "503"] {
            assert!(has(status), "{name} lacks {status}");
        }
        assert_eq!(has("403"), route.access == Access::Admin, "{name}: 403");
        assert_eq!(has("404"), route.pattern.contains('{'), "{name}: 404");
        let takes_body = op.get("requestBody").is_some();
        for status in ["413", "415", "422"] {
            assert_eq!(has(status), takes_body, "{name}: {status}");
        }
    }
}

#[test]
fn both_key_schemes_are_declared_globally() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerKey"]["scheme"], "bearer");
    assert_eq!(schemes["apiKeyHeader"]["name"], "X-API-Key");
    assert_eq!(
        doc["security"],
        serde_json::json!([{ "bearerKey": [] }, { "apiKeyHeader": [] }])
    );
}

/// Every `$ref` in the document points at something it defines.
#[test]
fn every_reference_resolves() {
    fn walk(value: &Value, doc: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.strip_prefix('#').expect("local reference");
                    assert!(doc.pointer(pointer).is_some(), "dangling {target}");
                }
                map.values().for_each(|v| walk(v, doc));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
            _ => {}
        }
    }
    let doc = document();
    walk(&doc, &doc);
}

#[test]
fn error_responses_use_the_error_schema() {
    let doc = document();
    for (name, response) in doc["components"]["responses"]
        .as_object()
        .expect("responses")
    {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
            "{name}"
        );
    }
    let error = &doc["components"]["schemas"]["Error"]["properties"]["error"];
    assert_eq!(
        error["required"],
        serde_json::json!(["code", "message", "field"])
    );
}
