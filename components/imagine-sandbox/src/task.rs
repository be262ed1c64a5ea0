//! A sandbox task and how it looks at a given time: SUBMITTED, then IN_PROGRESS in equal
//! progress steps, then SUCCESS (with an image URL) or FAILURE, all derived from the
//! submission time and the settings fixed into the task when it was submitted.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// The task's action; the sandbox only imagines.
pub const ACTION_IMAGINE: &str = "IMAGINE";

/// A task as kept in the key-value store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    pub id: String,
    pub prompt: String,
    /// The caller's `state`, echoed back.
    pub state: String,
    /// Unix milliseconds.
    pub submit_time: u64,
    /// Milliseconds from submission to the final state.
    pub latency_ms: u64,
    pub progress_steps: u32,
    /// Why it fails at the end; `None` when it succeeds.
    pub fail_reason: Option<String>,
    /// Pixels per side of its image.
    pub image_size: u32,
}

impl StoredTask {
    /// A task submitted at `submit_time` under `settings`; whether it fails is decided now,
    /// from the prompt, so the outcome never changes.
    pub fn new(
        id: String,
        prompt: String,
        state: String,
        submit_time: u64,
        settings: &Settings,
    ) -> Self {
        let fail_reason = failure_reason(&prompt, settings.failure_rate);
        StoredTask {
            id,
            prompt,
            state,
            submit_time,
            latency_ms: settings.latency_ms,
            progress_steps: settings.progress_steps,
            fail_reason,
            image_size: settings.image_size,
        }
    }
}

/// The statuses of the midjourney-proxy contract the sandbox passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Submitted,
    InProgress,
    Success,
    Failure,
}

/// Where a task stands at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub status: Status,
    /// 0 to 100.
    pub progress: u8,
    /// Unix milliseconds when it entered IN_PROGRESS, once it has.
    pub start_time: Option<u64>,
    /// Unix milliseconds when it reached its final state, once it has.
    pub finish_time: Option<u64>,
}

/// The phase of `task` at `now` (Unix milliseconds). The time up to `latency_ms` is cut
/// into `progress_steps + 1` equal slots: the first is SUBMITTED at 0%, slot `k` is
/// IN_PROGRESS at `k * 100 / (progress_steps + 1)` percent; then SUCCESS at 100% or FAILURE
/// at the last step's percentage.
pub fn phase(task: &StoredTask, now: u64) -> Phase {
    let elapsed = now.saturating_sub(task.submit_time);
    let slots = u64::from(task.progress_steps) + 1;
    let start_time = task.submit_time + task.latency_ms.div_ceil(slots);
    if elapsed >= task.latency_ms {
        let (status, progress) = match task.fail_reason {
            None => (Status::Success, 100),
            Some(_) => (Status::Failure, percent(slots - 1, slots)),
        };
        let finish_time = Some(task.submit_time + task.latency_ms);
        return Phase {
            status,
            progress,
            start_time: Some(start_time),
            finish_time,
        };
    }

    let slot = (u128::from(elapsed) * u128::from(slots) / u128::from(task.latency_ms)) as u64;
    match slot {
        0 => Phase {
            status: Status::Submitted,
            progress: 0,
            start_time: None,
            finish_time: None,
        },
        k => Phase {
            status: Status::InProgress,
            progress: percent(k, slots),
            start_time: Some(start_time),
            finish_time: None,
        },
    }
}

/// `k` of `slots` as a whole percentage, rounded down.
fn percent(k: u64, slots: u64) -> u8 {
    u8::try_from(k * 100 / slots).unwrap_or(100)
}

/// Extra data midjourney-proxy keeps on a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Properties {
    pub final_prompt: String,
}

/// A task in the shape of midjourney-proxy's `GET /mj/task/{id}/fetch` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    pub id: String,
    pub action: &'static str,
    pub prompt: String,
    pub prompt_en: String,
    pub description: String,
    pub state: String,
    pub submit_time: u64,
    pub start_time: Option<u64>,
    pub finish_time: Option<u64>,
    pub image_url: Option<String>,
    pub status: Status,
    /// `"0%"` to `"100%"`.
    pub progress: String,
    pub fail_reason: Option<String>,
    pub properties: Properties,
}

