//! `prompt-mesh demo`: the main job on real input. Loads the template library, runs
//! generations across free and premium keys through the whole pipeline, rates the images and
//! reports what happened.

pub mod client;
pub mod library;
pub mod summary;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use self::client::{Api, string};
use self::library::{Library, LibraryTemplate};
use self::summary::{Generation, Report, TemplateStats};

/// Generations one free key submits; with one rating each, this stays under the default
/// free limit of 10 requests a minute.
const JOBS_PER_FREE_KEY: usize = 4;
/// Generations one premium key submits (limit 100 a minute).
const JOBS_PER_PREMIUM_KEY: usize = 18;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Generations to submit.
    pub generations: usize,
    /// Share of them submitted with free keys, 0 to 1.
    pub free_share: f64,
    /// Submissions in flight at once.
    pub concurrency: usize,
    /// Seed of every random choice, so a run can be repeated.
    pub seed: u64,
    /// How long to wait for every job to reach a final state.
    pub deadline: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            generations: 120,
            free_share: 0.4,
            concurrency: 8,
            seed: 7,
            deadline: Duration::from_secs(600),
        }
    }
}

/// A template of the library as it exists in the application.
#[derive(Debug, Clone)]
struct Loaded {
    id: String,
    template: LibraryTemplate,
}

/// One planned generation.
#[derive(Debug, Clone)]
struct Plan {
    tier: &'static str,
    key: usize,
    template: usize,
    variables: BTreeMap<String, String>,
}

/// Runs the demo against `api` with admin key `admin`.
pub async fn run(
    api: &Api,
    admin: &str,
    library: &Library,
    options: &DemoOptions,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    api.wait_ready(Duration::from_secs(30)).await?;
    let templates = load_templates(api, admin, library).await?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let plans = plan(library, options, &mut rng);
    let keys = create_keys(api, admin, &plans).await?;
    eprintln!(
        "demo: {} templates loaded; submitting {} generations",
        templates.len(),
        plans.len()
    );
    let mut generations = submit_all(api, &templates, &keys, &plans, options).await;
    wait_final(api, admin, &mut generations, options.deadline).await?;
    rate_all(api, &templates, &keys, &mut generations).await?;
    let stats = collect_stats(api, admin, &templates).await?;
    Ok(Report {
        base: String::new(),
        elapsed: started.elapsed(),
        free_keys: keys.free.len(),
        premium_keys: keys.premium.len(),
        templates: templates.len(),
        subjects: library.subjects.len(),
        generations,
        stats,
    })
}

/// Creates every template (or finds it, when an earlier run made it), its version 2, its
/// `production` label and its experiment.
async fn load_templates(api: &Api, admin: &str, library: &Library) -> anyhow::Result<Vec<Loaded>> {
    let mut loaded = Vec::new();
    for template in &library.templates {
        let id = create_or_find(api, admin, template).await?;
        if let Some(v2) = &template.v2 {
            ensure_version_2(api, admin, &id, v2).await?;
        }
        let label = json!({ "version": 1 });
        let path = format!("/api/templates/{id}/labels/production");
        api.expect(Method::PUT, &path, admin, Some(&label), StatusCode::OK)
            .await?;
        if template.experiment {
            let arms =
                json!({ "arms": [{ "version": 1, "weight": 50 }, { "version": 2, "weight": 50 }] });
            let path = format!("/api/experiments/{id}");
            api.expect(Method::PUT, &path, admin, Some(&arms), StatusCode::OK)
                .await?;
        }
        loaded.push(Loaded {
            id,
            template: template.clone(),
        });
    }
    Ok(loaded)
}

async fn create_or_find(
    api: &Api,
    admin: &str,
    template: &LibraryTemplate,
) -> anyhow::Result<String> {
    let body = json!({
        "name": template.name,
        "description": template.description,
        "tags": template.tags,
        "body": template.body,
    });
    let answer = api
        .call(Method::POST, "/api/templates", admin, Some(&body))
        .await?;
    match answer.status {
        StatusCode::CREATED => string(&answer.body["template"], "id"),
        StatusCode::CONFLICT => find_by_name(api, admin, &template.name).await,
        status => anyhow::bail!(
            "creating template `{}`: {status}: {}",
            template.name,
            answer.body
        ),
    }
}

async fn find_by_name(api: &Api, admin: &str, name: &str) -> anyhow::Result<String> {
    let path = format!("/api/templates?limit=100&q={}", encode(name));
    let page = api
        .expect(Method::GET, &path, admin, None, StatusCode::OK)
        .await?;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let found = items
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .with_context(|| format!("template `{name}` exists but search does not find it"))?;
    string(found, "id")
}

