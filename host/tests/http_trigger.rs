//! The HTTP trigger end to end: Spin's routing and headers, private routes, HTTP/2, body
//! limits, and components that trap, loop or overgrow failing only their own request.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{Host, HostOptions, client, eventually};

const ROUTES: &str = r#"
spin_manifest_version = 2
[application]
name = "routing"

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = "/api/exact"
component = "exact"

[[trigger.http]]
route = "/api/items/..."
component = "items"

[[trigger.http]]
route = { private = true }
component = "hidden"

[[trigger.http]]
route = "/front/..."
component = "front"

[component.api]
source = "{fixtures}/fixture_http.wasm"
environment = { FIXTURE_NAME = "api" }

[component.exact]
source = "{fixtures}/fixture_http.wasm"
environment = { FIXTURE_NAME = "exact" }

[component.items]
source = "{fixtures}/fixture_http.wasm"
environment = { FIXTURE_NAME = "items" }

[component.hidden]
source = "{fixtures}/fixture_http.wasm"
environment = { FIXTURE_NAME = "hidden" }

[component.front]
source = "{fixtures}/fixture_caller.wasm"
allowed_outbound_hosts = ["http://hidden.spin.internal", "http://self"]
[component.front.dependencies]
"fixture:greeter/greet@0.1.0" = { component = "greeter" }

[component.greeter]
source = "{fixtures}/fixture_greeter.wasm"
"#;

#[test]
fn most_specific_route_serves_with_spin_headers() {
    let host = Host::start(ROUTES);

    let exact = host.get("/api/exact").json();
    assert_eq!(exact["component"], "exact");
    assert_eq!(exact["path_info"], "");
    assert_eq!(exact["matched_route"], "/api/exact");
    assert_eq!(exact["component_route"], "/api/exact");

    let items = host.get("/api/items/7/tags?x=1").json();
    assert_eq!(items["component"], "items");
    assert_eq!(items["path_info"], "/7/tags");
    assert_eq!(items["matched_route"], "/api/items/...");
    assert_eq!(items["raw_component_route"], "/api/items/...");
    assert_eq!(items["component_route"], "/api/items");
    assert_eq!(items["base_path"], "/");
    let authority = host.base.trim_start_matches("http://");
    assert_eq!(
        items["full_url"],
        format!("http://{authority}/api/items/7/tags?x=1")
    );
    assert!(
        items["client_addr"]
            .as_str()
            .expect("client_addr is a string")
            .starts_with("127.0.0.1:")
    );

    let api = host.get("/api/other").json();
    assert_eq!(
        (api["component"].as_str(), api["path_info"].as_str()),
        (Some("api"), Some("/other"))
    );
}

#[test]
fn private_route_is_404_outside_and_200_through_service_chaining() {
    let host = Host::start(ROUTES);

    let outside = host.get("/hidden/echo");
    assert_eq!(
        (outside.status, outside.body.as_str()),
        (404, "no route matches this path\n")
    );

    let chained = host.get("/front/chain?target=hidden.spin.internal&path=/echo");
    assert_eq!(chained.status, 200, "{}", chained.body);
    let body = chained
        .body
        .strip_prefix("status=200 body=")
        .expect("chained call succeeded");
    let echoed: serde_json::Value = serde_json::from_str(body).expect("echo is JSON");
    assert_eq!(echoed["component"], "hidden");
    assert_eq!(echoed["client_addr"], "127.0.0.1:0");

    let via_self = host.get("/front/chain?target=self&path=/api/exact");
    let body = via_self
        .body
        .strip_prefix("status=200 body=")
        .expect("self call succeeded");
    let echoed: serde_json::Value = serde_json::from_str(body).expect("echo is JSON");
    assert_eq!(echoed["component"], "exact");

    let metrics = host.get("/.well-known/prompt-mesh/metrics").body;
    assert!(metrics.contains(
        "promptmesh_edge_calls_total{caller=\"front\",callee=\"hidden\",interface=\"wasi:http/incoming-handler\"} 1\n"
    ), "{metrics}");
}

#[test]
fn serves_http2_with_prior_knowledge() {
    let host = Host::start(ROUTES);
    let h2 = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("building an HTTP/2 client");
    let response = h2
        .get(host.url("/api/exact"))
        .send()
        .expect("HTTP/2 request is answered");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().expect("echo is JSON");
    assert_eq!(body["component"], "exact");
}

const HOSTILE: &str = r#"
spin_manifest_version = 2
[application]
name = "hostile"

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "{fixtures}/fixture_http.wasm"
key_value_stores = ["default"]
[component.web.tool.prompt-mesh]
timeout = "1s"
memory_limit = "64MiB"
max_request_body = "1KiB"
"#;

