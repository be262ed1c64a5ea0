//! A scriptable image provider that speaks the midjourney-proxy contract on a free port:
//! `POST /mj/submit/imagine`, `GET /mj/task/{id}/fetch`, the images it renders, and
//! callbacks to the `notifyHook` it was given. Tests script how it misbehaves: answer a
//! status (with `Retry-After`), close the connection without answering, stay silent, stall
//! a task at some progress, fail fetches, serve an image URL only once.
//!
//! It runs in the test process, so it outlives a host the test kills.

use std::collections::{HashMap, VecDeque};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Captured, read_request, write_response};

/// A 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// How the provider answers one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Does what the contract says.
    Normal,
    /// HTTP status with an optional `Retry-After` in seconds and no task.
    Status(u16, Option<u64>),
    /// A submit result with this code (23: queue full, 24: banned prompt).
    Code(i64),
    /// Closes the connection without answering.
    Reset,
    /// Answers nothing for this long, then closes.
    Silent(Duration),
}

/// How a new task behaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// In progress for `after`, then SUCCESS with an image.
    Succeed { after: Duration },
    /// Reaches this progress at once and stays there for ever.
    Stall(u8),
    /// FAILURE with this reason.
    Fail(String),
}

/// One submission the provider received.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub prompt: String,
    /// What the worker sent as `state`: `<job id>:<attempt>`.
    pub state: String,
    pub notify_hook: String,
    /// The task it made, if it accepted it.
    pub task_id: Option<String>,
}

struct Task {
    prompt: String,
    state: String,
    plan: Plan,
    submitted: Instant,
}

#[derive(Default)]
struct State {
    submits: VecDeque<Answer>,
    fetches: VecDeque<Answer>,
    images: VecDeque<Answer>,
    /// Every fetch answers this when set, after the scripted ones.
    fetch_default: Option<Answer>,
    plan: Option<Plan>,
    tasks: HashMap<String, Task>,
    next_task: u64,
    submissions: Vec<Submission>,
    downloads: HashMap<String, u32>,
    image_once: bool,
    callbacks: bool,
    /// While set, every task reports 10% and nothing ends.
    held: bool,
    requests: Vec<Captured>,
}

