//! What the demo prints: jobs by status, end-to-end latency, queue wait by tier, ratings per
//! template version and the A/B comparisons.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;

/// One submitted generation and what became of it.
#[derive(Debug, Clone)]
pub struct Generation {
    pub tier: &'static str,
    /// Index of the key within its tier.
    pub key: usize,
    /// Index of the template in the library.
    pub template: usize,
    /// The template version the API chose.
    pub version: Option<u32>,
    /// The job as last read, when the API accepted it.
    pub job: Option<Value>,
    /// Status and code, when the API refused it.
    pub refused: Option<String>,
}

impl Generation {
    pub fn job_id(&self) -> Option<String> {
        self.job.as_ref()?["id"].as_str().map(str::to_string)
    }

    pub fn status(&self) -> Option<&str> {
        self.job.as_ref()?["status"].as_str()
    }

    pub fn is_final(&self) -> bool {
        matches!(self.status(), Some("succeeded" | "failed" | "canceled"))
    }

    pub fn image_id(&self) -> Option<String> {
        self.job.as_ref()?["image"]["id"]
            .as_str()
            .map(str::to_string)
    }

    /// Milliseconds between two time fields of the job.
    fn span_ms(&self, from: &str, to: &str) -> Option<i64> {
        let job = self.job.as_ref()?;
        let at = |field: &str| DateTime::parse_from_rfc3339(job[field].as_str()?).ok();
        Some((at(to)? - at(from)?).num_milliseconds())
    }
}

/// Ratings of one template.
#[derive(Debug, Clone)]
pub struct TemplateStats {
    pub name: String,
    /// `versions` of `GET /api/templates/{id}/stats`.
    pub versions: Vec<Value>,
    /// `GET /api/experiments/{id}`, for templates with an experiment.
    pub experiment: Option<Value>,
}

/// Everything the demo measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the API was.
    pub base: String,
    pub elapsed: Duration,
    pub free_keys: usize,
    pub premium_keys: usize,
    pub templates: usize,
    pub subjects: usize,
    pub generations: Vec<Generation>,
    pub stats: Vec<TemplateStats>,
}

/// The nearest-rank percentile `p` (0 to 100) of sorted `values`.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

