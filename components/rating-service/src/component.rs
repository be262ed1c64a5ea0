//! The component: exports `promptmesh:ratings/ratings@0.1.0` and
//! `promptmesh:ratings/experiments@0.1.0` over Spin's SQLite database `default`, converting
//! between the WIT types and the service's records.

wit_bindgen::generate!({
    world: "rating-service",
    path: "../../wit/services",
    generate_all,
});

use exports::promptmesh::ratings::experiments::Guest as ExperimentsGuest;
use exports::promptmesh::ratings::ratings::Guest as RatingsGuest;
use promptmesh::ratings::types as wit;
use promptmesh_guest::db::SpinDb;
use promptmesh_guest::time::now_ms;

use crate::error::{Error, FieldError};
use crate::model;
use crate::{experiments, ratings, schema};

struct RatingService;

impl RatingsGuest for RatingService {
    fn rate(rating: wit::NewRating) -> Result<wit::Rating, wit::Error> {
        let input = model::NewRating {
            image_id: rating.image_id,
            user: rating.user,
            score: rating.score,
            feedback: rating.feedback,
            template_id: rating.template_id,
            template_version: rating.template_version,
        };
        Ok(ratings::rate(&open()?, &input, now_ms())?.into())
    }

    fn for_image(image_id: String) -> Result<Vec<wit::Rating>, wit::Error> {
        let list = ratings::for_image(&open()?, &image_id)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    fn stats_by_version(template_id: String) -> Result<Vec<wit::VersionStats>, wit::Error> {
        let stats = ratings::stats_by_version(&open()?, &template_id)?;
        Ok(stats
            .into_iter()
            .map(|s| wit::VersionStats {
                version: s.version,
                scores: s.scores.into(),
            })
            .collect())
    }
}

impl ExperimentsGuest for RatingService {
    fn set(template_id: String, arms: Vec<wit::Arm>) -> Result<wit::Experiment, wit::Error> {
        let arms: Vec<model::Arm> = arms
            .into_iter()
            .map(|a| model::Arm {
                version: a.version,
                weight: a.weight,
            })
            .collect();
        Ok(experiments::set(&open()?, &template_id, &arms, now_ms())?.into())
    }

    fn get(template_id: String) -> Result<wit::Experiment, wit::Error> {
        Ok(experiments::get(&open()?, &template_id)?.into())
    }

    fn delete(template_id: String) -> Result<(), wit::Error> {
        Ok(experiments::delete(&open()?, &template_id)?)
    }

    fn assign(template_id: String, user: String) -> Result<Option<u32>, wit::Error> {
        // The contract answers none for a template without an experiment.
        match experiments::assign(&open()?, &template_id, &user, now_ms()) {
            Ok(version) => Ok(Some(version)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn results(template_id: String) -> Result<wit::ExperimentResults, wit::Error> {
        let results = experiments::results(&open()?, &template_id)?;
        Ok(wit::ExperimentResults {
            experiment: results.experiment.into(),
            arms: results.arms.into_iter().map(Into::into).collect(),
            comparisons: results.comparisons.into_iter().map(Into::into).collect(),
        })
    }
}

/// The database `default`, with the service's tables in place.
fn open() -> Result<SpinDb, Error> {
    let db = SpinDb::open_default()?;
    schema::migrate(&db)?;
    Ok(db)
}

impl From<model::Rating> for wit::Rating {
    fn from(r: model::Rating) -> Self {
        wit::Rating {
            image_id: r.image_id,
            user: r.user,
            score: r.score,
            feedback: r.feedback,
            template_id: r.template_id,
            template_version: r.template_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl From<model::ScoreSummary> for wit::ScoreSummary {
    fn from(s: model::ScoreSummary) -> Self {
        wit::ScoreSummary {
            count: s.count,
            mean: s.mean,
            std_dev: s.std_dev,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
        }
    }
}

impl From<model::Experiment> for wit::Experiment {
    fn from(e: model::Experiment) -> Self {
        wit::Experiment {
            template_id: e.template_id,
            arms: e
                .arms
                .into_iter()
                .map(|a| wit::Arm {
                    version: a.version,
                    weight: a.weight,
                })
                .collect(),
            created_at: e.created_at,
        }
    }
}

impl From<model::ArmResult> for wit::ArmResult {
    fn from(a: model::ArmResult) -> Self {
        wit::ArmResult {
            version: a.version,
            weight: a.weight,
            assigned: a.assigned,
            scores: a.scores.into(),
        }
    }
}

impl From<model::Comparison> for wit::Comparison {
    fn from(c: model::Comparison) -> Self {
        wit::Comparison {
            version: c.version,
            control_version: c.control_version,
            difference: c.difference,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            p_value: c.p_value,
            significant: c.significant,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(m) => wit::Error::NotFound(m),
            Error::Invalid(FieldError {
                field,
                code,
                message,
            }) => wit::Error::Invalid(wit::FieldError {
                field,
                code,
                message,
            }),
            Error::Internal(m) => wit::Error::Internal(m),
        }
    }
}

export!(RatingService);
