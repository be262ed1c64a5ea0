//! Shared harness for the host's end-to-end tests: builds the fixture components once, starts
//! `prompt-mesh up` as a child process on a free port, and talks HTTP to it.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod app;
pub mod provider;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The folder holding the built fixture components (`<name>.wasm`).
pub fn fixtures() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = fixtures_source().join("Cargo.toml");
        let target = match std::env::var_os("PROMPT_MESH_FIXTURE_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => fixtures_source().join("target"),
        };
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target);
        // The outer cargo's settings describe the host build, not the guests.
        for var in [
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_TARGET",
        ] {
            cargo.env_remove(var);
        }
        let status = cargo
            .status()
            .expect("running cargo to build the fixture components");
        assert!(
            status.success(),
            "building the fixture components failed: {status}"
        );
        target.join("wasm32-wasip2/release")
    })
}

/// The fixtures' source workspace.
pub fn fixtures_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A compile cache shared by every test, so each fixture is compiled once per machine.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-mesh-cache")
}

/// A `prompt-mesh up` child process serving one application.
pub struct Host {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub base: String,
    runtime_config: Option<String>,
    extra_args: Vec<String>,
    envs: Vec<(String, String)>,
    shell_prefix: Option<String>,
    /// `None` for the relative defaults (see [`HostOptions::relative_defaults`]).
    cache_dir: Option<PathBuf>,
    starts: usize,
    /// What the host printed at its last start, up to the end of its route list.
    pub startup: Vec<String>,
}

/// What to start a host with.
#[derive(Default)]
pub struct HostOptions {
    pub runtime_config: Option<String>,
    pub args: Vec<String>,
    pub envs: Vec<(String, String)>,
    /// Compile cache; the cache shared by all tests when `None`.
    pub cache_dir: Option<PathBuf>,
    /// Shell commands run before the host in the same process, e.g. `ulimit -v 4000000`.
    pub shell_prefix: Option<String>,
    /// Run in the test's folder with the defaults a user gets: `spin.toml` and
    /// `.prompt-mesh/` relative to the working directory, no `--data-dir` or `--cache-dir`.
    pub relative_defaults: bool,
}

impl Host {
    /// Writes `manifest` (with `{fixtures}` standing for the fixture folder) and starts a host.
    pub fn start(manifest: &str) -> Host {
        Self::start_with(manifest, HostOptions::default())
    }

    pub fn start_with(manifest: &str, options: HostOptions) -> Host {
        let dir = tempfile::tempdir().expect("creating the test's folder");
        let manifest = manifest.replace("{fixtures}", &fixtures().display().to_string());
        std::fs::write(dir.path().join("spin.toml"), manifest).expect("writing the test manifest");
        let mut host = Host {
            child: None,
            dir,
            base: String::new(),
            runtime_config: options.runtime_config,
            extra_args: options.args,
            envs: options.envs,
            shell_prefix: options.shell_prefix,
            cache_dir: match options.relative_defaults {
                true => None,
                false => Some(options.cache_dir.unwrap_or_else(shared_cache)),
            },
            starts: 0,
            startup: Vec::new(),
        };
        host.launch()
            .unwrap_or_else(|log| panic!("the host did not start:\n{log}"));
        host
    }

    /// Starts the host; on failure returns its log.
    fn launch(&mut self) -> Result<(), String> {
        let (stdout, log_path) = self.spawn();
        let mut lines = BufReader::new(stdout).lines();
        self.startup.clear();
        let mut serving = None;
        loop {
            match lines.next() {
                Some(Ok(line)) if line.is_empty() && serving.is_some() => break,
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("Serving ") {
                        serving = Some(addr.trim().to_string());
                    }
                    self.startup.push(line);
                }
                _ => {
                    let _ = self.child.as_mut().map(|c| c.wait());
                    return Err(std::fs::read_to_string(&log_path).unwrap_or_default());
                }
            }
        }
        let serving = serving.expect("the loop ends only after `Serving`");
        // Keep draining stdout so the host never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.base = serving;
        Ok(())
    }

    fn spawn(&mut self) -> (std::process::ChildStdout, PathBuf) {
        self.starts += 1;
        let log_path = self.dir.path().join(format!("host-{}.log", self.starts));
        let log = std::fs::File::create(&log_path).expect("creating the host log");
        let bin = env!("CARGO_BIN_EXE_prompt-mesh");
        let mut cmd = match &self.shell_prefix {
            None => Command::new(bin),
            Some(prefix) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("{prefix} && exec \"$0\" \"$@\""))
                    .arg(bin);
                sh
            }
        };
        cmd.args(["up", "--listen", "127.0.0.1:0"]);
        match &self.cache_dir {
            Some(cache_dir) => {
                cmd.arg("--manifest")
                    .arg(self.dir.path().join("spin.toml"))
                    .arg("--data-dir")
                    .arg(self.dir.path().join("data"))
                    .arg("--cache-dir")
                    .arg(cache_dir);
            }
            None => {
                cmd.current_dir(self.dir.path());
            }
        }
        cmd.args(&self.extra_args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if let Some(rc) = &self.runtime_config {
            let path = self.dir.path().join("runtime-config.toml");
            std::fs::write(&path, rc).expect("writing the runtime config");
            cmd.arg("--runtime-config").arg(path);
        }
        let mut child = cmd.spawn().expect("spawning prompt-mesh");
        let stdout = child.stdout.take().expect("stdout is piped");
        self.child = Some(child);
        (stdout, log_path)
    }

    /// Stops the host with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// Kills the host with SIGKILL, as a crash or an out-of-memory kill would, and waits.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the host again after [`Host::kill`] or [`Host::stop`].
    pub fn start_again(&mut self) {
        self.launch()
            .unwrap_or_else(|log| panic!("the host did not start again:\n{log}"));
    }

    /// Stops and starts the host again over the same manifest and data folder.
    pub fn restart(&mut self) {
        self.stop();
        self.launch()
            .unwrap_or_else(|log| panic!("the host did not restart:\n{log}"));
    }

    /// Everything the host has logged so far, over all its starts.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                std::fs::read_to_string(self.dir.path().join(format!("host-{n}.log")))
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(client().get(self.url(path)))
    }

    pub fn post(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Reply {
        self.send(client().post(self.url(path)).body(body))
    }

    pub fn send(&self, request: reqwest::blocking::RequestBuilder) -> Reply {
        let response = request.send().expect("the host answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().expect("reading the response body");
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The request id in the host's `500` body for a failed `component`, after checking
    /// that the reply is exactly that body.
    pub fn failure_request_id(&self, component: &str) -> String {
        let prefix =
            format!("500 Internal Server Error: component `{component}` failed; see request ");
        let id = self
            .body
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(" in the host log\n"))
            .filter(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("not the host's failure body: {:?}", self.body));
        assert_eq!(
            (self.status, self.body.clone()),
            (500, format!("{prefix}{id} in the host log\n"))
        );
        id.to_string()
    }
}

/// An HTTP client with a timeout long enough for a cold compile behind the first request.
pub fn client() -> reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("building the HTTP client")
        })
        .clone()
}

