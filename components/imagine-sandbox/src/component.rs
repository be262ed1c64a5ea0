//! The Spin HTTP glue: routes requests to the plain modules, keeps tasks in key-value store
//! `default` under `sandbox:task:<id>`, and reads the settings from Spin variables.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use promptmesh_guest::time::now_ms;
use serde::Serialize;
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;
use spin_sdk::variables;

use crate::api::{self, Route, SubmitResult, code};
use crate::config::Settings;
use crate::image;
use crate::task::{self, Status, StoredTask};

/// The key-value prefix of the sandbox's tasks.
const TASK_KEY_PREFIX: &str = "sandbox:task:";
/// The base of image URLs when the request carries neither `spin-full-url` nor `host`.
const DEFAULT_BASE_URL: &str = "http://imagine-sandbox.spin.internal";
/// Fresh ids tried before giving up on a collision.
const ID_ATTEMPTS: u32 = 5;

#[http_component]
fn handle(req: Request) -> Response {
    let method = req.method().to_string();
    let result = match api::route(&method, &path_info(&req)) {
        Route::Submit => submit(&req),
        Route::Fetch(id) => fetch(&req, &id),
        Route::Image(id) => image_png(&id),
        Route::MethodNotAllowed(allowed) => Ok(method_not_allowed(&method, allowed)),
        Route::NotFound => Ok(json(
            404,
            &SubmitResult::error(
                code::NOT_FOUND,
                "no such route; use POST /mj/submit/imagine, GET /mj/task/{id}/fetch or \
                 GET /mj/image/{id}.png"
                    .to_owned(),
            ),
        )),
    };
    result.unwrap_or_else(|message| json(500, &SubmitResult::error(code::FAILURE, message)))
}

/// `POST /mj/submit/imagine`: stores a new task and answers code 1 with its id.
fn submit(req: &Request) -> Result<Response, String> {
    let settings = Settings::load(&variable).map_err(|e| e.to_string())?;
    let request = match api::parse_imagine(req.body()) {
        Ok(request) => request,
        Err(refusal) => return Ok(json(refusal.status, &refusal.result)),
    };
    let store = open_store()?;
    let now = now_ms();
    let id = fresh_id(&store, now)?;
    let task = StoredTask::new(id.clone(), request.prompt, request.state, now, &settings);
    let value =
        serde_json::to_vec(&task).map_err(|e| format!("encoding task `{id}` failed: {e}"))?;
    store
        .set(&task_key(&id), &value)
        .map_err(|e| format!("key-value store `default` failed to save task `{id}`: {e:?}"))?;
    Ok(json(200, &SubmitResult::submitted(&id)))
}

/// A task id not yet in the store.
fn fresh_id(store: &Store, now: u64) -> Result<String, String> {
    for _ in 0..ID_ATTEMPTS {
        let id = task::task_id(now, RandomState::new().hash_one(now));
        let taken = store
            .exists(&task_key(&id))
            .map_err(|e| format!("key-value store `default` failed to check task `{id}`: {e:?}"))?;
        if !taken {
            return Ok(id);
        }
    }
    Err(format!(
        "no free task id after {ID_ATTEMPTS} attempts at {now} ms"
    ))
}

/// `GET /mj/task/{id}/fetch`: the task as it stands now.
fn fetch(req: &Request, id: &str) -> Result<Response, String> {
    let Some(task) = load(id)? else {
        return Ok(json(404, &api::task_not_found(id)));
    };
    Ok(json(200, &task::view(&task, now_ms(), &base_url(req))))
}

/// `GET /mj/image/{id}.png`: the image of a task that has succeeded.
fn image_png(id: &str) -> Result<Response, String> {
    let Some(task) = load(id)? else {
        return Ok(json(404, &api::task_not_found(id)));
    };
    let status = task::phase(&task, now_ms()).status;
    if status != Status::Success {
        let description = format!(
            "task `{id}` has no image while {}; fetch the task until it is SUCCESS",
            serde_json::to_string(&status).unwrap_or_default()
        );
        return Ok(json(
            404,
            &SubmitResult::error(code::NOT_FOUND, description),
        ));
    }
    let bytes = image::render(&task.prompt, task.image_size)
        .map_err(|e| format!("rendering the image of task `{id}` failed: {e}"))?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "image/png")
        .body(bytes)
        .build())
}

fn load(id: &str) -> Result<Option<StoredTask>, String> {
    let Some(bytes) = open_store()?
        .get(&task_key(id))
        .map_err(|e| format!("key-value store `default` failed to read task `{id}`: {e:?}"))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("stored task `{id}` is unreadable: {e}"))
}

fn open_store() -> Result<Store, String> {
    Store::open_default().map_err(|e| format!("opening key-value store `default` failed: {e:?}"))
}

fn task_key(id: &str) -> String {
    format!("{TASK_KEY_PREFIX}{id}")
}

/// A Spin variable, `None` when it is not defined for this component.
fn variable(name: &str) -> Result<Option<String>, String> {
    match variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The path relative to the component's route, as Spin passes it.
fn path_info(req: &Request) -> String {
    match header(req, "spin-path-info") {
        Some(path) => path,
        None => req.path().to_owned(),
    }
}

/// `scheme://host` the caller used: from `spin-full-url`, else `host`, else the internal
/// name of the private route.
fn base_url(req: &Request) -> String {
    if let Some(base) = header(req, "spin-full-url")
        .as_deref()
        .and_then(api::base_url)
    {
        return base.to_owned();
    }
    match header(req, "host") {
        Some(host) if !host.is_empty() => format!("http://{host}"),
        _ => DEFAULT_BASE_URL.to_owned(),
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.header(name).and_then(|v| v.as_str()).map(str::to_owned)
}

fn method_not_allowed(method: &str, allowed: &'static str) -> Response {
    let description = format!("method {method} is not allowed here; use {allowed}");
    let mut response = json(
        405,
        &SubmitResult::error(code::VALIDATION_ERROR, description),
    );
    response.set_header("allow", allowed);
    response
}

fn json(status: u16, body: &impl Serialize) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap_or_default())
        .build()
}
