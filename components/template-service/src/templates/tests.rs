use promptmesh_guest::db::NativeDb;

use super::*;
use crate::model::Label;
use crate::testing::{T0, body_update, create as create_sample, db, new_template, new_version};
use crate::{schema, versions};

fn latest(version: u32) -> Vec<Label> {
    vec![Label {
        name: "latest".into(),
        version,
    }]
}

#[test]
fn create_stores_the_template_and_version_1() {
    let db = db();
    let input = NewTemplate {
        name: "  Portrait ".into(),
        description: "film look".into(),
        body: "portrait of {{subject}} --ar 2:3".into(),
        tags: vec!["Photo".into(), "portrait".into(), "photo".into()],
    };
    let (template, version) = create(&db, &input, T0).expect("valid template");
    assert!(
        promptmesh_guest::id::is_id("tpl", &template.id),
        "{}",
        template.id
    );
    let expected = Template {
        id: template.id.clone(),
        name: "Portrait".into(),
        description: "film look".into(),
        tags: vec!["photo".into(), "portrait".into()],
        latest_version: 1,
        labels: latest(1),
        created_at: T0,
        updated_at: T0,
    };
    assert_eq!(template, expected);
    assert_eq!(
        version,
        Version {
            template_id: template.id.clone(),
            version: 1,
            body: "portrait of {{subject}} --ar 2:3".into(),
            variables: vec!["subject".into()],
            created_at: T0,
        }
    );
    assert_eq!(get(&db, &template.id), Ok(expected));
}

#[test]
fn a_name_in_use_in_any_letter_case_is_a_conflict_naming_it() {
    let db = db();
    let (twin, _) = create_sample(&db, "Twin", "a {{subject}}", &[]);
    let refused = create(&db, &new_template("  twin ", "b"), T0 + 1);
    assert_eq!(
        refused,
        Err(Error::Conflict(format!(
            "name `twin` is already used by template `{}` (`Twin`): choose another name",
            twin.id
        )))
    );
    let count = db
        .execute("SELECT COUNT(*) AS n FROM tpl_templates", &[])
        .expect("count");
    assert_eq!(count.first().expect("row").get::<i64>("n"), Ok(1));
}

#[test]
fn invalid_input_is_refused_before_anything_is_stored() {
    let db = db();
    let broken = create(&db, &new_template("x", "a {{subject"), T0);
    assert!(
        matches!(&broken, Err(Error::Invalid(e)) if e.field == "body" && e.code == "invalid_template"),
        "{broken:?}"
    );
    let input = NewTemplate {
        tags: vec!["ok".into(), "not ok!".into()],
        ..new_template("x", "a")
    };
    let tag = create(&db, &input, T0);
    assert!(
        matches!(&tag, Err(Error::Invalid(e)) if e.field == "tags[1]" && e.code == "invalid_tag"),
        "{tag:?}"
    );
    let rows = db
        .execute("SELECT id FROM tpl_templates", &[])
        .expect("select");
    assert_eq!(rows.len(), 0);
}

