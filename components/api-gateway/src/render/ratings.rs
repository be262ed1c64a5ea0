//! Scores per template version and A/B experiments.

use serde_json::{Map, Value, json};

use crate::model::{Comparison, Experiment, ExperimentResults, ScoreSummary, VersionStats};
use crate::rfc3339::format_ms;

/// `count`, `mean`, `std_dev`, `ci_low`, `ci_high` into `object`; mean and deviation are
/// `null` without ratings, the interval below two.
fn put_scores(object: &mut Map<String, Value>, s: &ScoreSummary) {
    let rated = s.count > 0;
    object.insert("count".into(), json!(s.count));
    object.insert("mean".into(), json!(rated.then_some(s.mean)));
    object.insert("std_dev".into(), json!(rated.then_some(s.std_dev)));
    object.insert("ci_low".into(), json!(s.ci_low));
    object.insert("ci_high".into(), json!(s.ci_high));
}

/// `GET /api/templates/{id}/stats`.
pub fn stats(template_id: &str, versions: &[VersionStats]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut object = Map::new();
            object.insert("version".into(), json!(v.version));
            put_scores(&mut object, &v.scores);
            Value::Object(object)
        })
        .collect();
    json!({ "template_id": template_id, "versions": versions })
}

/// An experiment as set.
pub fn experiment(e: &Experiment) -> Value {
    let arms: Vec<Value> = e
        .arms
        .iter()
        .map(|a| json!({ "version": a.version, "weight": a.weight }))
        .collect();
    json!({
        "template_id": e.template_id,
        "arms": arms,
        "created_at": format_ms(e.created_at),
    })
}

/// `GET /api/experiments/{template_id}`: every arm's scores and each arm against control.
pub fn experiment_results(r: &ExperimentResults) -> Value {
    let arms: Vec<Value> = r
        .arms
        .iter()
        .map(|a| {
            let mut object = Map::new();
            object.insert("version".into(), json!(a.arm.version));
            object.insert("weight".into(), json!(a.arm.weight));
            object.insert("assigned".into(), json!(a.assigned));
            put_scores(&mut object, &a.scores);
            Value::Object(object)
        })
        .collect();
    let comparisons: Vec<Value> = r.comparisons.iter().map(comparison).collect();
    json!({
        "template_id": r.experiment.template_id,
        "arms": arms,
        "comparisons": comparisons,
    })
}

fn comparison(c: &Comparison) -> Value {
    json!({
        "version": c.version,
        "control_version": c.control_version,
        "difference": c.difference,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "p_value": c.p_value,
        "significant": c.significant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arm, ArmResult};

    fn one_rating() -> ScoreSummary {
        ScoreSummary {
            count: 1,
            mean: 5.0,
            std_dev: 0.0,
            ci_low: None,
            ci_high: None,
        }
    }

    #[test]
    fn stats_list_each_version_with_its_interval() {
        let two = ScoreSummary {
            count: 2,
            mean: 3.5,
            std_dev: 2.1213,
            ci_low: Some(-15.56),
            ci_high: Some(22.56),
        };
        let versions = [
            VersionStats {
                version: 1,
                scores: one_rating(),
            },
            VersionStats {
                version: 2,
                scores: two,
            },
        ];
        assert_eq!(
            stats("tpl_1", &versions),
            json!({
                "template_id": "tpl_1",
                "versions": [
                    { "version": 1, "count": 1, "mean": 5.0, "std_dev": 0.0, "ci_low": null, "ci_high": null },
                    { "version": 2, "count": 2, "mean": 3.5, "std_dev": 2.1213, "ci_low": -15.56, "ci_high": 22.56 },
                ],
            })
        );
    }

    #[test]
    fn unrated_versions_have_no_mean() {
        let none = ScoreSummary {
            count: 0,
            mean: 0.0,
            std_dev: 0.0,
            ci_low: None,
            ci_high: None,
        };
        let value = stats(
            "tpl_1",
            &[VersionStats {
                version: 3,
                scores: none,
            }],
        );
        assert_eq!(
            value["versions"][0],
            json!({ "version": 3, "count": 0, "mean": null, "std_dev": null, "ci_low": null, "ci_high": null })
        );
    }

    #[test]
    fn experiments_render_their_arms_and_comparisons() {
        let e = Experiment {
            template_id: "tpl_1".into(),
            arms: vec![
                Arm {
                    version: 1,
                    weight: 1,
                },
                Arm {
                    version: 2,
                    weight: 3,
                },
            ],
            created_at: 0,
        };
        assert_eq!(
            experiment(&e),
            json!({
                "template_id": "tpl_1",
                "arms": [{ "version": 1, "weight": 1 }, { "version": 2, "weight": 3 }],
                "created_at": "1970-01-01T00:00:00.000Z",
            })
        );
        let results = ExperimentResults {
            arms: vec![ArmResult {
                arm: e.arms[0],
                assigned: 4,
                scores: one_rating(),
            }],
            comparisons: vec![Comparison {
                version: 2,
                control_version: 1,
                difference: -1.5,
                ci_low: None,
                ci_high: None,
                p_value: Some(0.25),
                significant: false,
            }],
            experiment: e,
        };
        assert_eq!(
            experiment_results(&results),
            json!({
                "template_id": "tpl_1",
                "arms": [{
                    "version": 1, "weight": 1, "assigned": 4,
                    "count": 1, "mean": 5.0, "std_dev": 0.0, "ci_low": null, "ci_high": null,
                }],
                "comparisons": [{
                    "version": 2, "control_version": 1, "difference": -1.5,
                    "ci_low": null, "ci_high": null, "p_value": 0.25, "significant": false,
                }],
            })
        );
    }
}