async fn ensure_version_2(api: &Api, admin: &str, id: &str, body: &str) -> anyhow::Result<()> {
    let path = format!("/api/templates/{id}");
    let template = api
        .expect(Method::GET, &path, admin, None, StatusCode::OK)
        .await?;
    if template["latest_version"].as_u64().unwrap_or(0) >= 2 {
        return Ok(());
    }
    let update = json!({ "body": body });
    api.expect(Method::PUT, &path, admin, Some(&update), StatusCode::OK)
        .await?;
    Ok(())
}

/// Which key and template each generation uses.
fn plan(library: &Library, options: &DemoOptions, rng: &mut StdRng) -> Vec<Plan> {
    let free = (options.generations as f64 * options.free_share).round() as usize;
    (0..options.generations)
        .map(|i| {
            let (tier, key) = if i < free {
                ("free", i / JOBS_PER_FREE_KEY)
            } else {
                ("premium", (i - free) / JOBS_PER_PREMIUM_KEY)
            };
            let template = rng.random_range(0..library.templates.len());
            let mut variables = BTreeMap::new();
            let subject = library
                .subjects
                .choose(rng)
                .expect("subjects are not empty");
            variables.insert("subject".to_string(), subject.clone());
            for (name, values) in &library.templates[template].variables {
                if let Some(value) = values.choose(rng) {
                    variables.insert(name.clone(), value.clone());
                }
            }
            Plan {
                tier,
                key,
                template,
                variables,
            }
        })
        .collect()
}

/// The demo's API keys, by tier.
struct Keys {
    free: Vec<String>,
    premium: Vec<String>,
}

impl Keys {
    fn of(&self, plan: &Plan) -> &str {
        match plan.tier {
            "free" => &self.free[plan.key],
            _ => &self.premium[plan.key],
        }
    }
}

async fn create_keys(api: &Api, admin: &str, plans: &[Plan]) -> anyhow::Result<Keys> {
    let count = |tier: &str| {
        plans
            .iter()
            .filter(|p| p.tier == tier)
            .map(|p| p.key + 1)
            .max()
            .unwrap_or(0)
    };
    let mut keys = Keys {
        free: Vec::new(),
        premium: Vec::new(),
    };
    for i in 0..count("free") {
        let name = format!("demo-free-{i}");
        keys.free.push(api.create_key(admin, &name, "free").await?);
    }
    for i in 0..count("premium") {
        let name = format!("demo-premium-{i}");
        keys.premium
            .push(api.create_key(admin, &name, "premium").await?);
    }
    Ok(keys)
}

/// Submits every plan, `concurrency` at a time, and records what the API answered.
async fn submit_all(
    api: &Api,
    templates: &[Loaded],
    keys: &Keys,
    plans: &[Plan],
    options: &DemoOptions,
) -> Vec<Generation> {
    futures::stream::iter(plans.iter().map(|plan| submit(api, templates, keys, plan)))
        .buffered(options.concurrency.max(1))
        .collect()
        .await
}

async fn submit(api: &Api, templates: &[Loaded], keys: &Keys, plan: &Plan) -> Generation {
    let template = &templates[plan.template];
    let body = json!({ "template_id": template.id, "variables": plan.variables });
    let mut generation = Generation {
        tier: plan.tier,
        key: plan.key,
        template: plan.template,
        version: None,
        job: None,
        refused: None,
    };
    match api
        .call(Method::POST, "/api/generate", keys.of(plan), Some(&body))
        .await
    {
        Ok(answer) if answer.status == StatusCode::ACCEPTED => {
            generation.version = answer.body["template"]["version"]
                .as_u64()
                .map(|v| v as u32);
            generation.job = Some(answer.body);
        }
        Ok(answer) => {
            let code = answer.body["error"]["code"].as_str().unwrap_or("unknown");
            generation.refused = Some(format!("{} {code}", answer.status.as_u16()));
        }
        Err(e) => generation.refused = Some(format!("transport: {e:#}")),
    }
    generation
}

/// Polls the job list (as admin) until every accepted job is final.
async fn wait_final(
    api: &Api,
    admin: &str,
    generations: &mut [Generation],
    deadline: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let pending: HashSet<String> = generations
            .iter()
            .filter(|g| g.job.as_ref().is_some_and(|j| !is_final(j)))
            .filter_map(|g| g.job_id())
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if start.elapsed() > deadline {
            eprintln!(
                "demo: {} jobs still not final after {} s; reporting them as they are",
                pending.len(),
                deadline.as_secs()
            );
            return Ok(());
        }
        let jobs = list_jobs(api, admin, &pending).await?;
        for generation in generations.iter_mut() {
            if let Some(job) = generation.job_id().and_then(|id| jobs.get(&id)) {
                generation.job = Some(job.clone());
            }
        }
        let done = generations.iter().filter(|g| g.is_final()).count();
        let accepted = generations.iter().filter(|g| g.job.is_some()).count();
        eprint!("\rdemo: {done}/{accepted} jobs final");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The jobs in `wanted`, read page by page from the newest.
async fn list_jobs(
    api: &Api,
    admin: &str,
    wanted: &HashSet<String>,
) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut found = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/jobs?limit=100&cursor={}", encode(c)),
            None => "/api/jobs?limit=100".to_string(),
        };
        let page = api
            .expect(Method::GET, &path, admin, None, StatusCode::OK)
            .await?;
        for job in page["items"].as_array().into_iter().flatten() {
            let id = string(job, "id")?;
            if wanted.contains(&id) {
                found.insert(id, job.clone());
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() || found.len() == wanted.len() {
            return Ok(found);
        }
    }
}

