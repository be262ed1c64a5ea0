use super::*;
use crate::labels;
use crate::testing::{T0, create, db, new_version};

const MISSING: &str = "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";

#[test]
fn versions_are_listed_oldest_first() {
    let db = db();
    let (template, first) = create(&db, "T", "one {{a}}", &[]);
    let second = new_version(&db, &template.id, "two {{b}} {{a}}", T0 + 1);
    assert_eq!(list(&db, &template.id), Ok(vec![first, second.clone()]));
    assert_eq!(second.variables, vec!["b".to_string(), "a".to_string()]);
    assert_eq!(list(&db, MISSING), Err(Error::template_not_found(MISSING)));
}

#[test]
fn latest_number_and_label_select_versions() {
    let db = db();
    let (template, first) = create(&db, "T", "one", &[]);
    let second = new_version(&db, &template.id, "two", T0 + 1);
    labels::set(&db, &template.id, "production", 1, T0 + 2).expect("label");
    let id = &template.id;
    assert_eq!(resolve(&db, id, &Selector::Latest), Ok(second.clone()));
    assert_eq!(
        resolve(&db, id, &Selector::Label("latest".into())),
        Ok(second.clone())
    );
    assert_eq!(resolve(&db, id, &Selector::Number(1)), Ok(first.clone()));
    assert_eq!(
        resolve(&db, id, &Selector::Label("production".into())),
        Ok(first)
    );
}

#[test]
fn an_unknown_version_or_label_is_not_found_naming_it() {
    let db = db();
    let (template, _) = create(&db, "T", "one", &[]);
    let id = &template.id;
    for n in [0, 2] {
        assert_eq!(
            resolve(&db, id, &Selector::Number(n)),
            Err(Error::NotFound(format!(
                "version {n} of template `{id}` does not exist: it has versions 1 to 1"
            )))
        );
    }
    assert_eq!(
        resolve(&db, id, &Selector::Label("beta".into())),
        Err(Error::NotFound(format!(
            "label `beta` of template `{id}` does not exist"
        )))
    );
    assert_eq!(
        resolve(&db, MISSING, &Selector::Latest),
        Err(Error::template_not_found(MISSING))
    );
}

/// C10: a label moved from version 1 to 2 resolves to 2 at once.
#[test]
fn a_moved_label_resolves_to_its_new_version_at_once() {
    let db = db();
    let (template, _) = create(&db, "Label move", "version one of {{subject}}", &[]);
    new_version(&db, &template.id, "version two of {{subject}}", T0 + 1);
    let production = Selector::Label("production".into());
    labels::set(&db, &template.id, "production", 1, T0 + 2).expect("label at 1");
    assert_eq!(
        resolve(&db, &template.id, &production).map(|v| v.version),
        Ok(1)
    );
    labels::set(&db, &template.id, "production", 2, T0 + 3).expect("label moved to 2");
    let resolved = resolve(&db, &template.id, &production).expect("resolves");
    assert_eq!(resolved.version, 2);
    assert_eq!(resolved.body, "version two of {{subject}}");
}
