//! Jobs survive a crash of the host: it is killed with SIGKILL in the middle of a run and
//! started again, and every accepted job still ends in exactly one final state, with no
//! provider task submitted twice for one attempt. Also the admission limit under a burst.
//! The field cases C05 and C06, and the crash test of 200 jobs.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::app::{ADMIN, App, with_provider};
use support::provider::{FakeProvider, Plan};

const FINAL_STATES: [&str; 3] = ["succeeded", "failed", "canceled"];

fn generate(app: &App, key: &str, body: &Value) -> String {
    let reply = app.post("/api/generate", key, body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["id"].as_str().expect("job id").to_string()
}

/// Every job the admin key sees, by id.
fn all_jobs(app: &App) -> BTreeMap<String, Value> {
    let mut jobs = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/jobs?limit=100&cursor={c}"),
            None => "/api/jobs?limit=100".to_string(),
        };
        let page = app.get(&path, ADMIN).json();
        for job in page["items"].as_array().expect("items") {
            jobs.insert(job["id"].as_str().expect("id").to_string(), job.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return jobs,
        }
    }
}

/// Waits until every job in `ids` is final; panics with the stragglers after `limit`.
fn wait_all_final(app: &App, ids: &[String], limit: Duration) {
    let finished = support::eventually(limit, || {
        let jobs = all_jobs(app);
        ids.iter()
            .all(|id| FINAL_STATES.contains(&jobs[id]["status"].as_str().unwrap_or_default()))
            .then_some(())
    });
    if finished.is_none() {
        let jobs = all_jobs(app);
        let open: Vec<String> = ids
            .iter()
            .filter(|id| !FINAL_STATES.contains(&jobs[*id]["status"].as_str().unwrap_or_default()))
            .map(|id| format!("{id}: {}", jobs[id]))
            .take(5)
            .collect();
        panic!("jobs still open after {limit:?}:\n{}", open.join("\n"));
    }
}

