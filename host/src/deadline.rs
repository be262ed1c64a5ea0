//! The wall-clock budget of one guest call, and how a nested call inherits what is left of
//! its caller's.
//!
//! Epoch deadlines stop a guest only while its code runs; a guest waiting on the host (an
//! outbound request, a linked call, an instance permit) is stopped by the tokio timer of
//! [`Deadline::run`]. Both read tokio's clock, so tests can pause it.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// When one guest call must have finished, and the budget it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

/// A guest call that ran past its deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("component `{component}` did not finish within its budget of {budget_ms} ms")]
pub struct DeadlineExceeded {
    /// The component whose call ran out of time.
    pub component: String,
    /// The budget that call had, in milliseconds.
    pub budget_ms: u128,
}

impl Deadline {
    /// A call of at most `timeout` from now that ends no later than `outer`, its caller's
    /// deadline, when it has one.
    pub fn within(timeout: Duration, outer: Option<Deadline>) -> Deadline {
        Self::within_from(Instant::now(), timeout, outer)
    }

    fn within_from(now: Instant, timeout: Duration, outer: Option<Deadline>) -> Deadline {
        let own = now + timeout;
        match outer {
            Some(outer) if outer.at < own => Deadline {
                at: outer.at,
                budget: outer.at.saturating_duration_since(now),
            },
            _ => Deadline {
                at: own,
                budget: timeout,
            },
        }
    }

    /// The instant the call must have finished by.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// The whole budget the call was given.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// What is left of the budget now; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn is_past(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The error of `component`'s call that ran out of this budget.
    pub fn exceeded(&self, component: &str) -> DeadlineExceeded {
        DeadlineExceeded {
            component: component.to_string(),
            budget_ms: self.budget.as_millis(),
        }
    }

    /// Runs `call` of `component` until the deadline; dropping `call` there drops whatever
    /// it owns (its instance, its outbound requests).
    ///
    /// An answer that arrives after the deadline, before the timer fired, is late all the
    /// same: the budget decides, not the timer's tick.
    pub async fn run<F: Future>(
        &self,
        component: &str,
        call: F,
    ) -> Result<F::Output, DeadlineExceeded> {
        match tokio::time::timeout_at(self.at, call).await {
            Ok(output) if !self.is_past() => Ok(output),
            _ => Err(self.exceeded(component)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn own_timeout_applies_without_a_caller() {
        let now = Instant::now();
        let deadline = Deadline::within_from(now, SECOND, None);
        assert_eq!((deadline.at(), deadline.budget()), (now + SECOND, SECOND));
    }

    #[test]
    fn nested_call_gets_what_is_left_of_its_callers_budget() {
        let start = Instant::now();
        let caller = Deadline::within_from(start, Duration::from_millis(300), None);
        let later = start + Duration::from_millis(100);
        let callee = Deadline::within_from(later, SECOND, Some(caller));
        assert_eq!(callee.at(), start + Duration::from_millis(300));
        assert_eq!(callee.budget(), Duration::from_millis(200));
    }

    #[test]
    fn nested_call_keeps_its_own_shorter_timeout() {
        let start = Instant::now();
        let caller = Deadline::within_from(start, Duration::from_secs(30), None);
        let callee = Deadline::within_from(start, SECOND, Some(caller));
        assert_eq!((callee.at(), callee.budget()), (start + SECOND, SECOND));
    }

    #[test]
    fn caller_already_out_of_time_leaves_a_zero_budget() {
        let start = Instant::now();
        let caller = Deadline::within_from(start, Duration::from_millis(50), None);
        let later = start + Duration::from_millis(80);
        let callee = Deadline::within_from(later, SECOND, Some(caller));
        assert_eq!(callee.budget(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn call_that_waits_past_its_budget_is_cut_at_the_budget() {
        let start = Instant::now();
        let deadline = Deadline::within(SECOND, None);
        let result = deadline
            .run("web", tokio::time::sleep(Duration::from_secs(8)))
            .await;
        assert_eq!(
            result,
            Err(DeadlineExceeded {
                component: "web".into(),
                budget_ms: 1000,
            })
        );
        assert_eq!(start.elapsed(), SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn call_within_its_budget_returns_its_output() {
        let deadline = Deadline::within(SECOND, None);
        let call = async {
            tokio::time::sleep(Duration::from_millis(999)).await;
            7
        };
        assert_eq!(deadline.run("web", call).await, Ok(7));
        assert_eq!(deadline.remaining(), Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn answer_at_the_deadline_is_late() {
        let deadline = Deadline::within(SECOND, None);
        let call = async {
            tokio::time::sleep(SECOND).await;
            7
        };
        let result = deadline.run("web", call).await;
        assert_eq!(result.map_err(|e| e.budget_ms), Err(1000));
    }
}