impl Report {
    /// The summary as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.statuses(&mut out);
        self.latencies(&mut out);
        self.ratings(&mut out);
        self.experiments(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "prompt-mesh demo: {} generations through {} in {:.1} s",
            self.generations.len(),
            self.base,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  keys: {} free, {} premium; templates: {}; subjects: {}",
            self.free_keys, self.premium_keys, self.templates, self.subjects
        );
    }

    fn statuses(&self, out: &mut String) {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for g in &self.generations {
            let status = match (&g.refused, g.status()) {
                (Some(refused), _) => format!("refused ({refused})"),
                (None, Some(status)) => status.to_string(),
                (None, None) => "unknown".to_string(),
            };
            *counts.entry(status).or_default() += 1;
            if let Some(reason) = g.job.as_ref().and_then(|j| j["failure"]["reason"].as_str()) {
                *reasons.entry(reason.to_string()).or_default() += 1;
            }
        }
        let _ = writeln!(out, "\njobs by status");
        for (status, n) in &counts {
            let _ = writeln!(out, "  {status:<24} {n:>4}");
        }
        for (reason, n) in &reasons {
            let _ = writeln!(out, "    failure reason {reason:<15} {n:>4}");
        }
    }

    fn latencies(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nend-to-end, submitted to image stored (succeeded jobs), ms"
        );
        for tier in [None, Some("premium"), Some("free")] {
            let spans = self.spans(tier, "created_at", "finished_at", true);
            line(out, tier.unwrap_or("all"), &spans);
        }
        let _ = writeln!(out, "queue wait, submitted to leased by a worker, ms");
        for tier in [Some("premium"), Some("free")] {
            let spans = self.spans(tier, "created_at", "started_at", false);
            line(out, tier.unwrap_or("all"), &spans);
        }
    }

    fn spans(&self, tier: Option<&str>, from: &str, to: &str, succeeded: bool) -> Vec<i64> {
        let mut spans: Vec<i64> = self
            .generations
            .iter()
            .filter(|g| tier.is_none_or(|t| g.tier == t))
            .filter(|g| !succeeded || g.status() == Some("succeeded"))
            .filter_map(|g| g.span_ms(from, to))
            .collect();
        spans.sort_unstable();
        spans
    }

    fn ratings(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nratings per template version (simulated raters: 1-5 at random; version 2 of an \
             experiment template gets +1 half of the time)"
        );
        let _ = writeln!(
            out,
            "  {:<24} {:>7} {:>4} {:>5}  95% CI",
            "template", "version", "n", "mean"
        );
        for template in &self.stats {
            for v in &template.versions {
                let _ = writeln!(
                    out,
                    "  {:<24} {:>7} {:>4} {:>5}  {}",
                    template.name,
                    // Value's Display ignores width; format the numbers themselves.
                    v["version"].as_u64().unwrap_or_default(),
                    v["count"].as_u64().unwrap_or_default(),
                    number(&v["mean"]),
                    interval(&v["ci_low"], &v["ci_high"])
                );
            }
        }
    }

    fn experiments(&self, out: &mut String) {
        let _ = writeln!(out, "\nA/B experiments (control: the first arm)");
        for template in &self.stats {
            let Some(results) = &template.experiment else {
                continue;
            };
            let arms: Vec<String> = results["arms"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    format!(
                        "v{} weight {} assigned {} rated {} mean {}",
                        a["version"],
                        a["weight"],
                        a["assigned"],
                        a["count"],
                        number(&a["mean"])
                    )
                })
                .collect();
            let _ = writeln!(out, "  {}: {}", template.name, arms.join(" | "));
            for c in results["comparisons"].as_array().into_iter().flatten() {
                let verdict = if c["significant"].as_bool() == Some(true) {
                    "significant"
                } else {
                    "not significant"
                };
                let _ = writeln!(
                    out,
                    "    v{} - v{}: {} {}, p = {}, {verdict}",
                    c["version"],
                    c["control_version"],
                    number(&c["difference"]),
                    interval(&c["ci_low"], &c["ci_high"]),
                    number(&c["p_value"])
                );
            }
        }
    }
}

fn line(out: &mut String, label: &str, sorted: &[i64]) {
    let p = |q| percentile(sorted, q).map_or("-".to_string(), |v| v.to_string());
    let _ = writeln!(
        out,
        "  {label:<8} n={:<4} p50 {:>6}  p95 {:>6}  max {:>6}",
        sorted.len(),
        p(50.0),
        p(95.0),
        p(100.0)
    );
}

fn number(value: &Value) -> String {
    value
        .as_f64()
        .map_or("-".to_string(), |v| format!("{v:.2}"))
}

fn interval(low: &Value, high: &Value) -> String {
    match (low.as_f64(), high.as_f64()) {
        (Some(l), Some(h)) => format!("[{l:.2}, {h:.2}]"),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50.0), Some(10));
        assert_eq!(percentile(&values, 95.0), Some(19));
        assert_eq!(percentile(&values, 100.0), Some(20));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn spans_come_from_the_jobs_own_times() {
        let g = Generation {
            tier: "free",
            key: 0,
            template: 0,
            version: Some(1),
            job: Some(json!({
                "id": "job_1",
                "status": "succeeded",
                "created_at": "2026-12-03T10:00:00.000Z",
                "started_at": "2026-12-03T10:00:00.250Z",
                "finished_at": "2026-12-03T10:00:02.125Z",
                "image": { "id": "img_1", "url": "/api/images/img_1" },
            })),
            refused: None,
        };
        assert_eq!(g.span_ms("created_at", "finished_at"), Some(2125));
        assert_eq!(g.span_ms("created_at", "started_at"), Some(250));
        assert_eq!(g.image_id().as_deref(), Some("img_1"));
        assert!(g.is_final());
    }
}
