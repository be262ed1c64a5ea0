//! The wasmtime engine: pooling allocation sized to the application, a compiled-code cache
//! on disk, and one epoch ticker that bounds how long any call may run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    UpdateDeadline,
};

use crate::deadline::Deadline;

/// How often the epoch advances; the granularity of every deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What the engine was built with, for the start-up report.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    /// `Some(slots)` with the pooling allocator, `None` when it fell back to on-demand.
    pub pooled_instances: Option<u32>,
    /// Why pooling was not used, when it was not.
    pub pooling_fallback: Option<String>,
}

/// The engine plus the ticker that keeps its epoch moving; dropping it stops the ticker.
pub struct HostEngine {
    pub engine: Engine,
    pub info: EngineInfo,
    cache: Cache,
    ticker: Arc<AtomicBool>,
}

impl Drop for HostEngine {
    fn drop(&mut self) {
        self.ticker.store(true, Ordering::Relaxed);
    }
}

/// Sizing inputs for the pooling allocator.
#[derive(Debug, Clone, Copy)]
pub struct PoolSizing {
    /// Component instances alive at once, across all components.
    pub instances: u32,
    /// Largest linear memory any one instance may have, in bytes.
    pub max_memory_bytes: u64,
}

/// The most instance slots the pool reserves; beyond it, instances are allocated on demand
/// rather than failing once the slots run out.
pub const MAX_POOLED_INSTANCES: u32 = 1000;

impl HostEngine {
    /// Builds the engine, caching compiled code under `cache_dir`.
    pub fn new(cache_dir: &Path, sizing: PoolSizing) -> anyhow::Result<HostEngine> {
        let cache = compile_cache(cache_dir)?;
        let pooled = base_config(cache.clone())
            .allocation_strategy(pooling(sizing))
            .clone();
        let attempt = if sizing.instances > MAX_POOLED_INSTANCES {
            Err(anyhow::anyhow!(
                "the components' max_instances add up to {} instances, more than the pool's \
                 {MAX_POOLED_INSTANCES} slots",
                sizing.instances
            ))
        } else {
            Engine::new(&pooled).map_err(anyhow::Error::from)
        };
        let (engine, info) = match attempt {
            Ok(engine) => {
                let info = EngineInfo {
                    pooled_instances: Some(sizing.instances),
                    pooling_fallback: None,
                };
                (engine, info)
            }
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::warn!(error = %reason, "Pooling allocator unavailable; allocating on demand");
                let on_demand = lean_on_demand(base_config(cache.clone()), sizing);
                let engine = Engine::new(&on_demand)
                    .map_err(anyhow::Error::from)
                    .context("creating the wasmtime engine")?;
                (
                    engine,
                    EngineInfo {
                        pooled_instances: None,
                        pooling_fallback: Some(reason),
                    },
                )
            }
        };
        let ticker = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker.clone());
        Ok(HostEngine {
            engine,
            info,
            cache,
            ticker,
        })
    }

    /// Modules read from the compile cache and modules compiled, since the engine started.
    pub fn cache_counts(&self) -> (usize, usize) {
        (self.cache.cache_hits(), self.cache.cache_misses())
    }
}

fn compile_cache(dir: &Path) -> anyhow::Result<Cache> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the compile cache folder {}", dir.display()))?;
    let mut config = CacheConfig::new();
    config.with_directory(dir);
    Cache::new(config)
        .map_err(anyhow::Error::from)
        .context("opening the compile cache")
}

fn base_config(cache: Cache) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cache(Some(cache));
    config
}

/// On-demand allocation that reserves only what an instance may use, for machines where
/// address space is short: bounds checks become explicit instead of relying on guard pages.
fn lean_on_demand(mut config: Config, sizing: PoolSizing) -> Config {
    config
        .allocation_strategy(InstanceAllocationStrategy::OnDemand)
        .memory_reservation(sizing.max_memory_bytes)
        .memory_guard_size(0)
        .memory_reservation_for_growth(0)
        .memory_may_move(true);
    config
}

fn pooling(sizing: PoolSizing) -> InstanceAllocationStrategy {
    let mut pool = PoolingAllocationConfig::default();
    let instances = sizing.instances.max(1);
    // A spin-sdk component holds a handful of core instances (its code plus WASI adapters).
    pool.total_component_instances(instances)
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 4)
        .total_stacks(instances)
        .max_memory_size(sizing.max_memory_bytes as usize)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(16);
    InstanceAllocationStrategy::Pooling(pool)
}

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread");
}

/// Makes a store yield at every epoch tick and trap with [`DeadlineExceeded`] once
/// `deadline` has passed.
///
/// Yielding keeps a guest that never returns from holding an executor thread; the trap
/// bounds it. A guest waiting on the host is bounded by [`Deadline::run`] instead.
///
/// [`DeadlineExceeded`]: crate::deadline::DeadlineExceeded
pub fn set_deadline<T: Send>(store: &mut wasmtime::Store<T>, deadline: Deadline, component: &str) {
    let component = component.to_string();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if deadline.is_past() {
            Err(deadline.exceeded(&component).into())
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}
