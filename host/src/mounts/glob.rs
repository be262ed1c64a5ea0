//! The globs a `files` string may be, in the syntax of the `glob` crate that Spin uses:
//! `*`, `?` and `[...]` within one path segment, and `**` for any number of folders.

use std::io;
use std::path::{Path, PathBuf};

/// Whether a `files` string is a glob rather than a path.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The files under `root` whose path relative to `root` matches `pattern`, relative and
/// sorted. Folders are walked through but never returned.
pub fn files_matching(root: &Path, pattern: &str) -> io::Result<Vec<PathBuf>> {
    let root_text = root.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the folder {} is not UTF-8", root.display()),
        )
    })?;
    let relative = pattern.trim_start_matches("./");
    let full = format!("{}/{relative}", glob::Pattern::escape(root_text));
    let paths = glob::glob(&full).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{pattern}` is not a valid glob: {}", e.msg),
        )
    })?;

    let mut found = Vec::new();
    for path in paths {
        let path = path.map_err(io::Error::from)?;
        if path.is_file() {
            let inside = path.strip_prefix(root).unwrap_or(&path);
            found.push(inside.to_path_buf());
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("test folder");
        for file in files {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("folder");
            std::fs::write(path, file).expect("file");
        }
        root
    }

    fn found(root: &Path, pattern: &str) -> Vec<String> {
        files_matching(root, pattern)
            .expect("the folder is readable")
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn double_star_spans_any_number_of_folders() {
        let root = tree(&[
            "a.txt",
            "static/b.txt",
            "static/deep/c.txt",
            "static/deep/d.css",
        ]);
        let root = root.path();

        assert_eq!(found(root, "*.txt"), ["a.txt"]);
        assert_eq!(
            found(root, "**/*.txt"),
            ["a.txt", "static/b.txt", "static/deep/c.txt"]
        );
        assert_eq!(
            found(root, "static/**/*"),
            ["static/b.txt", "static/deep/c.txt", "static/deep/d.css"]
        );
        assert_eq!(found(root, "./static/*"), ["static/b.txt"]);
        assert_eq!(found(root, "static/deep/[a-c].*"), ["static/deep/c.txt"]);
        assert_eq!(found(root, "nothing/*"), Vec::<String>::new());
    }

    #[test]
    fn glob_characters_in_the_root_folder_are_literal() {
        let parent = tempfile::tempdir().expect("test folder");
        let root = parent.path().join("app[1]");
        std::fs::create_dir_all(&root).expect("folder");
        std::fs::write(root.join("x.css"), "x").expect("file");
        assert_eq!(found(&root, "*.css"), ["x.css"]);
    }

    #[test]
    fn a_broken_pattern_is_an_error_naming_it() {
        let root = tree(&["a.txt"]);
        let error = files_matching(root.path(), "a/***").expect_err("`***` is not a glob");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(
            error
                .to_string()
                .starts_with("`a/***` is not a valid glob: "),
            "{error}"
        );
    }
}
