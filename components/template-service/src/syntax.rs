//! The seam to the template parser of `promptmesh-prompt`, so that every service reads
//! `{{name}}` bodies the same way.

pub use promptmesh_prompt::Issue;

/// The placeholder names of `body` in order of first use, or every problem found in it
/// (messages name the character offset).
pub fn placeholders(body: &str) -> Result<Vec<String>, Vec<Issue>> {
    promptmesh_prompt::template::placeholders(body)
}
