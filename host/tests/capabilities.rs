//! Capabilities end to end: key-value and SQLite that survive a restart, variables,
//! outbound HTTP permissions, and the Redis trigger with the embedded broker and real Redis.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use support::{Host, HostOptions, encode, eventually};

const STATEFUL: &str = r#"
spin_manifest_version = 2
[application]
name = "stateful"

[variables]
greeting = { default = "hello" }
secret_token = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "{fixtures}/fixture_http.wasm"
key_value_stores = ["default"]
sqlite_databases = ["default"]
variables = { message = "{{ greeting }}, world", token = "{{ secret_token }}" }
"#;

fn stateful_host() -> Host {
    Host::start_with(
        STATEFUL,
        HostOptions {
            envs: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "s3cret".into())],
            ..Default::default()
        },
    )
}

#[test]
fn key_value_data_survives_a_restart() {
    let mut host = stateful_host();
    assert_eq!(host.post("/kv/set/colour", "teal").body, "ok");
    assert_eq!(host.get("/kv/incr/visits").body, "1");
    assert_eq!(host.get("/kv/incr/visits").body, "2");
    let missing = host.get("/kv/get/nothing");
    assert_eq!((missing.status, missing.body.as_str()), (404, "missing"));

    host.restart();

    let colour = host.get("/kv/get/colour");
    assert_eq!((colour.status, colour.body.as_str()), (200, "teal"));
    assert_eq!(host.get("/kv/incr/visits").body, "3");
}

#[test]
fn key_value_store_not_granted_is_access_denied() {
    let host = stateful_host();
    let denied = host.get("/kv/get/x?store=other");
    assert_eq!(denied.status, 500);
    assert_eq!(denied.body, "kv error: Error::AccessDenied");
}

#[test]
fn sqlite_queries_return_typed_rows_and_persist() {
    let mut host = stateful_host();
    let create = host.post(
        "/sql/exec",
        "CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, weight REAL, photo BLOB)",
    );
    assert_eq!(create.status, 200, "{}", create.body);
    let insert = host.post(
        "/sql/exec",
        "INSERT INTO pets (name, weight, photo) VALUES ('Tom & Jerry', 4.5, x'0102'), ('猫', NULL, NULL)",
    );
    assert_eq!(insert.status, 200, "{}", insert.body);

    host.restart();

    let rows = host.post(
        "/sql/exec",
        "SELECT id, name, weight, photo FROM pets ORDER BY id",
    );
    assert_eq!(
        rows.json(),
        serde_json::json!({
            "columns": ["id", "name", "weight", "photo"],
            "rows": [[1, "Tom & Jerry", 4.5, [1, 2]], [2, "猫", null, null]]
        })
    );
    let bad = host.post("/sql/exec", "SELEC nonsense");
    assert_eq!(bad.status, 500);
    assert!(
        bad.body.starts_with("sqlite error: Error::Io(\""),
        "{}",
        bad.body
    );
}

#[test]
fn variables_render_from_defaults_and_the_environment() {
    let host = stateful_host();
    assert_eq!(host.get("/var/message").body, "hello, world");
    assert_eq!(host.get("/var/token").body, "s3cret");
    let undefined = host.get("/var/nope");
    assert_eq!(undefined.status, 500);
    assert!(
        undefined
            .body
            .starts_with("variable error: Error::Undefined("),
        "{}",
        undefined.body
    );
}

#[test]
fn required_variable_without_a_value_stops_the_start() {
    let output = support::run_up_expecting_failure(STATEFUL);
    assert!(
        output.contains("secret_token") && output.contains("SPIN_VARIABLE_SECRET_TOKEN"),
        "{output}"
    );
}

/// A one-request HTTP server on a free loopback port that answers `pong`.
fn pong_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let port = listener.local_addr().expect("bound address").port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the host connects");
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let reply = "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong";
        stream
            .write_all(reply.as_bytes())
            .expect("writing the reply");
    });
    (port, handle)
}

