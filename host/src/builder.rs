//! `prompt-mesh build`: runs each component's `[component.X.build]` commands, as
//! `spin build` does.

use std::process::Command;

use anyhow::{Context, bail};

use crate::manifest::Manifest;

/// Runs the build commands of `components` (all when empty), in manifest order, stopping at
/// the first failure; an id the manifest lacks is refused before anything is built.
pub fn build(manifest: &Manifest, components: &[String]) -> anyhow::Result<()> {
    manifest.check_requested(components)?;
    for (id, spec) in &manifest.components {
        if !components.is_empty() && !components.contains(id) {
            continue;
        }
        let Some(build) = &spec.build else {
            println!("Component `{id}` has no build command; skipping");
            continue;
        };
        for command in &build.commands {
            println!("Building component `{id}`: {command}");
            let status = shell(command)
                .current_dir(&build.workdir)
                .envs(&build.environment)
                .status()
                .with_context(|| format!("starting the build command of component `{id}`"))?;
            if !status.success() {
                bail!(
                    "build of component `{id}` failed ({status}): `{command}` in {}; fix the \
                     command under [component.{id}.build] or the code it builds",
                    build.workdir.display()
                );
            }
        }
    }
    println!("Finished building all components");
    Ok(())
}

fn shell(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}
