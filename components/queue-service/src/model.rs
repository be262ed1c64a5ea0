//! The queue's records, mirroring `promptmesh:jobs/types` in plain Rust so that the logic
//! compiles and is tested natively. Times are Unix milliseconds.

use std::fmt;

/// The submitter's tier; premium and admin jobs get a head start in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Free,
    Premium,
    Admin,
}

impl Tier {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Premium => "premium",
            Tier::Admin => "admin",
        }
    }

    /// The tier stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<Tier> {
        [Tier::Free, Tier::Premium, Tier::Admin]
            .into_iter()
            .find(|tier| tier.as_str() == name)
    }
}

/// Where a job is in its life; see [`JobStatus::can_become`] for the allowed moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Queued,
    Running,
    Storing,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    /// Every status, in the contract's order.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Storing,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Canceled,
    ];

    /// The name stored in the database.
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

    /// The status stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the job is done and never changes again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled
        )
    }

    /// Whether the state machine allows moving from `self` to `next`: queued -> running ->
    /// storing -> succeeded, and anything not final -> failed or canceled. Two moves go back
    /// on purpose: a retry returns a running job to the queue (before any provider task is
    /// running for it), and an operator requeues a failed job.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        match (self, next) {
            (Queued, Running) | (Running, Storing) | (Storing, Succeeded) => true,
            (Running, Queued) | (Failed, Queued) => true,
            (from, Failed | Canceled) => !from.is_final(),
            _ => false,
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One template variable the prompt was rendered with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
}

/// A job as the API accepted it: the prompt is already rendered and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Id of the API key that submitted it.
    pub owner: String,
    pub tier: Tier,
    pub prompt: String,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
    pub variables: Vec<Variable>,
    /// Where state changes are posted.
    pub callback_url: Option<String>,
    /// The client's `Idempotency-Key`, unique per owner.
    pub idempotency_key: Option<String>,
    /// Hex SHA-256 of the request that came with the key.
    pub request_hash: Option<String>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub owner: String,
    pub tier: Tier,
    /// Smaller runs first: `created_at` minus the tier's head start, in milliseconds.
    pub priority: i64,
    pub prompt: String,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
    pub variables: Vec<Variable>,
    pub callback_url: Option<String>,
    pub status: JobStatus,
    /// 0 to 100.
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
    /// The worker that holds the job, and until when.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<u64>,
    /// When the current provider task was submitted.
    pub run_started_at: Option<u64>,
    /// Not leased before this time.
    pub not_before: u64,
    /// When it last entered the queue.
    pub queued_at: u64,
    /// The provider's task status as its callbacks last reported it.
    pub provider_status: Option<String>,
    pub provider_image_url: Option<String>,
    pub provider_fail_reason: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A submission's result: the job, and whether an earlier submission with the same
/// idempotency key made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub job: Job,
    pub replayed: bool,
}

/// One state change of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// 1, 2, 3... per job.
    pub seq: u32,
    pub status: JobStatus,
    pub attempt: u32,
    pub at: u64,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    Pending,
    Delivered,
    /// Every attempt failed; kept as the record of it.
    Abandoned,
}

impl NotificationState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Pending => "pending",
            NotificationState::Delivered => "delivered",
            NotificationState::Abandoned => "abandoned",
        }
    }

    /// The state stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<NotificationState> {
        [
            NotificationState::Pending,
            NotificationState::Delivered,
            NotificationState::Abandoned,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A signed notification of one state change to a job's callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `evt_...`, stable across deliveries.
    pub id: String,
    pub job_id: String,
    /// The transition it reports.
    pub seq: u32,
    pub url: String,
    /// The JSON body, the same bytes for every delivery.
    pub body: String,
    pub state: NotificationState,
    pub attempts: u32,
    pub next_attempt_at: u64,
    pub last_error: Option<String>,
    pub delivered_at: Option<u64>,
}

/// What a provider callback reported about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    pub task_id: String,
    /// NOT_START, SUBMITTED, IN_PROGRESS, SUCCESS, FAILURE, CANCEL...
    pub status: String,
    pub progress: Option<u8>,
    pub image_url: Option<String>,
    pub fail_reason: Option<String>,
}

/// Which jobs `list_jobs` returns, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    /// Only jobs that failed for this reason.
    pub failure_reason: Option<String>,
    pub owner: Option<String>,
    /// 1 to 100.
    pub limit: u32,
    pub cursor: Option<String>,
}

/// One page of jobs and the cursor of the next, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    pub items: Vec<Job>,
    pub next_cursor: Option<String>,
}

/// A stored image's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub job_id: String,
    pub owner: String,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
    pub prompt: String,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub created_at: u64,
}

/// Which images `list_images` returns, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageFilter {
    pub template_id: Option<String>,
    pub job_id: Option<String>,
    pub owner: Option<String>,
    /// 1 to 100.
    pub limit: u32,
    pub cursor: Option<String>,
}

/// One page of images and the cursor of the next, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePage {
    pub items: Vec<Image>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        for tier in [Tier::Free, Tier::Premium, Tier::Admin] {
            assert_eq!(Tier::parse(tier.as_str()), Some(tier));
        }
        assert_eq!(JobStatus::parse("done"), None);
        assert_eq!(Tier::parse("gold"), None);
    }

    #[test]
    fn state_machine_moves_forward_but_for_retries_and_requeues() {
        use JobStatus::*;
        let allowed: Vec<(JobStatus, JobStatus)> = JobStatus::ALL
            .into_iter()
            .flat_map(|from| JobStatus::ALL.into_iter().map(move |to| (from, to)))
            .filter(|(from, to)| from.can_become(*to))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Queued, Running),
                (Queued, Failed),
                (Queued, Canceled),
                (Running, Queued),
                (Running, Storing),
                (Running, Failed),
                (Running, Canceled),
                (Storing, Succeeded),
                (Storing, Failed),
                (Storing, Canceled),
                (Failed, Queued),
            ]
        );
    }
}
