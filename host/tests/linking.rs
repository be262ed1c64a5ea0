//! Linked calls between components: typed records and typed errors cross the edge, traps
//! fail the caller's request, and an import nothing serves stops the start.

mod support;

use support::Host;

const LINKED: &str = r#"
spin_manifest_version = 2
[application]
name = "linked"

[[trigger.http]]
route = "/..."
component = "front"

[component.front]
source = "{fixtures}/fixture_caller.wasm"
[component.front.dependencies]
"fixture:greeter/greet@0.1.0" = { component = "greeter" }

[component.greeter]
source = "{fixtures}/fixture_greeter.wasm"
"#;

fn edge_line(metrics: &str, series: &str) -> String {
    let prefix = format!(
        "{series}{{caller=\"front\",callee=\"greeter\",interface=\"fixture:greeter/greet@0.1.0\"}} "
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no {series} for the edge in:\n{metrics}"))
}

#[test]
fn linked_call_returns_a_typed_record() {
    let host = Host::start(LINKED);
    let reply = host.get("/greet?name=Ada&excited=false");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({ "message": "Hello, Ada!", "length": 11, "tags": ["greeter", "v1"] })
    );
    let excited = host.get("/greet?name=%E7%8C%AB&excited=true").json();
    assert_eq!(excited["message"], "Hello, 猫!!!");
    assert_eq!(excited["length"], 11);
}

#[test]
fn linked_call_returns_a_typed_error() {
    let host = Host::start(LINKED);
    let banned = host.get("/greet?name=Mallory&excited=false");
    assert_eq!(banned.status, 422);
    assert_eq!(
        banned.json(),
        serde_json::json!({ "error": "banned", "word": "mallory" })
    );
    let empty = host.get("/greet?name=&excited=false");
    assert_eq!(
        (empty.status, empty.json()),
        (422, serde_json::json!({ "error": "empty-name" }))
    );

    let metrics = host.get("/.well-known/prompt-mesh/metrics").body;
    assert_eq!(edge_line(&metrics, "promptmesh_edge_calls_total"), "2");
    assert_eq!(
        edge_line(&metrics, "promptmesh_edge_err_results_total"),
        "2"
    );
    assert_eq!(edge_line(&metrics, "promptmesh_edge_failures_total"), "0");
}

#[test]
fn trap_in_the_callee_fails_the_callers_request_only() {
    let host = Host::start(LINKED);
    host.get("/fail").failure_request_id("front");
    assert_eq!(host.get("/greet?name=Bo&excited=false").status, 200);
    let metrics = host.get("/.well-known/prompt-mesh/metrics").body;
    assert_eq!(edge_line(&metrics, "promptmesh_edge_calls_total"), "2");
    assert_eq!(edge_line(&metrics, "promptmesh_edge_failures_total"), "1");
}

#[test]
fn import_that_nothing_serves_stops_the_start() {
    let manifest = LINKED.replace(
        "[component.front.dependencies]\n\"fixture:greeter/greet@0.1.0\" = { component = \"greeter\" }\n",
        "",
    );
    let output = support::run_up_expecting_failure(&manifest);
    assert!(
        output.contains(
            "component `front` imports `fixture:greeter/greet@0.1.0`, which nothing serves; \
             component `greeter` exports it: add `\"fixture:greeter/greet@0.1.0\" = \
             { component = \"greeter\" }` under [component.front.dependencies] in the manifest"
        ),
        "{output}"
    );
}

#[test]
fn dependency_on_a_component_without_the_export_is_refused() {
    let manifest = LINKED.replace("{ component = \"greeter\" }", "{ component = \"other\" }")
        + "\n[component.other]\nsource = \"{fixtures}/fixture_http.wasm\"\n";
    let output = support::run_up_expecting_failure(&manifest);
    assert!(
        output.contains(
            "component `front` imports `fixture:greeter/greet@0.1.0`, but component `other` \
             exports no `fixture:greeter/greet@0.1.0`"
        ),
        "{output}"
    );
}

#[test]
fn dependency_runs_with_the_importers_grants_when_it_lends_them() {
    let manifest = LINKED.replace(
        "source = \"{fixtures}/fixture_caller.wasm\"\n",
        "source = \"{fixtures}/fixture_caller.wasm\"\nkey_value_stores = [\"default\"]\ndependencies_inherit_configuration = true\n",
    );
    let host = Host::start(&manifest);
    assert_eq!(host.get("/bump?key=hits").body, "1");
    assert_eq!(host.get("/bump?key=hits").body, "2");
}

#[test]
fn dependency_without_inherited_grants_has_none_of_its_own() {
    // The greeter's own grant does not apply: a dependency carries no configuration of its
    // own, as under Spin, and the importer does not lend its grants.
    let manifest = LINKED.replace(
        "source = \"{fixtures}/fixture_caller.wasm\"\n",
        "source = \"{fixtures}/fixture_caller.wasm\"\nkey_value_stores = [\"default\"]\n",
    ) + "key_value_stores = [\"default\"]\n";
    let host = Host::start(&manifest);
    let denied = host.get("/bump?key=hits");
    assert_eq!(
        (denied.status, denied.body.as_str()),
        (500, "bump error: Error::AccessDenied")
    );
}
