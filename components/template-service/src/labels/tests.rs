use super::*;
use crate::model::Label;
use crate::testing::{T0, create, db, new_version};
use crate::{Error, FieldError};

fn label(name: &str, version: u32) -> Label {
    Label {
        name: name.into(),
        version,
    }
}

#[test]
fn labels_are_listed_with_latest_sorted_by_name() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    new_version(&db, &template.id, "two", T0 + 1);
    set(&db, &template.id, "production", 1, T0 + 2).expect("production");
    let updated = set(&db, &template.id, "canary", 2, T0 + 3).expect("canary");
    assert_eq!(
        updated.labels,
        vec![
            label("canary", 2),
            label("latest", 2),
            label("production", 1)
        ]
    );
    assert_eq!(updated.updated_at, T0 + 3);
    assert_eq!(crate::templates::get(&db, &template.id), Ok(updated));
}

#[test]
fn setting_a_label_again_moves_it() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    new_version(&db, &template.id, "two", T0 + 1);
    set(&db, &template.id, "production", 1, T0 + 2).expect("at 1");
    let moved = set(&db, &template.id, "production", 2, T0 + 3).expect("to 2");
    assert_eq!(
        moved.labels,
        vec![label("latest", 2), label("production", 2)]
    );
}

#[test]
fn latest_follows_new_versions() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    set(&db, &template.id, "production", 1, T0 + 1).expect("label");
    new_version(&db, &template.id, "two", T0 + 2);
    let fetched = crate::templates::get(&db, &template.id).expect("get");
    assert_eq!(
        fetched.labels,
        vec![label("latest", 2), label("production", 1)]
    );
}

#[test]
fn latest_cannot_be_set_or_deleted() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    let reserved = |result: Result<Template, Error>| match result {
        Err(Error::Invalid(FieldError { field, code, .. })) => (field, code),
        other => panic!("expected label_reserved, got {other:?}"),
    };
    let expected = ("label".to_string(), "label_reserved".to_string());
    assert_eq!(reserved(set(&db, &template.id, "latest", 1, T0)), expected);
    assert_eq!(reserved(delete(&db, &template.id, "latest", T0)), expected);
}

#[test]
fn a_malformed_label_is_invalid() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    let result = set(&db, &template.id, "Prod!", 1, T0);
    assert!(
        matches!(&result, Err(Error::Invalid(e)) if e.field == "label" && e.code == "invalid_label"),
        "{result:?}"
    );
}

#[test]
fn a_label_must_point_at_an_existing_version() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    let id = &template.id;
    for version in [0, 9] {
        assert_eq!(
            set(&db, id, "beta", version, T0 + 1),
            Err(Error::Invalid(FieldError {
                field: "version".into(),
                code: "unknown_version".into(),
                message: format!(
                    "version {version} of template `{id}` does not exist: \
                     choose a version from 1 to 1"
                ),
            }))
        );
    }
    assert_eq!(
        crate::templates::get(&db, id).map(|t| t.labels.len()),
        Ok(1)
    );
}

#[test]
fn labels_of_a_missing_template_are_not_found() {
    let db = db();
    let missing = "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";
    assert_eq!(
        set(&db, missing, "beta", 1, T0),
        Err(Error::template_not_found(missing))
    );
    assert_eq!(
        delete(&db, missing, "beta", T0),
        Err(Error::template_not_found(missing))
    );
}

#[test]
fn deleting_a_label_removes_it_and_a_missing_one_is_not_found() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    let id = &template.id;
    set(&db, id, "production", 1, T0 + 1).expect("label");
    let after = delete(&db, id, "production", T0 + 2).expect("delete");
    assert_eq!(after.labels, vec![label("latest", 1)]);
    assert_eq!(after.updated_at, T0 + 2);
    assert_eq!(
        delete(&db, id, "production", T0 + 3),
        Err(Error::NotFound(format!(
            "label `production` of template `{id}` does not exist"
        )))
    );
}
