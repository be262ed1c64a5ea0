//! The JSON of every object the API returns, from the plain records of `model`. Field names
//! are snake_case, times RFC 3339 UTC with milliseconds.

mod jobs;
mod ratings;
mod templates;

pub use jobs::{
    RatingsSummary, accepted, image_meta, image_url, job, job_detail, job_path, rating,
};
pub use ratings::{experiment, experiment_results, stats};
pub use templates::{
    created_key, prompt, template, template_and_version, template_path, template_with_latest,
    version, versions,
};

use serde_json::{Value, json};

use crate::model::TemplateRef;

/// A page of a listing: `{"items": [...], "next_cursor": ...|null}`.
pub fn page(items: Vec<Value>, next_cursor: Option<String>) -> Value {
    json!({ "items": items, "next_cursor": next_cursor })
}

/// `{"id", "version"}` of a template version, or `null`.
pub fn template_ref(template: Option<&TemplateRef>) -> Value {
    match template {
        Some(t) => json!({ "id": t.id, "version": t.version }),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_items_and_the_next_cursor() {
        assert_eq!(
            page(vec![json!(1)], Some("abc".into())),
            json!({ "items": [1], "next_cursor": "abc" })
        );
        assert_eq!(
            page(vec![], None),
            json!({ "items": [], "next_cursor": null })
        );
    }

    #[test]
    fn template_refs_are_objects_or_null() {
        let t = TemplateRef {
            id: "tpl_1".into(),
            version: 2,
        };
        assert_eq!(
            template_ref(Some(&t)),
            json!({ "id": "tpl_1", "version": 2 })
        );
        assert_eq!(template_ref(None), Value::Null);
    }
}
