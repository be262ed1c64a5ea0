//! `files`: the host files a component may read, found and checked when the application
//! starts so that a wrong entry stops the start instead of failing every request.
//!
//! A folder is mounted (read-only) where the manifest places it. A WASI preopen can only be
//! a folder, so single files and globs are copied, as Spin copies all of them, into a folder
//! of the component's own under the data folder (`<data-dir>/files/<component>`), made
//! afresh at every start and mounted at `/`.

mod glob;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::manifest::{ComponentSpec, FileMount, Manifest, ManifestError};

/// A host folder and the path the component sees it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: PathBuf,
    pub guest: String,
}

/// The folder under the data folder that holds the copied files of every component.
pub const COPIES_FOLDER: &str = "files";

/// Finds every `files` entry of `spec` on disk and returns what to mount, copying single
/// files and glob matches into `<copies>/<component>`.
pub fn resolve(
    manifest: &Manifest,
    spec: &ComponentSpec,
    copies: &Path,
) -> anyhow::Result<Vec<Mount>> {
    let staging = Staging::new(copies.join(&spec.id))?;
    let mut mounts = Vec::new();
    for i in 0..spec.files.len() {
        match (Entry { manifest, spec, i }).locate()? {
            Located::Folder(mount) => mounts.push(mount),
            Located::Files(files) => {
                for (source, guest) in files {
                    staging.copy(&source, &guest)?;
                }
            }
        }
    }
    if staging.used() {
        mounts.push(Mount {
            host: staging.folder,
            guest: "/".into(),
        });
    }
    Ok(mounts)
}

/// What a `files` entry names on disk.
enum Located {
    /// A folder, mounted as it is.
    Folder(Mount),
    /// Files, each with the path the component sees it at, to be copied.
    Files(Vec<(PathBuf, String)>),
}

/// `files[i]` of a component.
struct Entry<'a> {
    manifest: &'a Manifest,
    spec: &'a ComponentSpec,
    i: usize,
}

impl Entry<'_> {
    fn locate(&self) -> Result<Located, ManifestError> {
        let dir = &self.manifest.dir;
        match &self.spec.files[self.i] {
            FileMount::Placement {
                source,
                destination,
            } => self.path(source, destination, &self.shown(source)),
            FileMount::Pattern(p) if glob::is_glob(p) => self.glob(p),
            FileMount::Pattern(p) => {
                let guest = format!("/{}", p.trim_start_matches("./").trim_end_matches('/'));
                self.path(&dir.join(p), &guest, p)
            }
        }
    }

    /// A folder or a file named by path; `written` is the path as the manifest gives it.
    fn path(&self, host: &Path, guest: &str, written: &str) -> Result<Located, ManifestError> {
        match std::fs::metadata(host) {
            Ok(m) if m.is_dir() => Ok(Located::Folder(Mount {
                host: host.to_path_buf(),
                guest: guest.to_string(),
            })),
            Ok(_) => Ok(Located::Files(vec![(
                host.to_path_buf(),
                guest.to_string(),
            )])),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.error(format!(
                "`{written}` does not exist in {}; create it, or fix the path, which is \
                 relative to the manifest's folder",
                self.manifest_folder()
            ))),
            Err(e) => Err(self.error(format!("cannot read `{written}`: {e}"))),
        }
    }

    /// Every file a glob matches; one that matches nothing is allowed, as in Spin, but
    /// logged.
    fn glob(&self, pattern: &str) -> Result<Located, ManifestError> {
        let dir = &self.manifest.dir;
        let files = glob::files_matching(dir, pattern)
            .map_err(|e| self.error(format!("cannot search {}: {e}", self.manifest_folder())))?;
        if files.is_empty() {
            tracing::warn!(component = %self.spec.id, pattern, "Files pattern matches no file");
        }
        let located = files
            .into_iter()
            .map(|file| (dir.join(&file), format!("/{}", file.display())))
            .collect();
        Ok(Located::Files(located))
    }

    fn error(&self, message: String) -> ManifestError {
        ManifestError {
            file: self.manifest.path.clone(),
            key: format!("component.{}.files[{}]", self.spec.id, self.i),
            message,
        }
    }

    /// `path` relative to the manifest folder when it lies inside it, as it was written.
    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.manifest.dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn manifest_folder(&self) -> String {
        self.manifest.dir.display().to_string()
    }
}

/// The folder a component's copied files are mounted from.
struct Staging {
    folder: PathBuf,
}

impl Staging {
    /// Empties the folder left by an earlier start, so that only this start's files show.
    fn new(folder: PathBuf) -> anyhow::Result<Staging> {
        if folder.exists() {
            std::fs::remove_dir_all(&folder)
                .with_context(|| format!("clearing the copied files in {}", folder.display()))?;
        }
        Ok(Staging { folder })
    }

    /// Copies file `source` to where the component sees it as `guest`.
    fn copy(&self, source: &Path, guest: &str) -> anyhow::Result<()> {
        let target = self.folder.join(guest.trim_start_matches('/'));
        let parent = target.parent().unwrap_or(&self.folder);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {} for mounted files", parent.display()))?;
        std::fs::copy(source, &target).with_context(|| {
            format!(
                "copying {} to {} to mount it",
                source.display(),
                target.display()
            )
        })?;
        Ok(())
    }

    fn used(&self) -> bool {
        self.folder.exists()
    }
}

#[cfg(test)]
mod tests;