/// How `task` looks at `now`; `base_url` (`http://host[:port]`) prefixes the image URL.
pub fn view(task: &StoredTask, now: u64, base_url: &str) -> TaskView {
    let phase = phase(task, now);
    let image_url = (phase.status == Status::Success).then(|| image_url(base_url, &task.id));
    let fail_reason = match phase.status {
        Status::Failure => task.fail_reason.clone(),
        _ => None,
    };
    TaskView {
        id: task.id.clone(),
        action: ACTION_IMAGINE,
        prompt: task.prompt.clone(),
        prompt_en: task.prompt.clone(),
        description: format!("/imagine {}", task.prompt),
        state: task.state.clone(),
        submit_time: task.submit_time,
        start_time: phase.start_time,
        finish_time: phase.finish_time,
        image_url,
        status: phase.status,
        progress: format!("{}%", phase.progress),
        fail_reason,
        properties: Properties {
            final_prompt: task.prompt.clone(),
        },
    }
}

/// Where the image of task `id` is served.
pub fn image_url(base_url: &str, id: &str) -> String {
    format!("{}/mj/image/{id}.png", base_url.trim_end_matches('/'))
}

/// Where a prompt falls in `[0, 1)`: the first 8 bytes of its SHA-256 as a fraction of 2^64.
pub fn prompt_fraction(prompt: &str) -> f64 {
    let digest = Sha256::digest(prompt.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head) as f64 / 2f64.powi(64)
}

/// Why a task with `prompt` fails under `rate`, or `None` when it succeeds.
pub fn failure_reason(prompt: &str, rate: f64) -> Option<String> {
    let fraction = prompt_fraction(prompt);
    (fraction < rate).then(|| {
        format!(
            "[Sandbox] simulated failure: the prompt hashes to {fraction:.4}, below \
             failure_rate {rate}; set failure_rate to 0 for no failures"
        )
    })
}

/// A numeric task id in the style of midjourney-proxy: the submission time in milliseconds
/// followed by six digits of `random`.
pub fn task_id(now_ms: u64, random: u64) -> String {
    format!("{now_ms}{:06}", random % 1_000_000)
}