/// A URL-encoded query value.
pub fn encode(value: &str) -> String {
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

/// The Redis server tests may use, from `PROMPT_MESH_TEST_REDIS`; `None` (with a printed
/// reason) when unset.
pub fn test_redis() -> Option<String> {
    match std::env::var("PROMPT_MESH_TEST_REDIS") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: PROMPT_MESH_TEST_REDIS is unset");
            None
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `prompt-mesh up` on `manifest`, which must fail to start; returns its standard
/// output and error.
pub fn run_up_expecting_failure(manifest: &str) -> String {
    let dir = tempfile::tempdir().expect("creating the test's folder");
    let manifest = manifest.replace("{fixtures}", &fixtures().display().to_string());
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).expect("writing the test manifest");
    let output = Command::new(env!("CARGO_BIN_EXE_prompt-mesh"))
        .arg("up")
        .arg("--manifest")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--cache-dir")
        .arg(shared_cache())
        .output()
        .expect("running prompt-mesh");
    assert!(
        !output.status.success(),
        "the host started, but should have refused"
    );
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// The text of chunk `keyword` of a PNG (`iTXt` uncompressed, or `tEXt`), if it has one.
pub fn png_text(png: &[u8], keyword: &str) -> Option<String> {
    let mut rest = png.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    while rest.len() >= 12 {
        let length = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        let kind = &rest[4..8];
        let data = rest.get(8..8 + length)?;
        let body = data
            .strip_prefix(keyword.as_bytes())
            .and_then(|d| d.strip_prefix(b"\0"));
        match (kind, body) {
            (b"tEXt", Some(text)) => return String::from_utf8(text.to_vec()).ok(),
            // Compression flag 0, method, language tag, translated keyword, then UTF-8 text.
            (b"iTXt", Some([0, _, after @ ..])) => {
                let mut parts = after.splitn(3, |&b| b == 0);
                let (_language, _translated) = (parts.next()?, parts.next()?);
                return String::from_utf8(parts.next()?.to_vec()).ok();
            }
            _ => {}
        }
        rest = rest.get(12 + length..)?;
    }
    None
}

/// One HTTP request a [`capture_server`] received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 request (head and a `content-length` body) from `stream`.
pub fn read_request(stream: &std::net::TcpStream) -> Option<Captured> {
    use std::io::Read;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Captured {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Writes a whole HTTP/1.1 answer and closes the connection.
pub fn write_response(
    mut stream: &std::net::TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) {
    use std::io::Write;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// A tiny HTTP/1.1 server on a free port that answers every request with `status` and
/// sends what it received down the channel.
pub fn capture_server(status: u16) -> (u16, std::sync::mpsc::Receiver<Captured>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a capture port");
    let port = listener.local_addr().expect("address").port();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Some(captured) = read_request(&stream) else {
                continue;
            };
            write_response(&stream, status, &[], b"");
            if sender.send(captured).is_err() {
                return;
            }
        }
    });
    (port, receiver)
}

/// A server that forwards every request to a base URL set once it is known.
pub struct Relay {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    target: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Relay {
    /// Forwards from now on to `base`.
    pub fn point_at(&self, base: &str) {
        *self.target.lock().expect("relay lock") = Some(base.to_string());
    }
}

/// A [`Relay`] on a free port; until it is pointed somewhere it answers 502.
pub fn relay() -> Relay {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the relay");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let target: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let shared = target.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let target = shared.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else {
                    return;
                };
                let Some(base) = target.lock().expect("relay lock").clone() else {
                    return write_response(&stream, 502, &[], b"not pointed anywhere");
                };
                let method =
                    reqwest::Method::from_bytes(request.method.as_bytes()).expect("an HTTP method");
                let mut forward = client().request(method, format!("{base}{}", request.path));
                if let Some(kind) = request.header("content-type") {
                    forward = forward.header("content-type", kind);
                }
                match forward.body(request.body.clone()).send() {
                    Ok(answer) => {
                        let status = answer.status().as_u16();
                        let body = answer.bytes().unwrap_or_default();
                        write_response(&stream, status, &[], &body);
                    }
                    Err(_) => write_response(&stream, 502, &[], b"the target did not answer"),
                }
            });
        }
    });
    Relay { url, target }
}