#[test]
fn trap_fails_only_its_own_request() {
    let host = Host::start(HOSTILE);
    let trapped = host.get("/trap");
    trapped.failure_request_id("web");
    assert_eq!(host.get("/echo").status, 200);
}

#[test]
fn failure_body_names_the_request_and_only_the_log_has_the_backtrace() {
    let host = Host::start(HOSTILE);
    let id = host.get("/trap").failure_request_id("web");
    let log = host.log();
    let failure = log
        .lines()
        .find(|line| line.contains("Component call failed"))
        .unwrap_or_else(|| panic!("no failure logged:\n{log}"));
    assert!(failure.contains(&format!("request.id={id}")), "{failure}");
    assert!(failure.contains("component=web"), "{failure}");
    assert!(log.contains("wasm backtrace:"), "{log}");
}

#[test]
fn endless_loop_times_out_while_other_requests_are_served() {
    let host = Host::start(HOSTILE);
    let looping = {
        let url = host.url("/loop");
        std::thread::spawn(move || {
            client()
                .get(url)
                .send()
                .expect("the loop request is answered")
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(host.get("/echo").status, 200, "served while the loop runs");
    let looped = looping.join().expect("loop request thread");
    assert_eq!(looped.status(), 504);
    assert_eq!(
        looped.text().expect("body"),
        "component `web` did not answer within 1000 ms\n"
    );
    assert_eq!(host.get("/echo").status, 200);
}

const CHAINED: &str = r#"
spin_manifest_version = 2
[application]
name = "chained"

[[trigger.http]]
route = "/front/..."
component = "front"

[[trigger.http]]
route = "/..."
component = "web"

[component.front]
source = "{fixtures}/fixture_caller.wasm"
allowed_outbound_hosts = ["http://web.spin.internal"]
[component.front.dependencies]
"fixture:greeter/greet@0.1.0" = { component = "greeter" }
[component.front.tool.prompt-mesh]
timeout = "300ms"

[component.web]
source = "{fixtures}/fixture_http.wasm"
[component.web.tool.prompt-mesh]
timeout = "30s"
max_instances = 1

[component.greeter]
source = "{fixtures}/fixture_greeter.wasm"
"#;

#[test]
fn chained_call_ends_with_its_callers_budget() {
    let host = Host::start(CHAINED);
    // Without the caller's budget the callee would loop for its own 30 s, past this client's
    // patience, and hold web's only instance all that time.
    let patient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("building an HTTP client");
    let chained = patient
        .get(host.url("/front/chain?target=web.spin.internal&path=/loop"))
        .send()
        .expect("the caller answers within its budget");
    assert_eq!(chained.status(), 504);
    assert_eq!(
        chained.text().expect("body"),
        "component `front` did not answer within 300 ms\n"
    );
    let echo = patient
        .get(host.url("/echo"))
        .send()
        .expect("web's only instance was released at the caller's deadline");
    assert_eq!(echo.status(), 200);
}

#[test]
fn memory_beyond_the_limit_fails_the_request() {
    let host = Host::start(HOSTILE);
    host.get("/grow").failure_request_id("web");
    assert_eq!(host.get("/echo").status, 200);
}

#[test]
fn request_body_over_the_limit_is_413() {
    let host = Host::start(HOSTILE);
    let big = host.post("/kv/set/big", vec![b'x'; 2048]);
    assert_eq!(
        (big.status, big.body.as_str()),
        (413, "request body over 1024 bytes\n")
    );
    let small = host.post("/kv/set/small", vec![b'x'; 1000]);
    assert_eq!((small.status, small.body.as_str()), (200, "ok"));
}

/// Sends `body` to `path` in chunks of `chunk` bytes, with no declared length, and returns
/// the status and body of the answer.
fn post_chunked(host: &Host, path: &str, body: &[u8], chunk: usize) -> (u16, String) {
    let authority = host.base.trim_start_matches("http://");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(chunk) {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut stream = TcpStream::connect(authority).expect("connecting to the host");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("setting a read timeout");
    stream.write_all(&request).expect("sending the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the host answers and closes the connection");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let status = head.split(' ').nth(1).expect("a status line");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status.parse().expect("a numeric status"), body)
}

/// The payload of a chunked HTTP/1.1 body.
fn dechunk(mut body: &str) -> String {
    let mut payload = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hexadecimal chunk size");
        if size == 0 {
            return payload;
        }
        payload.push_str(&rest[..size]);
        body = rest[size..]
            .strip_prefix("\r\n")
            .expect("a chunk ends with CRLF");
    }
}

#[test]
fn streamed_request_body_over_the_limit_is_413() {
    let host = Host::start(HOSTILE);
    let big = post_chunked(&host, "/kv/set/big", &[b'x'; 2048], 512);
    assert_eq!(big, (413, "request body over 1024 bytes\n".to_string()));
    let small = post_chunked(&host, "/kv/set/small", &[b'x'; 1000], 512);
    assert_eq!(small, (200, "ok".to_string()));
    assert_eq!(host.get("/kv/get/big").status, 404, "nothing was stored");
}

#[test]
fn component_flag_serves_only_the_named_components_routes() {
    let host = support::Host::start_with(
        ROUTES,
        support::HostOptions {
            args: vec!["--component".into(), "exact".into()],
            ..Default::default()
        },
    );
    assert_eq!(host.get("/api/exact").json()["component"], "exact");
    assert_eq!(host.get("/api/other").status, 404);
    assert_eq!(host.get("/front/greet?name=A").status, 404);
    assert_eq!(
        host.startup[2..],
        [
            "Available Routes:".to_string(),
            format!("  exact: {}/api/exact", host.base)
        ]
    );
}

#[test]
fn mounted_files_are_readable_and_nothing_else_is() {
    let assets = tempfile::tempdir().expect("assets folder");
    std::fs::write(assets.path().join("hello.txt"), "from the host").expect("asset");
    let mount = format!(
        "files = [{{ source = \"{}\", destination = \"/assets\" }}]\n",
        assets.path().display()
    );
    let manifest = HOSTILE.replace(
        "key_value_stores = [\"default\"]\n",
        &format!("key_value_stores = [\"default\"]\n{mount}"),
    );
    let host = Host::start(&manifest);
    let file = host.get("/file?path=/assets/hello.txt");
    assert_eq!((file.status, file.body.as_str()), (200, "from the host"));
    let outside = host.get("/file?path=/etc/hostname");
    assert_eq!(outside.status, 404);
}

/// The lines of the host's JSON log, each parsed; panics on a line that is not JSON.
fn json_log(host: &Host) -> Vec<serde_json::Value> {
    host.log()
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
        })
        .collect()
}