fn is_final(job: &Value) -> bool {
    matches!(
        job["status"].as_str(),
        Some("succeeded" | "failed" | "canceled")
    )
}

/// Rates every stored image with the key that asked for it. The raters are simulated: a
/// score from 1 to 5 drawn from the image id, and version 2 of an experiment template gets
/// one point more half of the time (at most 5), so the A/B report has a difference to find.
async fn rate_all(
    api: &Api,
    templates: &[Loaded],
    keys: &Keys,
    generations: &mut [Generation],
) -> anyhow::Result<()> {
    for generation in generations.iter_mut() {
        let Some(image) = generation.image_id() else {
            continue;
        };
        let template = &templates[generation.template].template;
        let score = simulated_score(&image, template.experiment && generation.version == Some(2));
        let key = match generation.tier {
            "free" => &keys.free[generation.key],
            _ => &keys.premium[generation.key],
        };
        let body = json!({ "score": score, "feedback": "rated by the demo's simulated rater" });
        let path = format!("/api/images/{image}/ratings");
        api.expect(Method::POST, &path, key, Some(&body), StatusCode::CREATED)
            .await?;
    }
    Ok(())
}

fn simulated_score(image_id: &str, favoured: bool) -> u8 {
    let digest = Sha256::digest(image_id.as_bytes());
    let seed = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let mut rng = StdRng::seed_from_u64(seed);
    let base: u8 = rng.random_range(1..=5);
    if favoured && rng.random_bool(0.5) {
        (base + 1).min(5)
    } else {
        base
    }
}

/// Ratings per version of every template, and the experiments' results.
async fn collect_stats(
    api: &Api,
    admin: &str,
    templates: &[Loaded],
) -> anyhow::Result<Vec<TemplateStats>> {
    let mut all = Vec::new();
    for loaded in templates {
        let path = format!("/api/templates/{}/stats", loaded.id);
        let versions = api
            .expect(Method::GET, &path, admin, None, StatusCode::OK)
            .await?;
        let experiment = if loaded.template.experiment {
            let path = format!("/api/experiments/{}", loaded.id);
            Some(
                api.expect(Method::GET, &path, admin, None, StatusCode::OK)
                    .await?,
            )
        } else {
            None
        };
        all.push(TemplateStats {
            name: loaded.template.name.clone(),
            versions: versions["versions"].as_array().cloned().unwrap_or_default(),
            experiment,
        });
    }
    Ok(all)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Library {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
        Library::load(&dir.join("templates.toml"), &dir.join("subjects.txt")).expect("library")
    }

    #[test]
    fn the_default_plan_splits_keys_within_their_rate_limits() {
        let options = DemoOptions::default();
        let plans = plan(
            &library(),
            &options,
            &mut StdRng::seed_from_u64(options.seed),
        );
        let free: Vec<&Plan> = plans.iter().filter(|p| p.tier == "free").collect();
        assert_eq!((plans.len(), free.len()), (120, 48));
        assert_eq!(free.iter().map(|p| p.key).max(), Some(11));
        let premium_keys = plans
            .iter()
            .filter(|p| p.tier == "premium")
            .map(|p| p.key)
            .max();
        assert_eq!(premium_keys, Some(3));
        assert!(plans.iter().all(|p| p.variables.contains_key("subject")));
    }

    #[test]
    fn the_plan_is_the_same_for_the_same_seed() {
        let options = DemoOptions::default();
        let a = plan(&library(), &options, &mut StdRng::seed_from_u64(3));
        let b = plan(&library(), &options, &mut StdRng::seed_from_u64(3));
        let picks = |p: &[Plan]| -> Vec<(usize, String)> {
            p.iter()
                .map(|p| (p.template, p.variables["subject"].clone()))
                .collect()
        };
        assert_eq!(picks(&a), picks(&b));
    }

    #[test]
    fn simulated_scores_stay_in_range_and_favour_version_two() {
        let ids: Vec<String> = (0..400).map(|i| format!("img_{i}")).collect();
        let plain: u32 = ids.iter().map(|id| simulated_score(id, false) as u32).sum();
        let favoured: u32 = ids.iter().map(|id| simulated_score(id, true) as u32).sum();
        assert!(
            ids.iter()
                .all(|id| (1..=5).contains(&simulated_score(id, true)))
        );
        assert!(favoured > plain, "{favoured} vs {plain}");
        assert_eq!(
            simulated_score("img_1", false),
            simulated_score("img_1", false)
        );
    }
}