/// How many final states job `id`'s history holds.
fn final_changes(app: &App, id: &str) -> usize {
    let job = app.get(&format!("/api/jobs/{id}"), ADMIN).json();
    job["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|t| FINAL_STATES.contains(&t["status"].as_str().unwrap_or_default()))
        .count()
}

/// States (`<job>:<attempt>`) the provider got more than once.
fn duplicate_submissions(provider: &FakeProvider) -> Vec<String> {
    let mut seen = BTreeSet::new();
    provider
        .submissions()
        .into_iter()
        .filter(|s| s.task_id.is_some())
        .filter_map(|s| (!seen.insert(s.state.clone())).then_some(s.state))
        .collect()
}

#[test]
fn c05_jobs_survive_a_kill_with_queued_ones_in_priority_order_and_running_ones_resumed() {
    let provider = FakeProvider::start();
    provider.plan(Plan::Succeed {
        after: Duration::from_secs(4),
    });
    let mut app = with_provider(
        &provider,
        vec![],
        vec![
            ("max_instances = 8", "max_instances = 10"),
            ("message_concurrency = 8", "message_concurrency = 10"),
        ],
    );
    let free = app.key("free-user", "free");
    let premium = app.key("premium-user", "premium");
    let body = |n: usize, who: &str| json!({ "prompt": format!("fox {n} for {who}") });
    let premium_ids: Vec<String> = (0..25)
        .map(|n| generate(&app, &premium, &body(n, "premium")))
        .collect();
    let free_ids: Vec<String> = (0..25)
        .map(|n| generate(&app, &free, &body(n, "free")))
        .collect();
    let ids: Vec<String> = premium_ids.iter().chain(&free_ids).cloned().collect();
    // 10 running (the first premium jobs) with their provider tasks recorded, 40 queued.
    // A kill between the provider's answer and that record would leave the job without a
    // task to follow, and its next attempt would submit again.
    support::eventually(Duration::from_secs(10), || {
        let jobs = all_jobs(&app);
        let followed = jobs
            .values()
            .filter(|j| j["provider_task_id"].is_string())
            .count();
        (followed == 10).then_some(())
    })
    .expect("ten jobs start");
    let running_before: BTreeSet<String> = provider
        .submissions()
        .iter()
        .map(|s| s.state.split(':').next().expect("job id").to_string())
        .collect();
    assert_eq!(running_before, premium_ids[..10].iter().cloned().collect());

    app.host.kill();
    app.host.start_again();

    // Every job is still there.
    let jobs = all_jobs(&app);
    assert_eq!(jobs.len(), 50);
    assert!(ids.iter().all(|id| jobs.contains_key(id)));
    // The first ten slots after the restart go to the next jobs by priority: premium
    // 10 to 19. The ten that were running keep their leases until they end, then resume.
    support::eventually(Duration::from_secs(10), || {
        (provider.submissions().len() == 20).then_some(())
    })
    .expect("ten more jobs start after the restart");
    let next: BTreeSet<String> = provider.submissions()[10..]
        .iter()
        .map(|s| s.state.split(':').next().expect("job id").to_string())
        .collect();
    assert_eq!(next, premium_ids[10..20].iter().cloned().collect());

    wait_all_final(&app, &ids, Duration::from_secs(90));
    let jobs = all_jobs(&app);
    assert!(ids.iter().all(|id| jobs[id]["status"] == "succeeded"));
    for id in &premium_ids[..10] {
        let job = app.get(&format!("/api/jobs/{id}"), ADMIN).json();
        assert_eq!(job["attempts"], 2, "{job}");
        assert_eq!(job["history"][2]["reason"], "lease_expired", "{job}");
    }
    assert_eq!(
        provider.submissions().len(),
        50,
        "resumed jobs are not submitted again"
    );
    assert_eq!(duplicate_submissions(&provider), Vec::<String>::new());
}

#[test]
fn c06_a_burst_over_the_capacity_is_refused_at_exactly_the_capacity() {
    let provider = FakeProvider::start();
    provider.plan(Plan::Succeed {
        after: Duration::from_millis(100),
    });
    provider.hold();
    let app = with_provider(&provider, vec![("queue_capacity", "100".into())], vec![]);

    let answers: Vec<(u16, Value, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..200)
            .map(|n| {
                let request = support::client()
                    .post(app.host.url("/api/generate"))
                    .bearer_auth(ADMIN)
                    .json(&json!({ "prompt": format!("burst fox {n}") }));
                scope.spawn(move || {
                    let reply = request.send().expect("the host answers");
                    let status = reply.status().as_u16();
                    let retry_after = reply
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().expect("ASCII").to_string());
                    (status, reply.json().expect("JSON"), retry_after)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the thread ends"))
            .collect()
    });

    let accepted: Vec<String> = answers
        .iter()
        .filter(|(status, ..)| *status == 202)
        .map(|(_, job, _)| job["id"].as_str().expect("id").to_string())
        .collect();
    let refused: Vec<&(u16, Value, Option<String>)> = answers
        .iter()
        .filter(|(status, ..)| *status == 429)
        .collect();
    assert_eq!((accepted.len(), refused.len()), (100, 100));
    for (_, body, retry_after) in refused {
        assert_eq!(body["error"]["code"], "queue_full");
        assert_eq!(retry_after.as_deref(), Some("30"), "nothing finished yet");
    }
    assert_eq!(
        all_jobs(&app).len(),
        100,
        "refused submissions leave no rows"
    );

    provider.release();
    wait_all_final(&app, &accepted, Duration::from_secs(60));
    let jobs = all_jobs(&app);
    assert!(accepted.iter().all(|id| jobs[id]["status"] == "succeeded"));
    let again = app.post(
        "/api/generate",
        ADMIN,
        &json!({ "prompt": "after the burst" }),
    );
    assert_eq!(again.status, 202, "{}", again.body);
}

#[test]
fn two_hundred_jobs_survive_a_kill_mid_run_each_ending_once() {
    let provider = FakeProvider::start();
    provider.plan(Plan::Succeed {
        after: Duration::from_millis(300),
    });
    let mut app = with_provider(&provider, vec![], vec![]);
    let free = app.key("crash-free", "free");
    let premium = app.key("crash-premium", "premium");
    let ids: Vec<String> = (0..200)
        .map(|n| {
            let key = if n % 4 == 0 { &premium } else { &free };
            generate(
                &app,
                key,
                &json!({ "prompt": format!("crash fox {n} --ar 3:2") }),
            )
        })
        .collect();

    // Kill the host when about a quarter is done, while eight jobs run.
    support::eventually(Duration::from_secs(60), || {
        let jobs = all_jobs(&app);
        let done = ids
            .iter()
            .filter(|id| jobs[*id]["status"] == "succeeded")
            .count();
        (done >= 50).then_some(())
    })
    .expect("a quarter of the jobs finish");
    let before = all_jobs(&app);
    let running_at_kill = before
        .values()
        .filter(|j| matches!(j["status"].as_str(), Some("running" | "storing")))
        .count();
    app.host.kill();
    let restarted = Instant::now();
    app.host.start_again();

    wait_all_final(&app, &ids, Duration::from_secs(120));
    let recovered = restarted.elapsed();
    let jobs = all_jobs(&app);

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for id in &ids {
        let job = &jobs[id];
        *by_status
            .entry(job["status"].as_str().expect("status").to_string())
            .or_default() += 1;
        if let Some(reason) = job["failure"]["reason"].as_str() {
            *failed_by_reason.entry(reason.to_string()).or_default() += 1;
        }
    }
    let more_than_one_end: Vec<&String> = ids
        .iter()
        .filter(|id| final_changes(&app, id) != 1)
        .collect();
    let duplicates = duplicate_submissions(&provider);
    println!(
        "crash test: accepted {} jobs; at the kill {} were running; after the restart all \
         were final in {:.1} s; by status {by_status:?}; failed by reason \
         {failed_by_reason:?}; provider submissions {}; duplicate submissions for one \
         attempt: {}; jobs with more than one final state: {}",
        ids.len(),
        running_at_kill,
        recovered.as_secs_f64(),
        provider.submissions().len(),
        duplicates.len(),
        more_than_one_end.len(),
    );

    assert_eq!(by_status.get("succeeded"), Some(&200), "{by_status:?}");
    assert_eq!(duplicates, Vec::<String>::new());
    assert_eq!(more_than_one_end, Vec::<&String>::new());
    for id in ids.iter().take(20) {
        let images = app.get(&format!("/api/images?job={id}"), ADMIN).json();
        assert_eq!(images["items"].as_array().expect("items").len(), 1, "{id}");
    }
}
