//! Plain records mirroring the WIT contracts' types, so that parsing, rendering and error
//! mapping compile and are tested natively; `component::convert` fills them from the
//! bindings. Times are Unix milliseconds, as in the contracts.

use std::fmt;

/// A key's tier: its rate limit, its job priority and (for `admin`) its rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Free,
    Premium,
    Admin,
}

impl Tier {
    /// Every tier, in the order the API lists them.
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Premium, Tier::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Premium => "premium",
            Tier::Admin => "admin",
        }
    }

    /// The tier named `name` exactly (lower case).
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job is in its life; `succeeded`, `failed` and `canceled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Storing,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Storing,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Storing => "storing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    /// The status named `name` exactly (lower case).
    pub fn parse(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The caller of a request: the API key that authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub name: String,
    pub tier: Tier,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.tier == Tier::Admin
    }

    /// Whether this key may see a job or image owned by `owner`.
    pub fn can_see(&self, owner: &str) -> bool {
        self.is_admin() || self.key_id == owner
    }

    /// The owner filter for listings: none for admins (they see everything).
    pub fn owner_filter(&self) -> Option<String> {
        (!self.is_admin()).then(|| self.key_id.clone())
    }
}

/// `promptmesh:templates/types.template`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub latest_version: u32,
    /// `(label, version)`, `latest` included.
    pub labels: Vec<(String, u32)>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// `promptmesh:templates/types.template-version`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVersion {
    pub template_id: String,
    pub version: u32,
    pub body: String,
    pub variables: Vec<String>,
    pub created_at: u64,
}

/// The template version a prompt, job or image came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRef {
    pub id: String,
    pub version: u32,
}

impl TemplateRef {
    /// The reference when both halves are present (jobs and images store them apart).
    pub fn from_parts(id: Option<&str>, version: Option<u32>) -> Option<TemplateRef> {
        Some(TemplateRef {
            id: id?.to_string(),
            version: version?,
        })
    }
}

/// `promptmesh:prompts/types.parameter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    pub position: u32,
}

/// `promptmesh:prompts/types.segment`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub text: String,
    pub weight: f64,
}

/// `promptmesh:prompts/types.prompt`: a valid, normalised prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub text: String,
    pub length: u32,
    pub parameters: Vec<Parameter>,
    pub segments: Vec<Segment>,
    pub model: String,
}

/// `promptmesh:prompts/types.issue`: one problem with a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub code: String,
    pub message: String,
    pub field: String,
    pub position: u32,
}

/// `field-error` of every service: the field as the REST API names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// `promptmesh:jobs/types.job`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub owner: String,
    pub tier: Tier,
    pub prompt: String,
    pub template: Option<TemplateRef>,
    /// `(name, value)` in the order given.
    pub variables: Vec<(String, String)>,
    pub callback_url: Option<String>,
    pub status: JobStatus,
    pub progress: u8,
    pub attempts: u32,
    pub failure_reason: Option<String>,
    pub failure_message: Option<String>,
    pub provider_task_id: Option<String>,
    pub image_id: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
}

/// `promptmesh:jobs/types.transition`: one state change of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub seq: u32,
    pub status: JobStatus,
    pub attempt: u32,
    pub at: u64,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// `promptmesh:jobs/types.notification`, without its body: how a state change's
/// notification to the callback URL went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationInfo {
    /// `evt_...`.
    pub id: String,
    /// The transition it reports.
    pub seq: u32,
    /// `pending`, `delivered` or `abandoned`.
    pub state: &'static str,
    pub attempts: u32,
    pub next_attempt_at: u64,
    pub last_error: Option<String>,
    pub delivered_at: Option<u64>,
}

/// `promptmesh:jobs/types.provider-report`: what a provider callback says about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    pub task_id: String,
    pub status: String,
    pub progress: Option<u8>,
    pub image_url: Option<String>,
    pub fail_reason: Option<String>,
}

/// `promptmesh:jobs/types.image`: a stored image's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub job_id: String,
    pub owner: String,
    pub template: Option<TemplateRef>,
    pub prompt: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub created_at: u64,
}

/// `promptmesh:ratings/types.rating`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub image_id: String,
    pub user: String,
    pub score: u8,
    pub feedback: Option<String>,
    pub template: Option<TemplateRef>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// `promptmesh:ratings/types.score-summary`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    pub count: u32,
    pub mean: f64,
    pub std_dev: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Scores of one template version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionStats {
    pub version: u32,
    pub scores: ScoreSummary,
}

/// One arm of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    pub version: u32,
    pub weight: u32,
}

/// `promptmesh:ratings/types.experiment`.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub template_id: String,
    pub arms: Vec<Arm>,
    pub created_at: u64,
}

/// `promptmesh:ratings/types.arm-result`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResult {
    pub arm: Arm,
    pub assigned: u32,
    pub scores: ScoreSummary,
}

/// `promptmesh:ratings/types.comparison`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub version: u32,
    pub control_version: u32,
    pub difference: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub significant: bool,
}

/// `promptmesh:ratings/types.experiment-results`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResults {
    pub experiment: Experiment,
    pub arms: Vec<ArmResult>,
    pub comparisons: Vec<Comparison>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_statuses_parse_their_exact_names_only() {
        assert_eq!(Tier::parse("premium"), Some(Tier::Premium));
        assert_eq!(Tier::parse("Premium"), None);
        assert_eq!(Tier::parse("gold"), None);
        assert_eq!(JobStatus::parse("canceled"), Some(JobStatus::Canceled));
        assert_eq!(JobStatus::parse("done"), None);
        assert_eq!(Tier::Admin.to_string(), "admin");
    }

    #[test]
    fn only_admins_and_owners_see_owned_objects() {
        let alice = Principal {
            key_id: "key_a".into(),
            name: "alice".into(),
            tier: Tier::Free,
        };
        let admin = Principal {
            key_id: "key_admin".into(),
            name: "bootstrap".into(),
            tier: Tier::Admin,
        };
        assert!(alice.can_see("key_a"));
        assert!(!alice.can_see("key_b"));
        assert!(admin.can_see("key_b"));
        assert_eq!(alice.owner_filter().as_deref(), Some("key_a"));
        assert_eq!(admin.owner_filter(), None);
    }

    #[test]
    fn template_refs_need_both_halves() {
        assert_eq!(
            TemplateRef::from_parts(Some("tpl_1"), Some(2)),
            Some(TemplateRef {
                id: "tpl_1".into(),
                version: 2
            })
        );
        assert_eq!(TemplateRef::from_parts(Some("tpl_1"), None), None);
        assert_eq!(TemplateRef::from_parts(None, Some(2)), None);
    }
}