#[test]
fn ids_follow_creation_order_within_one_millisecond() {
    let db = db();
    let ids: Vec<String> = (0..5)
        .map(|i| {
            create(&db, &new_template(&format!("t{i}"), "b"), T0)
                .expect("create")
                .0
                .id
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[test]
fn get_of_a_missing_template_is_not_found() {
    let db = db();
    assert_eq!(
        get(&db, "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V"),
        Err(Error::NotFound(
            "template `tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V` does not exist".into()
        ))
    );
}

#[test]
fn update_saves_the_next_version_and_keeps_metadata_that_is_not_set() {
    let db = db();
    let (created, _) = create_sample(&db, "Portrait", "portrait of {{subject}}", &["photo"]);
    let change = body_update("portrait of {{subject}} in {{style}}");
    let (template, version) = update(&db, &created.id, &change, T0 + 5).expect("update");
    assert_eq!(
        version,
        Version {
            template_id: created.id.clone(),
            version: 2,
            body: "portrait of {{subject}} in {{style}}".into(),
            variables: vec!["subject".into(), "style".into()],
            created_at: T0 + 5,
        }
    );
    let expected = Template {
        latest_version: 2,
        labels: latest(2),
        updated_at: T0 + 5,
        ..created.clone()
    };
    assert_eq!(template, expected);
    assert_eq!(new_version(&db, &created.id, "third", T0 + 6).version, 3);
}

#[test]
fn update_applies_the_metadata_that_is_set() {
    let db = db();
    let (created, _) = create_sample(&db, "Portrait", "v1", &["photo"]);
    let change = TemplateUpdate {
        body: "v2".into(),
        name: Some(" portrait ".into()),
        description: Some("new look".into()),
        tags: Some(vec!["B-W".into()]),
    };
    let (template, _) = update(&db, &created.id, &change, T0 + 1).expect("update");
    assert_eq!(
        (
            template.name.as_str(),
            template.description.as_str(),
            template.tags
        ),
        ("portrait", "new look", vec!["b-w".to_string()])
    );
    let cleared = TemplateUpdate {
        tags: Some(vec![]),
        ..body_update("v3")
    };
    let (template, _) = update(&db, &created.id, &cleared, T0 + 2).expect("update");
    assert_eq!(template.tags, Vec::<String>::new());
}

#[test]
fn update_to_another_templates_name_is_a_conflict_and_saves_no_version() {
    let db = db();
    let (first, _) = create_sample(&db, "First", "one", &[]);
    let (second, _) = create_sample(&db, "Second", "two", &[]);
    let change = TemplateUpdate {
        name: Some("FIRST".into()),
        ..body_update("two again")
    };
    assert_eq!(
        update(&db, &second.id, &change, T0 + 1),
        Err(Error::Conflict(format!(
            "name `FIRST` is already used by template `{}` (`First`): choose another name",
            first.id
        )))
    );
    assert_eq!(versions::list(&db, &second.id).map(|v| v.len()), Ok(1));
}

#[test]
fn update_of_a_missing_template_is_not_found_and_bad_bodies_are_invalid() {
    let db = db();
    assert_eq!(
        update(&db, "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V", &body_update("x"), T0),
        Err(Error::template_not_found("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V"))
    );
    let (created, _) = create_sample(&db, "T", "x", &[]);
    let broken = update(&db, &created.id, &body_update("}} oops"), T0);
    assert!(
        matches!(&broken, Err(Error::Invalid(e)) if e.field == "body" && e.code == "invalid_template"),
        "{broken:?}"
    );
    assert_eq!(get(&db, &created.id).map(|t| t.latest_version), Ok(1));
}

#[test]
fn delete_removes_the_template_its_versions_tags_and_labels() {
    let db = db();
    let (created, _) = create_sample(&db, "Gone", "v1", &["tag"]);
    new_version(&db, &created.id, "v2", T0 + 1);
    crate::labels::set(&db, &created.id, "production", 1, T0 + 2).expect("label");
    assert_eq!(delete(&db, &created.id), Ok(()));
    assert_eq!(
        get(&db, &created.id),
        Err(Error::template_not_found(&created.id))
    );
    for table in ["tpl_versions", "tpl_tags", "tpl_labels"] {
        let rows = db
            .execute(&format!("SELECT * FROM {table}"), &[])
            .expect("select");
        assert_eq!(rows.len(), 0, "{table}");
    }
    assert_eq!(
        delete(&db, &created.id),
        Err(Error::template_not_found(&created.id))
    );
    // The name is free again.
    create_sample(&db, "Gone", "again", &[]);
}

#[test]
fn database_failures_are_internal() {
    let db = NativeDb::memory(); // never migrated: no tables
    let result = get(&db, "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V");
    assert_eq!(
        result,
        Err(Error::Internal(
            "template storage failed: database error: no such table: tpl_templates".into()
        ))
    );
}

/// C11: 20 writers on their own connections to one file each save a version of one template.
#[test]
fn concurrent_updates_get_unique_contiguous_versions() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("templates.db");
    let setup = NativeDb::file(&path).expect("opening the database file");
    schema::migrate(&setup).expect("migrating");
    let (created, _) = create_sample(&setup, "Contended", "v1 {{subject}}", &[]);
    let connections: Vec<NativeDb> = (0..20)
        .map(|_| NativeDb::file(&path).expect("opening a connection"))
        .collect();

    let results: Vec<Result<u32, Error>> = std::thread::scope(|scope| {
        let writers: Vec<_> = connections
            .iter()
            .enumerate()
            .map(|(i, db)| {
                let id = &created.id;
                scope.spawn(move || {
                    let change = body_update(&format!("writer {i} {{{{subject}}}}"));
                    update(db, id, &change, T0 + 1).map(|(_, v)| v.version)
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().expect("writer thread"))
            .collect()
    });

    // A writer that waited too long would get a conflict; with SQLite's five-second wait for
    // the write lock, all 20 get a number here.
    let mut saved: Vec<u32> = results
        .iter()
        .map(|r| r.clone().expect("every writer saves a version"))
        .collect();
    saved.sort_unstable();
    assert_eq!(saved, (2..=21).collect::<Vec<u32>>());
    let stored: Vec<u32> = versions::list(&setup, &created.id)
        .expect("listing")
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(stored, (1..=21).collect::<Vec<u32>>());
    assert_eq!(get(&setup, &created.id).map(|t| t.latest_version), Ok(21));
}