#[test]
fn outbound_http_reaches_allowed_hosts_only() {
    let (port, server) = pong_server();
    let manifest = format!("{STATEFUL}allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]\n");
    let host = Host::start_with(
        &manifest,
        HostOptions {
            envs: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "x".into())],
            ..Default::default()
        },
    );
    let allowed = host.get(&format!(
        "/outbound?url={}",
        encode(&format!("http://127.0.0.1:{port}/ping"))
    ));
    assert_eq!(
        (allowed.status, allowed.body.as_str()),
        (200, "status=200 body=pong")
    );
    server.join().expect("pong server");

    let denied = host.get(&format!("/outbound?url={}", encode("http://127.0.0.1:9/x")));
    assert_eq!(denied.status, 502);
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
    assert!(
        host.log().contains(
            "destination `http://127.0.0.1:9` is not allowed; add \"http://127.0.0.1:9\" to \
             allowed_outbound_hosts of [component.web] in the manifest"
        ),
        "{}",
        host.log()
    );
}

/// A loopback port whose server accepts connections and never answers; the connections
/// stay open until the test process ends.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let port = listener.local_addr().expect("bound address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn outbound_request_to_a_silent_server_ends_at_the_components_timeout() {
    let port = silent_server();
    let manifest = format!(
        "{STATEFUL}allowed_outbound_hosts = [\"http://127.0.0.1:{port}\"]\n\
         [component.web.tool.prompt-mesh]\ntimeout = \"1s\"\n"
    );
    let host = Host::start_with(
        &manifest,
        HostOptions {
            envs: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "x".into())],
            ..Default::default()
        },
    );
    // The server never answers: only the host's budget can end this request.
    let patient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("building an HTTP client");
    let url = format!("http://127.0.0.1:{port}/hang");
    let answer = patient
        .get(host.url(&format!("/outbound?url={}", encode(&url))))
        .send()
        .expect("the host answers at the component's timeout");
    assert_eq!(answer.status(), 504);
    assert_eq!(
        answer.text().expect("body"),
        "component `web` did not answer within 1000 ms\n"
    );
}

const REDIS_APP: &str = r#"
spin_manifest_version = 2
[application]
name = "messages"

[application.trigger.redis]
address = "redis://127.0.0.1:6379"

[[trigger.http]]
route = "/..."
component = "web"

[[trigger.redis]]
channel = "CHANNEL"
component = "sink"

[component.web]
source = "{fixtures}/fixture_http.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["redis://127.0.0.1:6379"]

[component.sink]
source = "{fixtures}/fixture_redis.wasm"
key_value_stores = ["default"]
"#;

fn publish_and_collect(host: &Host, channel: &str) {
    let path = format!(
        "/publish?address={}&channel={channel}",
        encode("redis://127.0.0.1:6379")
    );
    for message in ["first", "second"] {
        let published = host.post(&path, message);
        assert_eq!(
            (published.status, published.body.as_str()),
            (200, "published")
        );
        // Wait for each message, so the two read-modify-writes cannot interleave.
        let seen = eventually(Duration::from_secs(20), || {
            let got = host.get("/kv/get/messages");
            (got.status == 200 && got.body.ends_with(message)).then_some(())
        });
        assert!(
            seen.is_some(),
            "message `{message}` was not delivered; log:\n{}",
            host.log()
        );
    }
    assert_eq!(host.get("/kv/get/messages").body, "first\nsecond");
}

#[test]
fn redis_trigger_delivers_with_the_embedded_broker() {
    let host = Host::start(&REDIS_APP.replace("CHANNEL", "events"));
    publish_and_collect(&host, "events");
}

#[test]
fn redis_trigger_delivers_with_real_redis() {
    let Some(redis_url) = support::test_redis() else {
        return;
    };
    let channel = format!("events-{}", std::process::id());
    let host = Host::start_with(
        &REDIS_APP.replace("CHANNEL", &channel),
        HostOptions {
            runtime_config: Some(format!("[redis]\naddress = \"{redis_url}\"\n")),
            ..Default::default()
        },
    );
    publish_and_collect(&host, &channel);

    // A publisher outside the host reaches the trigger through the real server.
    let client = redis::Client::open(redis_url.as_str()).expect("valid Redis URL");
    let mut conn = client
        .get_connection()
        .expect("Redis is running at PROMPT_MESH_TEST_REDIS");
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg("third")
        .query(&mut conn)
        .expect("PUBLISH");
    assert_eq!(receivers, 1);
    let seen = eventually(Duration::from_secs(20), || {
        (host.get("/kv/get/messages").body == "first\nsecond\nthird").then_some(())
    });
    assert!(
        seen.is_some(),
        "external message not delivered; log:\n{}",
        host.log()
    );
}
