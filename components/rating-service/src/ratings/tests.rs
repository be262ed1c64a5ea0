use std::f64::consts::FRAC_1_SQRT_2;

use super::*;
use crate::model::ScoreSummary;
use crate::testing::{T0, TEMPLATE, db, new_rating, rate_all};
use crate::{Error, FieldError};

#[test]
fn a_first_rating_is_stored_with_both_times_now() {
    let db = db();
    let input = NewRating {
        feedback: Some(" lovely ".into()),
        ..new_rating("img_1", "key_a", 4, 2)
    };
    let rating = rate(&db, &input, T0).expect("valid rating");
    let expected = Rating {
        image_id: "img_1".into(),
        user: "key_a".into(),
        score: 4,
        feedback: Some("lovely".into()),
        template_id: Some(TEMPLATE.into()),
        template_version: Some(2),
        created_at: T0,
        updated_at: T0,
    };
    assert_eq!(rating, expected);
    assert_eq!(for_image(&db, "img_1"), Ok(vec![expected]));
}

#[test]
fn a_second_rating_by_the_same_user_replaces_the_first() {
    let db = db();
    rate(&db, &new_rating("img_1", "key_a", 2, 1), T0).expect("first");
    let second = NewRating {
        feedback: Some("better on a second look".into()),
        ..new_rating("img_1", "key_a", 5, 1)
    };
    let replaced = rate(&db, &second, T0 + 60_000).expect("second");
    assert_eq!(
        (replaced.score, replaced.created_at, replaced.updated_at),
        (5, T0, T0 + 60_000)
    );
    assert_eq!(
        replaced.feedback.as_deref(),
        Some("better on a second look")
    );
    assert_eq!(for_image(&db, "img_1"), Ok(vec![replaced]));
}

#[test]
fn replacing_without_feedback_clears_it() {
    let db = db();
    let first = NewRating {
        feedback: Some("meh".into()),
        ..new_rating("img_1", "key_a", 2, 1)
    };
    rate(&db, &first, T0).expect("first");
    let second = rate(&db, &new_rating("img_1", "key_a", 3, 1), T0 + 1).expect("second");
    assert_eq!(second.feedback, None);
}

#[test]
fn ratings_of_an_image_are_listed_oldest_first() {
    let db = db();
    rate(&db, &new_rating("img_1", "key_b", 3, 1), T0).expect("b");
    rate(&db, &new_rating("img_1", "key_a", 4, 1), T0 + 5).expect("a");
    rate(&db, &new_rating("img_2", "key_a", 1, 1), T0 + 6).expect("other image");
    // key_b re-rates later but stays first: the order is by first rating.
    rate(&db, &new_rating("img_1", "key_b", 5, 1), T0 + 9).expect("b again");
    let listed = for_image(&db, "img_1").expect("list");
    let order: Vec<(&str, u8)> = listed.iter().map(|r| (r.user.as_str(), r.score)).collect();
    assert_eq!(order, [("key_b", 5), ("key_a", 4)]);
}

#[test]
fn an_image_without_ratings_has_an_empty_list() {
    assert_eq!(for_image(&db(), "img_none"), Ok(Vec::new()));
}

#[test]
fn scores_out_of_range_are_refused_and_nothing_is_stored() {
    let db = db();
    for score in [0, 6] {
        let result = rate(&db, &new_rating("img_1", "key_a", score, 1), T0);
        assert!(
            matches!(&result, Err(Error::Invalid(FieldError { field, code, .. }))
                if field == "score" && code == "score_out_of_range"),
            "{result:?}"
        );
    }
    assert_eq!(for_image(&db, "img_1"), Ok(Vec::new()));
    for score in [1, 5] {
        let image = format!("img_{score}");
        let stored = rate(&db, &new_rating(&image, "key_a", score, 1), T0).expect("in range");
        assert_eq!(stored.score, score);
    }
}

#[test]
fn one_rating_of_five_has_mean_five_and_no_interval() {
    let db = db();
    rate_all(&db, 1, &[5], T0);
    assert_eq!(
        stats_by_version(&db, TEMPLATE),
        Ok(vec![VersionStats {
            version: 1,
            scores: ScoreSummary {
                count: 1,
                mean: 5.0,
                std_dev: 0.0,
                ci_low: None,
                ci_high: None,
            },
        }])
    );
}

#[test]
fn stats_are_per_version_by_version_with_replaced_ratings_counted_once() {
    let db = db();
    rate_all(&db, 3, &[2], T0);
    rate_all(&db, 1, &[4, 4], T0);
    // user-1 changes their 4 on version 1 to a 5: version 1 now has [4, 5].
    rate(&db, &new_rating("img_v1_1", "user-1", 5, 1), T0 + 1).expect("replace");
    let stats = stats_by_version(&db, TEMPLATE).expect("stats");
    let t = 12.70620473617469; // t(0.975, 1), as statrs computes it
    assert_eq!(
        stats,
        vec![
            VersionStats {
                version: 1,
                scores: ScoreSummary {
                    count: 2,
                    mean: 4.5,
                    // √0.5 = 0.7071067811865476
                    std_dev: FRAC_1_SQRT_2,
                    ci_low: Some(4.5 - t * 0.5),
                    ci_high: Some(4.5 + t * 0.5),
                },
            },
            VersionStats {
                version: 3,
                scores: ScoreSummary {
                    count: 1,
                    mean: 2.0,
                    std_dev: 0.0,
                    ci_low: None,
                    ci_high: None,
                },
            },
        ]
    );
}

#[test]
fn stats_leave_out_other_templates_and_images_without_a_template() {
    let db = db();
    rate_all(&db, 1, &[3], T0);
    let other = NewRating {
        template_id: Some("tpl_other".into()),
        ..new_rating("img_o", "key_a", 1, 1)
    };
    rate(&db, &other, T0).expect("other template");
    let plain = NewRating {
        template_id: None,
        template_version: None,
        ..new_rating("img_p", "key_a", 1, 1)
    };
    rate(&db, &plain, T0).expect("no template");
    let stats = stats_by_version(&db, TEMPLATE).expect("stats");
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].version, stats[0].scores.mean), (1, 3.0));
}

#[test]
fn a_template_without_ratings_has_no_stats() {
    assert_eq!(stats_by_version(&db(), TEMPLATE), Ok(Vec::new()));
}

#[test]
fn a_broken_database_is_internal() {
    // No migration: the tables do not exist.
    let db = promptmesh_guest::db::NativeDb::memory();
    let result = for_image(&db, "img_1");
    assert!(
        matches!(&result, Err(Error::Internal(m)) if m.starts_with("rating storage failed: ")),
        "{result:?}"
    );
}
