//! `prompt-mesh demo`: the main job, run on the shipped library with a fast sandbox.

mod support;

use std::process::Command;

use support::app::{manifest, workspace};

#[test]
fn demo_runs_generations_through_the_whole_pipeline_and_reports_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spin = dir.path().join("spin.toml");
    std::fs::write(&spin, manifest()).expect("writing the manifest");
    let output = Command::new(env!("CARGO_BIN_EXE_prompt-mesh"))
        .arg("demo")
        .arg("--manifest")
        .arg(&spin)
        .arg("--cache-dir")
        .arg(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-mesh-cache"))
        .arg("--templates")
        .arg(workspace().join("demo/templates.toml"))
        .arg("--subjects")
        .arg(workspace().join("demo/subjects.txt"))
        .args(["--generations", "30"])
        .env("SPIN_VARIABLE_SANDBOX_LATENCY_MS", "100")
        .env("SPIN_VARIABLE_POLL_INTERVAL_MS", "25")
        .env("SPIN_VARIABLE_SANDBOX_IMAGE_SIZE", "32")
        .output()
        .expect("running prompt-mesh demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");

    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
            .to_string()
    };
    assert!(
        stdout.starts_with("\nprompt-mesh demo: 30 generations through http://127.0.0.1:"),
        "{stdout}"
    );
    assert_eq!(
        line("keys:").trim(),
        "keys: 3 free, 1 premium; templates: 22; subjects: 54"
    );
    assert_eq!(
        line("succeeded").split_whitespace().collect::<Vec<_>>(),
        ["succeeded", "30"]
    );
    assert!(line("all ").contains("n=30"), "{stdout}");
    assert!(
        stdout.contains("A/B experiments (control: the first arm)"),
        "{stdout}"
    );
    assert!(stdout.contains("ratings per template version"), "{stdout}");
}
