use super::*;
use crate::model::{Comparison, NewRating, ScoreSummary};
use crate::ratings::rate;
use crate::testing::{T0, TEMPLATE, arm, db, new_rating, rate_all};
use crate::{Error, FieldError};

const MINUTE: u64 = 60_000;

fn start(db: &dyn Db, arms: &[Arm], now: u64) -> Experiment {
    set(db, TEMPLATE, arms, now).expect("valid arms")
}

fn no_experiment() -> Error {
    Error::NotFound(format!("template `{TEMPLATE}` has no experiment"))
}

#[test]
fn a_set_experiment_can_be_read_back_with_its_arms_in_order() {
    let db = db();
    let set = start(&db, &[arm(2, 1), arm(1, 3)], T0);
    let expected = Experiment {
        template_id: TEMPLATE.into(),
        arms: vec![arm(2, 1), arm(1, 3)],
        created_at: T0,
    };
    assert_eq!(set, expected);
    assert_eq!(get(&db, TEMPLATE), Ok(expected));
}

#[test]
fn invalid_arms_are_refused_and_leave_the_experiment_as_it_was() {
    let db = db();
    let before = start(&db, &[arm(1, 1), arm(2, 1)], T0);
    let result = set(&db, TEMPLATE, &[arm(1, 1), arm(2, 0)], T0 + 1);
    assert!(
        matches!(&result, Err(Error::Invalid(FieldError { field, code, .. }))
            if field == "arms[1].weight" && code == "weight_out_of_range"),
        "{result:?}"
    );
    assert_eq!(get(&db, TEMPLATE), Ok(before));
}

#[test]
fn every_call_without_an_experiment_is_not_found() {
    let db = db();
    assert_eq!(get(&db, TEMPLATE), Err(no_experiment()));
    assert_eq!(delete(&db, TEMPLATE), Err(no_experiment()));
    assert_eq!(assign(&db, TEMPLATE, "key_a", T0), Err(no_experiment()));
    assert_eq!(results(&db, TEMPLATE), Err(no_experiment()));
}

#[test]
fn deleting_ends_the_experiment_and_its_assignments() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 1)], T0);
    assign(&db, TEMPLATE, "key_a", T0 + 1).expect("assigned");
    assert_eq!(delete(&db, TEMPLATE), Ok(()));
    assert_eq!(get(&db, TEMPLATE), Err(no_experiment()));
    assert_eq!(assign(&db, TEMPLATE, "key_a", T0 + 2), Err(no_experiment()));
    assert_eq!(delete(&db, TEMPLATE), Err(no_experiment()));
    let left = db
        .execute("SELECT count(*) AS n FROM rate_assignments", &[])
        .expect("count");
    assert_eq!(left.first().expect("row").get::<u32>("n"), Ok(0));
}

#[test]
fn a_user_keeps_the_arm_of_their_first_call() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 1)], T0);
    let first = assign(&db, TEMPLATE, "key-1", T0 + 1).expect("assigned");
    // key-1's hash puts it in the second half (see the split test's check).
    assert_eq!(first, 2);
    for i in 2..10 {
        assert_eq!(assign(&db, TEMPLATE, "key-1", T0 + i), Ok(first));
    }
    let results = results(&db, TEMPLATE).expect("results");
    let assigned: Vec<u32> = results.arms.iter().map(|a| a.assigned).collect();
    assert_eq!(assigned, [0, 1]);
}

#[test]
fn the_stored_arm_wins_over_a_change_of_weights_only_until_the_experiment_is_replaced() {
    let db = db();
    // A weight of 1000 to 1 puts nearly everyone, key-1 included, on version 1.
    start(&db, &[arm(1, 1000), arm(2, 1)], T0);
    assert_eq!(assign(&db, TEMPLATE, "key-1", T0 + 1), Ok(1));
    db.execute("UPDATE rate_arms SET weight = 1 WHERE version = 1", &[])
        .expect("reweight in place");
    assert_eq!(assign(&db, TEMPLATE, "key-1", T0 + 2), Ok(1));
    start(&db, &[arm(1, 1), arm(2, 1)], T0 + 3);
    assert_eq!(assign(&db, TEMPLATE, "key-1", T0 + 4), Ok(2));
}

#[test]
fn a_thousand_users_split_one_to_three() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 3)], T0);
    for i in 0..1000 {
        assign(&db, TEMPLATE, &format!("user-{i}"), T0 + 1).expect("assigned");
    }
    // Checked outside Rust: with h = the first 8 bytes (big-endian) of
    // sha256(be_u64(len(template)) ‖ template ‖ user), the point (h·4) >> 64 is 0 for 260
    // of user-0 ... user-999 (see `bucket`).
    let results = results(&db, TEMPLATE).expect("results");
    let assigned: Vec<u32> = results.arms.iter().map(|a| a.assigned).collect();
    assert_eq!(assigned, [260, 740]);
}

