//! The HTTP trigger end to end: Spin's routing and headers, private routes, HTTP/2, body
//! limits, and components that trap, loop or overgrow failing only their own request.

mod support;

use std::time::Duration;

use support::{Host, client};

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
    assert_eq!(trapped.status, 500);
    assert!(
        trapped.body.starts_with("component `web` failed:"),
        "{}",
        trapped.body
    );
    assert_eq!(host.get("/echo").status, 200);
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

#[test]
fn memory_beyond_the_limit_fails_the_request() {
    let host = Host::start(HOSTILE);
    let grown = host.get("/grow");
    assert_eq!(grown.status, 500, "{}", grown.body);
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
