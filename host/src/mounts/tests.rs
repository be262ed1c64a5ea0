use super::*;

/// An application folder holding `files` (each file's text is its own path) and a
/// manifest whose one component `web` lists `entries` under `files`.
fn app(files: &[&str], entries: &str) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().expect("test folder");
    for file in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("folder");
        std::fs::write(path, file).expect("file");
    }
    let text = format!(
        "spin_manifest_version = 2\n\
         [application]\nname = \"files\"\nversion = \"0.1.0\"\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\
         [component.web]\nsource = \"web.wasm\"\nfiles = {entries}\n"
    );
    let path = dir.path().join("spin.toml");
    let manifest = Manifest::parse(&path, &text).expect("the test manifest is valid");
    (dir, manifest)
}

fn resolve_web(manifest: &Manifest, copies: &Path) -> anyhow::Result<Vec<Mount>> {
    let spec = manifest.component("web").expect("the manifest has `web`");
    resolve(manifest, spec, copies)
}

/// Every file under `folder`, relative, with its text.
fn listing(folder: &Path) -> Vec<(String, String)> {
    let files = glob::files_matching(folder, "**/*").expect("the folder is readable");
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(folder.join(&f)).expect("copied file is readable");
            (f.display().to_string(), text)
        })
        .collect()
}

#[test]
fn a_folder_is_mounted_where_the_manifest_places_it() {
    let (dir, manifest) = app(
        &["assets/logo.svg"],
        r#"[{ source = "assets", destination = "/static" }]"#,
    );
    let copies = dir.path().join("data/files");
    let mounts = resolve_web(&manifest, &copies).expect("the folder exists");
    assert_eq!(
        mounts,
        [Mount {
            host: dir.path().join("assets"),
            guest: "/static".into(),
        }]
    );
    assert!(
        !copies.join("web").exists(),
        "a folder is mounted, not copied"
    );
}

#[test]
fn single_files_and_glob_matches_are_copied_and_mounted_at_the_root() {
    let (dir, manifest) = app(
        &["config.toml", "static/a.css", "static/b.css", "static/c.js"],
        r#"["config.toml", "static/*.css"]"#,
    );
    let copies = dir.path().join("data/files");
    let mounts = resolve_web(&manifest, &copies).expect("every entry exists");
    assert_eq!(
        mounts,
        [Mount {
            host: copies.join("web"),
            guest: "/".into(),
        }]
    );
    assert_eq!(
        listing(&copies.join("web")),
        [
            ("config.toml".to_string(), "config.toml".to_string()),
            ("static/a.css".to_string(), "static/a.css".to_string()),
            ("static/b.css".to_string(), "static/b.css".to_string()),
        ]
    );
}

#[test]
fn a_new_start_shows_only_its_own_files() {
    let (dir, manifest) = app(&["config.toml"], r#"["config.toml"]"#);
    let copies = dir.path().join("data/files");
    std::fs::create_dir_all(copies.join("web")).expect("folder");
    std::fs::write(copies.join("web/stale.txt"), "from an earlier start").expect("file");

    resolve_web(&manifest, &copies).expect("the file exists");
    assert_eq!(
        listing(&copies.join("web")),
        [("config.toml".to_string(), "config.toml".to_string())]
    );
}

#[test]
fn a_missing_file_stops_the_start_naming_the_entry() {
    let (dir, manifest) = app(&["config.toml"], r#"["config.toml", "missing.txt"]"#);
    let error = resolve_web(&manifest, &dir.path().join("data/files"))
        .expect_err("`missing.txt` does not exist");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: `component.web.files[1]`: `missing.txt` does not exist in {}; create it, or \
             fix the path, which is relative to the manifest's folder",
            dir.path().join("spin.toml").display(),
            dir.path().display()
        )
    );
}

#[test]
fn a_glob_that_matches_nothing_mounts_nothing() {
    let (dir, manifest) = app(&["config.toml"], r#"["static/*.css"]"#);
    let mounts = resolve_web(&manifest, &dir.path().join("data/files")).expect("allowed");
    assert_eq!(mounts, []);
}