/// `(stream, line, request id)` of every guest output event of `component`.
fn guest_output(log: &[serde_json::Value], component: &str) -> Vec<(String, String, String)> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    log.iter()
        .filter(|e| {
            e["fields"]["message"] == "Guest output" && e["fields"]["component"] == component
        })
        .map(|e| {
            let fields = &e["fields"];
            (
                text(&fields["stream"]),
                text(&fields["line"]),
                text(&e["span"]["request.id"]),
            )
        })
        .collect()
}

#[test]
fn guest_output_is_logged_as_json_events_of_its_component() {
    let options = HostOptions {
        args: vec!["--log".into(), "json".into()],
        ..Default::default()
    };
    let host = Host::start_with(HOSTILE, options);
    assert_eq!(host.get("/print?text=hello").body, "printed");
    let id = host.get("/trap").failure_request_id("web");

    // An unfinished line is logged when its instance is dropped, after the response.
    let printed = eventually(Duration::from_secs(10), || {
        let lines: Vec<_> = guest_output(&json_log(&host), "web")
            .into_iter()
            .filter(|(_, line, _)| line.ends_with("hello"))
            .map(|(stream, line, _)| (stream, line))
            .collect();
        (lines.len() == 3).then_some(lines)
    });
    let pair = |stream: &str, line: &str| (stream.to_string(), line.to_string());
    assert_eq!(
        printed.unwrap_or_else(|| panic!("guest output missing:\n{}", host.log())),
        [
            pair("stdout", "stdout: hello"),
            pair("stderr", "stderr: hello"),
            pair("stdout", "unterminated: hello"),
        ]
    );

    let log = json_log(&host);
    let panic_line = ("stderr".to_string(), "fixture trap".to_string(), id.clone());
    assert!(
        guest_output(&log, "web").contains(&panic_line),
        "{}",
        host.log()
    );
    let failure = log
        .iter()
        .find(|e| e["fields"]["message"] == "Component call failed")
        .unwrap_or_else(|| panic!("no failure logged:\n{}", host.log()));
    assert_eq!(failure["span"]["request.id"], id.as_str());
    assert_eq!(failure["fields"]["component"], "web");
    let error = failure["fields"]["error"]
        .as_str()
        .expect("error is a string");
    assert!(error.contains("wasm backtrace:"), "{error}");
}