/// The provider; dropping it leaves the port open until the test process ends.
#[derive(Clone)]
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeProvider {
    /// A provider whose tasks succeed after 200 ms.
    pub fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the provider's port");
        let port = listener.local_addr().expect("address").port();
        let provider = FakeProvider {
            base: format!("http://127.0.0.1:{port}"),
            state: Arc::default(),
        };
        provider.plan(Plan::Succeed {
            after: Duration::from_millis(200),
        });
        let serving = provider.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let provider = serving.clone();
                std::thread::spawn(move || provider.serve(stream));
            }
        });
        provider
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the next submits are answered, in order; then normally.
    pub fn script_submits(&self, answers: Vec<Answer>) {
        self.state().submits.extend(answers);
    }

    /// How the next fetches are answered, in order; then as [`FakeProvider::fetches_default`].
    pub fn script_fetches(&self, answers: Vec<Answer>) {
        self.state().fetches.extend(answers);
    }

    /// How every fetch is answered after the scripted ones (`None`: normally).
    pub fn fetches_default(&self, answer: Option<Answer>) {
        self.state().fetch_default = answer;
    }

    /// How the next image downloads are answered, in order; then normally.
    pub fn script_images(&self, answers: Vec<Answer>) {
        self.state().images.extend(answers);
    }

    /// How tasks submitted from now on behave.
    pub fn plan(&self, plan: Plan) {
        self.state().plan = Some(plan);
    }

    /// Holds every task at 10% until [`FakeProvider::release`].
    pub fn hold(&self) {
        self.state().held = true;
    }

    /// Lets tasks go on as their plan says, from when they were submitted.
    pub fn release(&self) {
        self.state().held = false;
    }

    /// Serves each image URL once; later downloads are 410, as expired provider URLs are.
    pub fn image_once(&self) {
        self.state().image_once = true;
    }

    /// Posts each task's end to the `notifyHook` it was submitted with.
    pub fn send_callbacks(&self) {
        self.state().callbacks = true;
    }

    /// Every submission so far.
    pub fn submissions(&self) -> Vec<Submission> {
        self.state().submissions.clone()
    }

    /// Successful downloads of task `task_id`'s image.
    pub fn downloads(&self, task_id: &str) -> u32 {
        self.state().downloads.get(task_id).copied().unwrap_or(0)
    }

    /// Every request so far, as `METHOD path`.
    pub fn requests(&self) -> Vec<String> {
        let state = self.state();
        state
            .requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// The image URL of task `task_id`.
    pub fn image_url(&self, task_id: &str) -> String {
        format!("{}/images/{task_id}.png", self.base)
    }

    fn serve(&self, stream: TcpStream) {
        let Some(request) = read_request(&stream) else {
            return;
        };
        self.state().requests.push(request.clone());
        let path = request
            .path
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        if request.method == "POST" && path == "/mj/submit/imagine" {
            self.submit(&stream, &request);
        } else if let Some(id) = path
            .strip_prefix("/mj/task/")
            .and_then(|p| p.strip_suffix("/fetch"))
        {
            self.fetch(&stream, id);
        } else if let Some(id) = path
            .strip_prefix("/images/")
            .and_then(|p| p.strip_suffix(".png"))
        {
            self.image(&stream, id);
        } else {
            write_response(&stream, 404, &[], b"not found");
        }
    }

    fn submit(&self, stream: &TcpStream, request: &Captured) {
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        let text = |name: &str| body[name].as_str().unwrap_or_default().to_string();
        let mut state = self.state();
        let answer = state.submits.pop_front().unwrap_or(Answer::Normal);
        let mut submission = Submission {
            prompt: text("prompt"),
            state: text("state"),
            notify_hook: text("notifyHook"),
            task_id: None,
        };
        let reply = match answer {
            Answer::Normal => {
                state.next_task += 1;
                let id = format!("{}", 1_700_000_000_000_000u64 + state.next_task);
                let plan = state.plan.clone().expect("a plan is always set");
                let task = Task {
                    prompt: submission.prompt.clone(),
                    state: submission.state.clone(),
                    plan: plan.clone(),
                    submitted: Instant::now(),
                };
                state.tasks.insert(id.clone(), task);
                submission.task_id = Some(id.clone());
                if state.callbacks && !submission.notify_hook.is_empty() {
                    self.call_back_later(id.clone(), submission.notify_hook.clone(), plan);
                }
                json!({"code": 1, "description": "Submitted", "result": id, "properties": {}})
            }
            Answer::Code(code) => json!({"code": code, "description": "refused",
                "properties": {"bannedWord": "nude"}}),
            other => {
                state.submissions.push(submission);
                drop(state);
                return misbehave(stream, &other);
            }
        };
        state.submissions.push(submission);
        drop(state);
        write_json(stream, 200, &reply);
    }

    fn fetch(&self, stream: &TcpStream, id: &str) {
        let mut state = self.state();
        let answer = state
            .fetches
            .pop_front()
            .or_else(|| state.fetch_default.clone())
            .unwrap_or(Answer::Normal);
        if answer != Answer::Normal {
            drop(state);
            return misbehave(stream, &answer);
        }
        let Some(task) = state.tasks.get(id) else {
            drop(state);
            return write_response(stream, 404, &[], b"");
        };
        let report = if state.held {
            self.held_report(id, task)
        } else {
            self.report(id, task)
        };
        drop(state);
        write_json(stream, 200, &report);
    }

    /// The task as midjourney-proxy shows it; its prompt carries the reference image the
    /// provider prefixed, so it never equals what was sent (C01).
    fn report(&self, id: &str, task: &Task) -> Value {
        let elapsed = task.submitted.elapsed();
        let (status, progress, image, reason) = match &task.plan {
            Plan::Succeed { after } if elapsed >= *after => {
                ("SUCCESS", 100, self.image_url(id), "")
            }
            Plan::Succeed { after } => {
                let done = (elapsed.as_millis() * 100 / after.as_millis().max(1)) as u64;
                ("IN_PROGRESS", done.min(99), String::new(), "")
            }
            Plan::Stall(at) => ("IN_PROGRESS", u64::from(*at), String::new(), ""),
            Plan::Fail(reason) => ("FAILURE", 0, String::new(), reason.as_str()),
        };
        let shown = format!("<https://s.mj.run/ref.png> {}", task.prompt);
        json!({
            "id": id, "action": "IMAGINE", "status": status, "progress": format!("{progress}%"),
            "imageUrl": image, "failReason": reason, "prompt": shown, "promptEn": shown,
            "state": task.state, "description": "/imagine",
        })
    }

    fn held_report(&self, id: &str, task: &Task) -> Value {
        let mut report = self.report(id, task);
        report["status"] = json!("IN_PROGRESS");
        report["progress"] = json!("10%");
        report["imageUrl"] = json!("");
        report
    }

    fn image(&self, stream: &TcpStream, id: &str) {
        let mut state = self.state();
        let answer = state.images.pop_front().unwrap_or(Answer::Normal);
        if answer != Answer::Normal {
            drop(state);
            return misbehave(stream, &answer);
        }
        let served = state.downloads.get(id).copied().unwrap_or(0);
        if !state.tasks.contains_key(id) || (state.image_once && served > 0) {
            drop(state);
            return write_response(stream, 410, &[], b"expired");
        }
        state.downloads.insert(id.to_string(), served + 1);
        drop(state);
        write_response(stream, 200, &[("content-type", "image/png".into())], PNG);
    }

    /// Posts the task's end to `hook` once it is reached.
    fn call_back_later(&self, id: String, hook: String, plan: Plan) {
        let provider = self.clone();
        std::thread::spawn(move || {
            if let Plan::Succeed { after } = plan {
                std::thread::sleep(after);
            }
            let report = {
                let state = provider.state();
                let Some(task) = state.tasks.get(&id) else {
                    return;
                };
                provider.report(&id, task)
            };
            let _ = super::client().post(&hook).json(&report).send();
        });
    }
}

fn write_json(stream: &TcpStream, status: u16, body: &Value) {
    let headers = [("content-type", "application/json".to_string())];
    write_response(stream, status, &headers, body.to_string().as_bytes());
}

fn misbehave(stream: &TcpStream, answer: &Answer) {
    match answer {
        Answer::Status(status, retry_after) => {
            let headers: Vec<(&str, String)> = retry_after
                .iter()
                .map(|s| ("retry-after", s.to_string()))
                .collect();
            write_response(stream, *status, &headers, b"scripted failure");
        }
        Answer::Reset => {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Answer::Silent(duration) => {
            std::thread::sleep(*duration);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Answer::Normal | Answer::Code(_) => unreachable!("answered by the caller"),
    }
}
