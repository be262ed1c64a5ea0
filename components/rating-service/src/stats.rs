//! Score summaries (mean, sample standard deviation, Student's t interval) and Welch's
//! t-test between two arms. Every float returned is finite: what cannot be computed is
//! absent, never NaN or infinite.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::model::{Comparison, ScoreSummary};

/// The t quantile every 95% interval uses: the upper end of the middle 95%.
const UPPER_TAIL: f64 = 0.975;
/// A difference is significant below this p-value.
const SIGNIFICANCE: f64 = 0.05;

/// What a summary needs of some scores: how many, their sum and the sum of their squares,
/// as SQL aggregates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Moments {
    pub count: u64,
    pub sum: u64,
    pub sum_sq: u64,
}

impl Moments {
    /// The moments of `scores`.
    pub fn of(scores: &[u8]) -> Moments {
        scores.iter().fold(Moments::default(), |m, &s| Moments {
            count: m.count + 1,
            sum: m.sum + u64::from(s),
            sum_sq: m.sum_sq + u64::from(s) * u64::from(s),
        })
    }

    /// The mean; 0.0 without scores.
    fn mean(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum as f64 / self.count as f64
    }

    /// The sample variance (divisor n − 1); 0.0 below two scores. `n·Σx² − (Σx)²` is
    /// computed in integers, so the only rounding is the final division.
    fn variance(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = u128::from(self.count);
        let spread = n * u128::from(self.sum_sq) - u128::from(self.sum).pow(2);
        spread as f64 / (n * (n - 1)) as f64
    }
}

/// Count, mean, sample standard deviation and the 95% interval `mean ± t·s/√n` with
/// `n − 1` degrees of freedom (absent below two scores).
pub fn summary(m: Moments) -> ScoreSummary {
    let mean = m.mean();
    let variance = m.variance();
    let interval = (m.count >= 2)
        .then(|| t_quantile(m.count as f64 - 1.0))
        .flatten()
        .map(|t| t * (variance / m.count as f64).sqrt())
        .map(|half| (mean - half, mean + half))
        .filter(|(low, high)| low.is_finite() && high.is_finite());
    ScoreSummary {
        count: u32::try_from(m.count).unwrap_or(u32::MAX),
        mean,
        std_dev: variance.sqrt(),
        ci_low: interval.map(|(low, _)| low),
        ci_high: interval.map(|(_, high)| high),
    }
}

/// Arm `version` (scores `arm`) against the control (`control`): the difference of means,
/// and Welch's two-sided t-test with Welch–Satterthwaite degrees of freedom. The test is
/// absent when either side has fewer than two scores or neither side varies; the difference
/// is 0.0 when either side has no scores.
pub fn compare(version: u32, control_version: u32, arm: Moments, control: Moments) -> Comparison {
    let rated = arm.count > 0 && control.count > 0;
    let difference = if rated {
        arm.mean() - control.mean()
    } else {
        0.0
    };
    let test = welch(difference, arm, control);
    Comparison {
        version,
        control_version,
        difference,
        ci_low: test.map(|t| t.ci_low),
        ci_high: test.map(|t| t.ci_high),
        p_value: test.map(|t| t.p_value),
        significant: test.is_some_and(|t| t.p_value < SIGNIFICANCE),
    }
}

/// The outcome of Welch's test.
#[derive(Debug, Clone, Copy)]
struct Welch {
    p_value: f64,
    ci_low: f64,
    ci_high: f64,
}

fn welch(difference: f64, a: Moments, b: Moments) -> Option<Welch> {
    if a.count < 2 || b.count < 2 {
        return None;
    }
    let (va, vb) = (a.variance() / a.count as f64, b.variance() / b.count as f64);
    let se2 = va + vb;
    // Both sides constant: the difference has no spread to test against.
    if se2 <= 0.0 {
        return None;
    }
    let freedom = se2 * se2 / (va * va / (a.count as f64 - 1.0) + vb * vb / (b.count as f64 - 1.0));
    let t = StudentsT::new(0.0, 1.0, freedom).ok()?;
    let se = se2.sqrt();
    let p_value = (2.0 * t.sf((difference / se).abs())).clamp(0.0, 1.0);
    let half = t.inverse_cdf(UPPER_TAIL) * se;
    let test = Welch {
        p_value,
        ci_low: difference - half,
        ci_high: difference + half,
    };
    [test.p_value, test.ci_low, test.ci_high]
        .iter()
        .all(|x| x.is_finite())
        .then_some(test)
}

/// The t quantile of the interval's upper end for `freedom` degrees of freedom.
fn t_quantile(freedom: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, freedom).ok()?;
    Some(t.inverse_cdf(UPPER_TAIL)).filter(|q| q.is_finite())
}

#[cfg(test)]
mod tests;
