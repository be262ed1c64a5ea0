//! The mesh: every call from one component to another passes through [`Mesh::call`].
//!
//! Today the mesh counts calls and their outcomes per edge; retries, timeouts, breakers
//! and authorization attach here, at the one place every edge goes through.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How one call over an edge ended, as far as the callee is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Returned normally.
    Ok,
    /// Returned the error case of its `result` (a typed error, not a failure of the call).
    ErrResult,
}

/// A caller, a callee and the interface between them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EdgeKey {
    pub caller: String,
    pub callee: String,
    pub interface: String,
}

/// Counters of one edge.
#[derive(Debug, Default)]
pub struct EdgeStats {
    calls: AtomicU64,
    err_results: AtomicU64,
    failures: AtomicU64,
}

/// A snapshot of an edge's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeCounts {
    /// Calls started.
    pub calls: u64,
    /// Calls that returned a typed error.
    pub err_results: u64,
    /// Calls that failed: the callee trapped, timed out or could not be instantiated.
    pub failures: u64,
}

/// One edge of the mesh.
#[derive(Debug)]
pub struct Edge {
    pub key: EdgeKey,
    stats: EdgeStats,
}

impl Edge {
    /// The edge's counters now.
    pub fn counts(&self) -> EdgeCounts {
        EdgeCounts {
            calls: self.stats.calls.load(Ordering::Relaxed),
            err_results: self.stats.err_results.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
        }
    }
}

/// All edges of a running application.
#[derive(Debug, Default)]
pub struct Mesh {
    edges: Mutex<BTreeMap<EdgeKey, Arc<Edge>>>,
}

impl Mesh {
    /// The edge for `key`, created on first use.
    pub fn edge(&self, key: EdgeKey) -> Arc<Edge> {
        let mut edges = self.edges.lock().expect("mesh edge table poisoned");
        edges
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Edge {
                    key,
                    stats: EdgeStats::default(),
                })
            })
            .clone()
    }

    /// Runs one call over `edge`, accounting for its outcome.
    pub async fn call<F, Fut>(&self, edge: &Edge, call: F) -> anyhow::Result<Outcome>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Outcome>>,
    {
        edge.stats.calls.fetch_add(1, Ordering::Relaxed);
        let result = call().await;
        match &result {
            Ok(Outcome::Ok) => {}
            Ok(Outcome::ErrResult) => {
                edge.stats.err_results.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                edge.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    caller = %edge.key.caller,
                    callee = %edge.key.callee,
                    interface = %edge.key.interface,
                    error = %format!("{error:#}"),
                    "Linked call failed"
                );
            }
        }
        result
    }

    /// Every edge's counters, ordered by edge.
    pub fn snapshot(&self) -> Vec<(EdgeKey, EdgeCounts)> {
        let edges = self.edges.lock().expect("mesh edge table poisoned");
        edges
            .values()
            .map(|e| (e.key.clone(), e.counts()))
            .collect()
    }

    /// The counters in Prometheus text format.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let series = [
            ("promptmesh_edge_calls_total", "Calls over a mesh edge.", 0),
            (
                "promptmesh_edge_err_results_total",
                "Calls that returned a typed error.",
                1,
            ),
            (
                "promptmesh_edge_failures_total",
                "Calls that trapped, timed out or could not start.",
                2,
            ),
        ];
        let snapshot = self.snapshot();
        for (name, help, which) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (key, counts) in &snapshot {
                let value = [counts.calls, counts.err_results, counts.failures][which];
                let _ = writeln!(
                    out,
                    "{name}{{caller=\"{}\",callee=\"{}\",interface=\"{}\"}} {value}",
                    key.caller, key.callee, key.interface
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EdgeKey {
        EdgeKey {
            caller: "a".into(),
            callee: "b".into(),
            interface: "x:y/z@0.1.0".into(),
        }
    }

    #[tokio::test]
    async fn counts_each_outcome_of_an_edge() {
        let mesh = Mesh::default();
        let edge = mesh.edge(key());
        mesh.call(&edge, || async { Ok(Outcome::Ok) })
            .await
            .expect("ok call");
        mesh.call(&edge, || async { Ok(Outcome::ErrResult) })
            .await
            .expect("typed error");
        let failed = mesh
            .call(&edge, || async { Err(anyhow::anyhow!("trap")) })
            .await;
        assert_eq!(failed.expect_err("failure propagates").to_string(), "trap");
        assert_eq!(
            mesh.edge(key()).counts(),
            EdgeCounts {
                calls: 3,
                err_results: 1,
                failures: 1
            }
        );
    }

    #[tokio::test]
    async fn renders_prometheus_counters_per_edge() {
        let mesh = Mesh::default();
        let edge = mesh.edge(key());
        mesh.call(&edge, || async { Ok(Outcome::Ok) })
            .await
            .expect("ok call");
        let text = mesh.render_prometheus();
        assert!(text.contains(
            "promptmesh_edge_calls_total{caller=\"a\",callee=\"b\",interface=\"x:y/z@0.1.0\"} 1\n"
        ));
        assert!(text.contains(
            "promptmesh_edge_failures_total{caller=\"a\",callee=\"b\",interface=\"x:y/z@0.1.0\"} 0\n"
        ));
    }
}
