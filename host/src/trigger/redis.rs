//! The Redis trigger: each message published on a channel runs the subscribed component's
//! `fermyon:spin/inbound-redis#handle-message`.
//!
//! As in Spin, a component handles one message at a time, in the order they arrive, unless
//! its `message_concurrency` lets it handle more at once (and then in no promised order).
//! A component with `wake_every` also gets a `tick` from the host's timer whenever a message
//! slot is free, so work that waits on time alone (a lease that ended, a retry that came
//! due) goes on without new messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use wasmtime::component::{ComponentExportIndex, Val};

use crate::app::{App, ComponentRuntime};
use crate::deadline::Deadline;
use crate::manifest::RedisTrigger;

/// The interface a Redis-triggered component exports.
pub const INBOUND_REDIS: &str = "fermyon:spin/inbound-redis";

/// Subscribes every Redis trigger of the components this host serves; the returned tasks
/// deliver messages until dropped or aborted.
pub async fn start(app: &App) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut tasks = Vec::new();
    // One budget per component, shared by all its triggers.
    let mut budgets: BTreeMap<&str, Arc<Semaphore>> = BTreeMap::new();
    for trigger in &app.manifest.redis_triggers {
        if !app.serving.contains(&trigger.component) {
            continue;
        }
        let runtime = app.component(&trigger.component)?.clone();
        let budget = budgets
            .entry(&trigger.component)
            .or_insert_with(|| {
                let concurrency = runtime.settings.message_concurrency as usize;
                Arc::new(Semaphore::new(concurrency))
            })
            .clone();
        let handler = handler_export(&runtime)?;
        let messages = app
            .services
            .redis
            .subscribe(&trigger.address, &trigger.channel)
            .await
            .with_context(|| {
                format!(
                    "subscribing trigger `{}` to channel `{}`",
                    trigger.id, trigger.channel
                )
            })?;
        tasks.push(tokio::spawn(deliver(
            trigger.clone(),
            runtime,
            handler,
            messages,
            budget,
        )));
    }
    for (component, budget) in budgets {
        let runtime = app.component(component)?.clone();
        if let Some(every) = runtime.settings.wake_every {
            let handler = handler_export(&runtime)?;
            tasks.push(tokio::spawn(wake(runtime, handler, budget, every)));
        }
    }
    Ok(tasks)
}

/// The payload of the messages the host's timer hands a component.
pub const TICK: &[u8] = b"tick";

/// Hands the handler a [`TICK`] at once and then every `every`, when a message slot is
/// free: the timer never queues behind the component's own messages and never runs more
/// handlers than `message_concurrency` allows. A tick missed while every slot was busy is
/// skipped, not made up.
async fn wake(
    runtime: Arc<ComponentRuntime>,
    handler: ComponentExportIndex,
    budget: Arc<Semaphore>,
    every: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let Ok(permit) = budget.clone().try_acquire_owned() else {
            continue;
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = handle(&runtime, handler, TICK.to_vec()).await {
                tracing::info!(
                    component = %runtime.id,
                    error = %format!("{e:#}"),
                    "Timer wake-up failed"
                );
            }
        });
    }
}

fn handler_export(runtime: &ComponentRuntime) -> anyhow::Result<ComponentExportIndex> {
    let component = runtime.pre.component();
    let missing = || {
        format!(
            "component `{}` has a Redis trigger but does not export `{INBOUND_REDIS}#handle-message`; \
             build it with spin-sdk's #[redis_component]",
            runtime.id
        )
    };
    let interface = component
        .get_export_index(None, INBOUND_REDIS)
        .with_context(missing)?;
    component
        .get_export_index(Some(&interface), "handle-message")
        .with_context(missing)
}

/// Hands each message to the handler once `budget` (the component's
/// `message_concurrency`) has room; with a budget of one, a message starts only after the
/// one before it has finished.
async fn deliver(
    trigger: RedisTrigger,
    runtime: Arc<ComponentRuntime>,
    handler: ComponentExportIndex,
    mut messages: tokio::sync::mpsc::Receiver<Vec<u8>>,
    budget: Arc<Semaphore>,
) {
    while let Some(payload) = messages.recv().await {
        let Ok(permit) = budget.clone().acquire_owned().await else {
            break; // never closed while the trigger runs
        };
        let runtime = runtime.clone();
        let channel = trigger.channel.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = handle(&runtime, handler, payload).await {
                tracing::info!(
                    component = %runtime.id,
                    channel = %channel,
                    error = %format!("{e:#}"),
                    "Redis message handler failed"
                );
            }
        });
    }
    tracing::debug!(trigger = %trigger.id, "Redis subscription ended");
}

/// Runs the handler once for `payload`, within the component's timeout; an `error` result
/// is an error here.
pub async fn handle(
    runtime: &ComponentRuntime,
    handler: ComponentExportIndex,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    let deadline = Deadline::within(runtime.settings.timeout, None);
    let call = async {
        let mut prepared = runtime.prepare(runtime.grants.clone(), deadline).await?;
        let store = &mut prepared.store;
        let instance = runtime.pre.instantiate_async(&mut *store).await?;
        let func = instance
            .get_func(&mut *store, handler)
            .context("handle-message is not a function")?;
        let params = [Val::List(payload.into_iter().map(Val::U8).collect())];
        let mut results = [Val::Bool(false)];
        func.call_async(&mut *store, &params, &mut results).await?;
        anyhow::Ok(results)
    };
    let results = deadline.run(&runtime.id, call).await??;
    match &results[0] {
        Val::Result(Ok(_)) => Ok(()),
        other => anyhow::bail!("handler returned {other:?}"),
    }
}