#[test]
fn replacing_an_experiment_resets_its_assignments_and_start() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 1)], T0);
    for user in ["key-0", "key-1", "key-2"] {
        assign(&db, TEMPLATE, user, T0 + 1).expect("assigned");
    }
    let replaced = start(&db, &[arm(1, 1), arm(2, 1)], T0 + MINUTE);
    assert_eq!(replaced.created_at, T0 + MINUTE);
    let results = results(&db, TEMPLATE).expect("results");
    assert_eq!(results.experiment, replaced);
    assert_eq!(
        results.arms.iter().map(|a| a.assigned).sum::<u32>(),
        0,
        "{results:?}"
    );
}

#[test]
fn a_blank_user_is_invalid() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 1)], T0);
    let result = assign(&db, TEMPLATE, "  ", T0);
    assert!(
        matches!(&result, Err(Error::Invalid(FieldError { field, .. })) if field == "user"),
        "{result:?}"
    );
}

#[test]
fn results_count_ratings_given_since_the_start_and_compare_with_the_control() {
    let db = db();
    // Before the start: a rating of version 2 that does not count, and one that is
    // replaced after the start and so counts with its new score.
    rate(&db, &new_rating("img_early", "early", 1, 2), T0).expect("old rating");
    rate(&db, &new_rating("img_late", "late", 1, 1), T0).expect("old rating");
    start(&db, &[arm(1, 1), arm(2, 1)], T0 + MINUTE);
    rate(&db, &new_rating("img_late", "late", 3, 1), T0 + 2 * MINUTE).expect("re-rated");
    // Control scores [3, 4, 2, 5, 4] plus the re-rated 3; version 2 [5, 4, 5, 4, 5, 3, 5].
    for (i, score) in [3u8, 4, 2, 5, 4].into_iter().enumerate() {
        let rating = new_rating(&format!("img_c{i}"), &format!("c{i}"), score, 1);
        rate(&db, &rating, T0 + 2 * MINUTE).expect("control rating");
    }
    rate_all(&db, 2, &[5, 4, 5, 4, 5, 3, 5], T0 + 3 * MINUTE);

    let results = results(&db, TEMPLATE).expect("results");
    let scores: Vec<(u32, u32, f64)> = results
        .arms
        .iter()
        .map(|a| (a.version, a.scores.count, a.scores.mean))
        .collect();
    assert_eq!(scores, [(1, 6, 3.5), (2, 7, 31.0 / 7.0)]);
    // The same samples as the Welch test in `stats`, with the values it checks.
    assert_eq!(
        results.comparisons,
        vec![Comparison {
            version: 2,
            control_version: 1,
            difference: 0.9285714285714288,
            ci_low: Some(-0.24677550056293818),
            ci_high: Some(2.103918357705796),
            p_value: Some(0.10783127401877095),
            significant: false,
        }]
    );
}

#[test]
fn an_experiment_without_ratings_has_empty_arms_and_untested_comparisons() {
    let db = db();
    let experiment = start(&db, &[arm(1, 1), arm(2, 2), arm(3, 3)], T0);
    let empty = ScoreSummary {
        count: 0,
        mean: 0.0,
        std_dev: 0.0,
        ci_low: None,
        ci_high: None,
    };
    let untested = |version| Comparison {
        version,
        control_version: 1,
        difference: 0.0,
        ci_low: None,
        ci_high: None,
        p_value: None,
        significant: false,
    };
    assert_eq!(
        results(&db, TEMPLATE),
        Ok(ExperimentResults {
            experiment,
            arms: [(1, 1), (2, 2), (3, 3)]
                .into_iter()
                .map(|(version, weight)| ArmResult {
                    version,
                    weight,
                    assigned: 0,
                    scores: empty,
                })
                .collect(),
            comparisons: vec![untested(2), untested(3)],
        })
    );
}

#[test]
fn ratings_of_other_templates_and_versions_outside_the_arms_do_not_count() {
    let db = db();
    start(&db, &[arm(1, 1), arm(2, 1)], T0);
    rate_all(&db, 3, &[5, 5], T0 + 1);
    let other = NewRating {
        template_id: Some("tpl_other".into()),
        ..new_rating("img_o", "key_a", 1, 1)
    };
    rate(&db, &other, T0 + 1).expect("other template");
    let results = results(&db, TEMPLATE).expect("results");
    assert!(
        results.arms.iter().all(|a| a.scores.count == 0),
        "{results:?}"
    );
}
