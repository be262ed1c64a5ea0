//! Templates, versions, prompt previews and new keys.

use serde_json::{Map, Value, json};

use super::template_ref;
use crate::keys::CreatedKey;
use crate::model::{Prompt, Template, TemplateRef, TemplateVersion};
use crate::rfc3339::format_ms;

/// Where a template is served.
pub fn template_path(id: &str) -> String {
    format!("/api/templates/{id}")
}

/// The template object; `labels` is an object from label to version.
pub fn template(t: &Template) -> Value {
    let labels: Map<String, Value> = t
        .labels
        .iter()
        .map(|(name, version)| (name.clone(), json!(version)))
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "tags": t.tags,
        "latest_version": t.latest_version,
        "labels": labels,
        "created_at": format_ms(t.created_at),
        "updated_at": format_ms(t.updated_at),
    })
}

/// The version object.
pub fn version(v: &TemplateVersion) -> Value {
    json!({
        "template_id": v.template_id,
        "version": v.version,
        "body": v.body,
        "variables": v.variables,
        "created_at": format_ms(v.created_at),
    })
}

/// `{"template": T, "version": V}`, the answer to a create or an update.
pub fn template_and_version(t: &Template, v: &TemplateVersion) -> Value {
    json!({ "template": template(t), "version": version(v) })
}

/// The template object plus `"latest": V`.
pub fn template_with_latest(t: &Template, latest: &TemplateVersion) -> Value {
    let mut value = template(t);
    value["latest"] = version(latest);
    value
}

/// `{"items": [V...]}`.
pub fn versions(items: &[TemplateVersion]) -> Value {
    json!({ "items": items.iter().map(version).collect::<Vec<_>>() })
}

/// A prompt preview.
pub fn prompt(p: &Prompt, template: Option<&TemplateRef>) -> Value {
    let parameters: Vec<Value> = p
        .parameters
        .iter()
        .map(
            |param| json!({ "name": param.name, "value": param.value, "position": param.position }),
        )
        .collect();
    let segments: Vec<Value> = p
        .segments
        .iter()
        .map(|s| json!({ "text": s.text, "weight": s.weight }))
        .collect();
    json!({
        "prompt": p.text,
        "length": p.length,
        "model": p.model,
        "parameters": parameters,
        "segments": segments,
        "template": template_ref(template),
    })
}

/// A new key, the only answer that shows the key itself.
pub fn created_key(k: &CreatedKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "tier": k.tier.as_str(),
        "key": k.key,
        "created_at": format_ms(k.created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Parameter, Segment, Tier};

    fn sample_template() -> Template {
        Template {
            id: "tpl_1".into(),
            name: "Portrait".into(),
            description: "film look".into(),
            tags: vec!["photo".into(), "portrait".into()],
            latest_version: 2,
            labels: vec![("latest".into(), 2), ("production".into(), 1)],
            created_at: 1_796_333_433_123,
            updated_at: 1_796_333_433_999,
        }
    }

    fn sample_version() -> TemplateVersion {
        TemplateVersion {
            template_id: "tpl_1".into(),
            version: 2,
            body: "portrait of {{subject}}".into(),
            variables: vec!["subject".into()],
            created_at: 1_796_333_433_999,
        }
    }

    #[test]
    fn templates_render_labels_as_an_object() {
        assert_eq!(
            template(&sample_template()),
            json!({
                "id": "tpl_1",
                "name": "Portrait",
                "description": "film look",
                "tags": ["photo", "portrait"],
                "latest_version": 2,
                "labels": { "latest": 2, "production": 1 },
                "created_at": "2026-12-03T21:30:33.123Z",
                "updated_at": "2026-12-03T21:30:33.999Z",
            })
        );
    }

    #[test]
    fn versions_render_with_their_variables() {
        let expected = json!({
            "template_id": "tpl_1",
            "version": 2,
            "body": "portrait of {{subject}}",
            "variables": ["subject"],
            "created_at": "2026-12-03T21:30:33.999Z",
        });
        assert_eq!(version(&sample_version()), expected);
        assert_eq!(
            versions(&[sample_version()]),
            json!({ "items": [expected.clone()] })
        );
        let both = template_and_version(&sample_template(), &sample_version());
        assert_eq!(both["version"], expected);
        assert_eq!(both["template"]["id"], "tpl_1");
        let latest = template_with_latest(&sample_template(), &sample_version());
        assert_eq!(latest["latest"], expected);
        assert_eq!(latest["name"], "Portrait");
    }

    #[test]
    fn prompts_render_parameters_segments_and_the_template_used() {
        let p = Prompt {
            text: "a cat --ar 16:9".into(),
            length: 15,
            parameters: vec![Parameter {
                name: "ar".into(),
                value: "16:9".into(),
                position: 6,
            }],
            segments: vec![Segment {
                text: "a cat".into(),
                weight: 1.0,
            }],
            model: "7".into(),
        };
        let used = TemplateRef {
            id: "tpl_1".into(),
            version: 2,
        };
        assert_eq!(
            prompt(&p, Some(&used)),
            json!({
                "prompt": "a cat --ar 16:9",
                "length": 15,
                "model": "7",
                "parameters": [{ "name": "ar", "value": "16:9", "position": 6 }],
                "segments": [{ "text": "a cat", "weight": 1.0 }],
                "template": { "id": "tpl_1", "version": 2 },
            })
        );
        assert_eq!(prompt(&p, None)["template"], Value::Null);
    }

    #[test]
    fn new_keys_show_the_key_once() {
        let k = CreatedKey {
            id: "key_1".into(),
            name: "alice".into(),
            tier: Tier::Premium,
            key: "pm_0123456789abcdef0123456789abcdef".into(),
            created_at: 0,
        };
        assert_eq!(
            created_key(&k),
            json!({
                "id": "key_1",
                "name": "alice",
                "tier": "premium",
                "key": "pm_0123456789abcdef0123456789abcdef",
                "created_at": "1970-01-01T00:00:00.000Z",
            })
        );
        assert_eq!(template_path("tpl_1"), "/api/templates/tpl_1");
    }
}
