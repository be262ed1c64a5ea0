//! The service's records, mirroring `promptmesh:ratings/types`. Times are Unix milliseconds.

/// The input of `rate`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRating {
    pub image_id: String,
    /// Who rates: one rating per user per image; a second replaces the first.
    pub user: String,
    /// 1 to 5.
    pub score: u8,
    /// Trimmed; empty means none.
    pub feedback: Option<String>,
    /// The template version the image was made from, when it was made from one.
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
}

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub image_id: String,
    pub user: String,
    pub score: u8,
    pub feedback: Option<String>,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
    /// When the user first rated the image.
    pub created_at: u64,
    /// When the user last rated it (the current score's time).
    pub updated_at: u64,
}

/// Count, mean, sample standard deviation and 95% Student's t interval of some scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSummary {
    pub count: u32,
    /// 0.0 without ratings.
    pub mean: f64,
    /// 0.0 below two ratings.
    pub std_dev: f64,
    /// Absent below two ratings.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The scores of one template version.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VersionStats {
    pub version: u32,
    pub scores: ScoreSummary,
}

/// One arm of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    pub version: u32,
    /// Relative share of traffic, 1 to 1000.
    pub weight: u32,
}

/// An experiment between versions of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    pub template_id: String,
    /// In the order set; the first is the control.
    pub arms: Vec<Arm>,
    /// When the experiment was (last) set: assignments and counted ratings start here.
    pub created_at: u64,
}

/// One arm's users and scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmResult {
    pub version: u32,
    pub weight: u32,
    /// Users assigned to this arm.
    pub assigned: u32,
    /// Ratings of this version given since the experiment started.
    pub scores: ScoreSummary,
}

/// One arm against the control (Welch's t-test).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub version: u32,
    pub control_version: u32,
    /// Mean of this arm minus mean of the control; 0.0 when either has no ratings.
    pub difference: f64,
    /// 95% interval of the difference; absent when the test cannot be made.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Two-sided; absent when the test cannot be made.
    pub p_value: Option<f64>,
    /// p < 0.05.
    pub significant: bool,
}

/// An experiment with every arm's results and each non-control arm against the control.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResults {
    pub experiment: Experiment,
    pub arms: Vec<ArmResult>,
    pub comparisons: Vec<Comparison>,
}