/// Whether `id` has the shape [`task_id`] makes (digits only, 1 to 32 of them).
pub fn is_task_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBMIT: u64 = 1_700_000_000_000;

    fn task(latency_ms: u64, steps: u32, fail_reason: Option<&str>) -> StoredTask {
        StoredTask {
            id: "1700000000000123456".into(),
            prompt: "a red fox --ar 1:1".into(),
            state: "job_1".into(),
            submit_time: SUBMIT,
            latency_ms,
            progress_steps: steps,
            fail_reason: fail_reason.map(str::to_owned),
            image_size: 64,
        }
    }

    fn at(task: &StoredTask, elapsed: u64) -> (Status, u8) {
        let p = phase(task, SUBMIT + elapsed);
        (p.status, p.progress)
    }

    #[test]
    fn a_task_is_submitted_then_rises_in_equal_steps_then_succeeds() {
        let t = task(1000, 4, None);
        assert_eq!(at(&t, 0), (Status::Submitted, 0));
        assert_eq!(at(&t, 199), (Status::Submitted, 0));
        assert_eq!(at(&t, 200), (Status::InProgress, 20));
        assert_eq!(at(&t, 400), (Status::InProgress, 40));
        assert_eq!(at(&t, 600), (Status::InProgress, 60));
        assert_eq!(at(&t, 999), (Status::InProgress, 80));
        assert_eq!(at(&t, 1000), (Status::Success, 100));
        assert_eq!(at(&t, 50_000), (Status::Success, 100));
    }

    #[test]
    fn start_and_finish_times_appear_when_reached() {
        let t = task(1200, 4, None);
        assert_eq!(
            phase(&t, SUBMIT + 100),
            Phase {
                status: Status::Submitted,
                progress: 0,
                start_time: None,
                finish_time: None
            }
        );
        assert_eq!(phase(&t, SUBMIT + 240).start_time, Some(SUBMIT + 240));
        assert_eq!(phase(&t, SUBMIT + 240).finish_time, None);
        assert_eq!(phase(&t, SUBMIT + 1200).finish_time, Some(SUBMIT + 1200));
    }

    #[test]
    fn a_clock_before_submission_reads_as_just_submitted() {
        let t = task(1000, 4, None);
        assert_eq!(phase(&t, SUBMIT - 5_000).status, Status::Submitted);
    }

    #[test]
    fn zero_latency_succeeds_at_once() {
        let t = task(0, 4, None);
        assert_eq!(at(&t, 0), (Status::Success, 100));
    }

    #[test]
    fn a_failing_task_ends_in_failure_with_its_reason_and_no_image() {
        let t = task(1000, 4, Some("boom"));
        assert_eq!(at(&t, 999), (Status::InProgress, 80));
        let v = view(&t, SUBMIT + 1000, "http://sandbox");
        assert_eq!(v.status, Status::Failure);
        assert_eq!(v.progress, "80%");
        assert_eq!(v.fail_reason.as_deref(), Some("boom"));
        assert_eq!(v.image_url, None);
    }

    #[test]
    fn the_fetch_view_uses_midjourney_proxy_field_names() {
        let t = task(1000, 4, None);
        let json = serde_json::to_value(view(&t, SUBMIT + 1000, "http://imagine.internal:3000/"))
            .expect("a view serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "1700000000000123456",
                "action": "IMAGINE",
                "prompt": "a red fox --ar 1:1",
                "promptEn": "a red fox --ar 1:1",
                "description": "/imagine a red fox --ar 1:1",
                "state": "job_1",
                "submitTime": SUBMIT,
                "startTime": SUBMIT + 200,
                "finishTime": SUBMIT + 1000,
                "imageUrl": "http://imagine.internal:3000/mj/image/1700000000000123456.png",
                "status": "SUCCESS",
                "progress": "100%",
                "failReason": null,
                "properties": {"finalPrompt": "a red fox --ar 1:1"},
            })
        );
    }

    #[test]
    fn in_progress_views_carry_no_image_url() {
        let v = view(&task(1000, 4, None), SUBMIT + 500, "http://sandbox");
        assert_eq!(
            (v.status, v.progress.as_str(), v.image_url),
            (Status::InProgress, "40%", None)
        );
    }

    #[test]
    fn failure_is_decided_by_the_prompt_hash_against_the_rate() {
        let prompt = "a red fox --ar 1:1";
        let fraction = prompt_fraction(prompt);
        assert!((0.0..1.0).contains(&fraction), "{fraction}");
        assert_eq!(failure_reason(prompt, 0.0), None);
        assert!(
            failure_reason(prompt, 1.0).is_some(),
            "rate 1 fails every prompt"
        );
        assert_eq!(
            failure_reason(prompt, fraction),
            None,
            "the rate is exclusive"
        );
        assert!(failure_reason(prompt, fraction + 1e-9).is_some());
        assert_eq!(
            prompt_fraction(prompt),
            fraction,
            "the same prompt maps the same way"
        );
    }

    #[test]
    fn the_failure_reason_names_the_hash_and_rate() {
        let reason = failure_reason("x", 1.0).expect("rate 1 fails");
        let fraction = prompt_fraction("x");
        assert_eq!(
            reason,
            format!(
                "[Sandbox] simulated failure: the prompt hashes to {fraction:.4}, below \
                 failure_rate 1; set failure_rate to 0 for no failures"
            )
        );
    }

    #[test]
    fn task_ids_are_the_time_then_six_random_digits() {
        assert_eq!(task_id(1_700_000_000_000, 42), "1700000000000000042");
        assert_eq!(
            task_id(1_700_000_000_000, 123_456_789),
            "1700000000000456789"
        );
        assert!(is_task_id(&task_id(1, u64::MAX)));
        assert!(!is_task_id(""));
        assert!(!is_task_id("12a4"));
        assert!(!is_task_id("../etc"));
    }

    #[test]
    fn a_new_task_fixes_the_settings_it_was_submitted_under() {
        let settings = Settings {
            latency_ms: 10,
            progress_steps: 2,
            failure_rate: 1.0,
            image_size: 32,
        };
        let t = StoredTask::new("9".into(), "p".into(), "s".into(), SUBMIT, &settings);
        assert_eq!((t.latency_ms, t.progress_steps, t.image_size), (10, 2, 32));
        assert!(t.fail_reason.is_some(), "rate 1 fails every prompt");
    }
}
