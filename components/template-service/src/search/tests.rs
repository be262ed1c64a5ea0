use super::*;
use crate::model::{Template, TemplateUpdate};
use crate::testing::{T0, create, db};
use crate::{FieldError, templates};

fn query(text: Option<&str>, tag: Option<&str>, limit: u32) -> SearchQuery {
    SearchQuery {
        text: text.map(str::to_string),
        tag: tag.map(str::to_string),
        limit,
        cursor: None,
    }
}

fn names(page: &TemplatePage) -> Vec<&str> {
    page.items.iter().map(|t| t.name.as_str()).collect()
}

/// Three templates: `Red fox` (animal), `Blue whale` (animal), `Red car` (vehicle).
fn sample(db: &dyn Db) -> Vec<Template> {
    [
        ("Red fox", "animal"),
        ("Blue whale", "animal"),
        ("Red car", "vehicle"),
    ]
    .into_iter()
    .map(|(name, tag)| {
        let body = format!("{name} with {{{{subject}}}}");
        let input = crate::NewTemplate {
            name: name.into(),
            body,
            tags: vec![tag.into()],
            ..Default::default()
        };
        templates::create(db, &input, T0).expect("create").0
    })
    .collect()
}

#[test]
fn text_matches_name_case_insensitively_in_creation_order() {
    let db = db();
    sample(&db);
    let page = search(&db, &query(Some("RED"), None, 20)).expect("search");
    assert_eq!(names(&page), ["Red fox", "Red car"]);
    assert_eq!(page.next_cursor, None);
}

#[test]
fn text_matches_the_latest_body_and_tags() {
    let db = db();
    let created = sample(&db);
    let by_tag_text = search(&db, &query(Some("nima"), None, 20)).expect("search");
    assert_eq!(names(&by_tag_text), ["Red fox", "Blue whale"]);

    let change = TemplateUpdate {
        body: "Ein großes Ölgemälde of {{subject}}".into(),
        ..TemplateUpdate::default()
    };
    templates::update(&db, &created[1].id, &change, T0 + 1).expect("update");
    let by_body = search(&db, &query(Some("ÖLGEMÄLDE"), None, 20)).expect("search");
    assert_eq!(names(&by_body), ["Blue whale"]);
    // Only the latest body counts.
    let old_body = search(&db, &query(Some("whale with"), None, 20)).expect("search");
    assert_eq!(names(&old_body), Vec::<&str>::new());
}

#[test]
fn like_wildcards_in_the_text_are_literal() {
    let db = db();
    create(&db, "100% cotton", "a", &[]);
    create(&db, "snake_case", "b", &[]);
    create(&db, "plain", "c", &[]);
    assert_eq!(
        names(&search(&db, &query(Some("%"), None, 20)).expect("s")),
        ["100% cotton"]
    );
    assert_eq!(
        names(&search(&db, &query(Some("_"), None, 20)).expect("s")),
        ["snake_case"]
    );
    assert_eq!(
        names(&search(&db, &query(Some("\\"), None, 20)).expect("s")),
        Vec::<&str>::new()
    );
}

#[test]
fn tag_matches_exactly_and_combines_with_text() {
    let db = db();
    sample(&db);
    let animals = search(&db, &query(None, Some(" Animal "), 20)).expect("search");
    assert_eq!(names(&animals), ["Red fox", "Blue whale"]);
    let partial = search(&db, &query(None, Some("anim"), 20)).expect("search");
    assert_eq!(names(&partial), Vec::<&str>::new());
    let both = search(&db, &query(Some("RED"), Some("vehicle"), 20)).expect("search");
    assert_eq!(names(&both), ["Red car"]);
}

#[test]
fn empty_filters_match_everything() {
    let db = db();
    sample(&db);
    let all = search(&db, &query(Some(""), Some(""), 20)).expect("search");
    assert_eq!(names(&all), ["Red fox", "Blue whale", "Red car"]);
}

#[test]
fn pages_continue_from_the_cursor_and_the_last_page_has_none() {
    let db = db();
    let created = sample(&db);
    let first = search(&db, &query(None, None, 2)).expect("first page");
    assert_eq!(names(&first), ["Red fox", "Blue whale"]);
    assert_eq!(first.next_cursor, Some(cursor::encode(&created[1].id)));
    let next = SearchQuery {
        cursor: first.next_cursor,
        ..query(None, None, 2)
    };
    let second = search(&db, &next).expect("second page");
    assert_eq!(names(&second), ["Red car"]);
    assert_eq!(second.next_cursor, None);
    let exact = search(&db, &query(None, None, 3)).expect("exactly one page");
    assert_eq!(exact.next_cursor, None);
}

#[test]
fn a_cursor_of_a_deleted_template_still_continues() {
    let db = db();
    let created = sample(&db);
    templates::delete(&db, &created[1].id).expect("delete");
    let next = SearchQuery {
        cursor: Some(cursor::encode(&created[1].id)),
        ..query(None, None, 20)
    };
    assert_eq!(names(&search(&db, &next).expect("search")), ["Red car"]);
}

#[test]
fn an_undecodable_cursor_is_invalid() {
    let db = db();
    for bad in [
        "not base64!",
        &cursor::encode("job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V"),
    ] {
        let request = SearchQuery {
            cursor: Some(bad.to_string()),
            ..query(None, None, 20)
        };
        assert_eq!(
            search(&db, &request),
            Err(Error::Invalid(FieldError {
                field: "cursor".into(),
                code: "invalid_cursor".into(),
                message: format!(
                    "cursor `{bad}` was not made by this service: pass the `next_cursor` of \
                     the previous page, or none for the first page"
                ),
            }))
        );
    }
}

#[test]
fn a_limit_outside_1_to_100_is_invalid() {
    let db = db();
    for limit in [0, 101] {
        let result = search(&db, &query(None, None, limit));
        assert!(
            matches!(&result, Err(Error::Invalid(e)) if e.field == "limit" && e.code == "invalid_limit"),
            "{result:?}"
        );
    }
    assert_eq!(
        search(&db, &query(None, None, 100)).map(|p| p.items.len()),
        Ok(0)
    );
}

#[test]
fn results_carry_tags_and_labels() {
    let db = db();
    let created = sample(&db);
    crate::labels::set(&db, &created[0].id, "production", 1, T0 + 1).expect("label");
    let page = search(&db, &query(Some("fox"), None, 20)).expect("search");
    assert_eq!(
        page.items,
        vec![templates::get(&db, &created[0].id).expect("get")]
    );
    assert_eq!(page.items[0].tags, vec!["animal".to_string()]);
    assert_eq!(page.items[0].labels.len(), 2);
}
