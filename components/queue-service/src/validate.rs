//! Input checks shared by the operations: new jobs, page limits and cursors.

use promptmesh_guest::{cursor, id};

use crate::error::{Error, Result};
use crate::model::NewJob;

/// Longest prompt the queue stores, in characters (Unicode scalar values).
pub const MAX_PROMPT_CHARS: usize = 10_000;
/// Largest page a listing returns.
pub const MAX_LIMIT: u32 = 100;

/// Checks a submitted job's owner, prompt and callback URL.
pub fn new_job(job: &NewJob) -> Result<()> {
    if job.owner.trim().is_empty() {
        return Err(Error::invalid(
            "owner",
            "required",
            "owner is empty; pass the id of the API key that submits the job",
        ));
    }
    prompt(&job.prompt)?;
    if let Some(url) = &job.callback_url {
        callback_url(url)?;
    }
    if let Some(key) = &job.idempotency_key {
        idempotency_key(key)?;
    }
    Ok(())
}

/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// 1 to 255 visible ASCII characters.
pub fn idempotency_key(key: &str) -> Result<()> {
    let visible = |c: char| c.is_ascii_graphic();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.chars().all(visible) {
        return Err(Error::invalid(
            "Idempotency-Key",
            "invalid_idempotency_key",
            format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII \
                 characters, such as a UUID"
            ),
        ));
    }
    Ok(())
}

fn prompt(prompt: &str) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::invalid(
            "prompt",
            "required",
            "prompt is empty; pass the rendered prompt text",
        ));
    }
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(Error::invalid(
            "prompt",
            "prompt_too_long",
            format!(
                "prompt is {chars} characters long; shorten it to at most {MAX_PROMPT_CHARS} \
                 characters"
            ),
        ));
    }
    Ok(())
}

/// An absolute `http` or `https` URL with a host.
fn callback_url(value: &str) -> Result<()> {
    let refuse = |why: &str| {
        Error::invalid(
            "callback_url",
            "invalid_callback_url",
            format!(
                "callback_url {value:?} {why}; pass an http or https URL such as https://example.com/hook"
            ),
        )
    };
    let url = url::Url::parse(value).map_err(|e| refuse(&format!("does not parse ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(&format!("has scheme `{}`", url.scheme())));
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => Ok(()),
        _ => Err(refuse("has no host")),
    }
}

/// A page size of 1 to [`MAX_LIMIT`].
pub fn page_limit(limit: u32) -> Result<u32> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid(
            "limit",
            "limit_out_of_range",
            format!("limit {limit} is out of range; pass 1 to {MAX_LIMIT}"),
        ))
    }
}

/// The id inside a page cursor made for ids with `prefix`.
pub fn cursor_key(cursor: Option<&str>, prefix: &str) -> Result<Option<String>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    match cursor::decode(cursor) {
        Some(key) if id::is_id(prefix, &key) => Ok(Some(key)),
        _ => Err(Error::invalid(
            "cursor",
            "invalid_cursor",
            format!(
                "cursor {cursor:?} was not made by this listing; pass the next_cursor of the \
                 previous page, or none for the first page"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tier;

    fn job(owner: &str, prompt: &str, callback_url: Option<&str>) -> NewJob {
        NewJob {
            owner: owner.into(),
            tier: Tier::Free,
            prompt: prompt.into(),
            template_id: None,
            template_version: None,
            variables: vec![],
            callback_url: callback_url.map(str::to_string),
            idempotency_key: None,
            request_hash: None,
        }
    }

    fn code(result: Result<()>) -> Option<(String, String)> {
        match result {
            Err(Error::Invalid(e)) => Some((e.field, e.code)),
            _ => None,
        }
    }

    #[test]
    fn owner_and_prompt_are_required() {
        assert_eq!(
            new_job(&job("", "a cat", None)),
            Err(Error::invalid(
                "owner",
                "required",
                "owner is empty; pass the id of the API key that submits the job"
            ))
        );
        assert_eq!(
            code(new_job(&job("key_1", "  ", None))),
            Some(("prompt".into(), "required".into()))
        );
    }

    #[test]
    fn prompt_length_counts_characters_up_to_ten_thousand() {
        let at_limit = "猫".repeat(10_000);
        assert_eq!(new_job(&job("key_1", &at_limit, None)), Ok(()));
        let over = "🐱".repeat(10_001);
        assert_eq!(
            new_job(&job("key_1", &over, None)),
            Err(Error::invalid(
                "prompt",
                "prompt_too_long",
                "prompt is 10001 characters long; shorten it to at most 10000 characters"
            ))
        );
    }

    #[test]
    fn callback_urls_must_be_http_or_https_with_a_host() {
        for good in [
            "http://example.com/hook",
            "https://hooks.example.com:8443/a?b=c",
        ] {
            assert_eq!(
                new_job(&job("key_1", "a cat", Some(good))),
                Ok(()),
                "{good}"
            );
        }
        for bad in [
            "ftp://example.com/x",
            "not a url",
            "https://",
            "mailto:a@b.c",
            "",
        ] {
            assert_eq!(
                code(new_job(&job("key_1", "a cat", Some(bad)))),
                Some(("callback_url".into(), "invalid_callback_url".into())),
                "{bad}"
            );
        }
        assert_eq!(
            new_job(&job("key_1", "a cat", Some("ftp://example.com/x"))),
            Err(Error::invalid(
                "callback_url",
                "invalid_callback_url",
                "callback_url \"ftp://example.com/x\" has scheme `ftp`; pass an http or https \
                 URL such as https://example.com/hook"
            ))
        );
    }

    #[test]
    fn limits_run_from_one_to_one_hundred() {
        assert_eq!(page_limit(1), Ok(1));
        assert_eq!(page_limit(100), Ok(100));
        assert_eq!(
            page_limit(0),
            Err(Error::invalid(
                "limit",
                "limit_out_of_range",
                "limit 0 is out of range; pass 1 to 100"
            ))
        );
        assert_eq!(
            code(page_limit(101).map(drop)),
            Some(("limit".into(), "limit_out_of_range".into()))
        );
    }

    #[test]
    fn cursors_must_hold_an_id_of_the_listing() {
        let key = "job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";
        let good = cursor::encode(key);
        assert_eq!(cursor_key(Some(&good), "job"), Ok(Some(key.to_string())));
        assert_eq!(cursor_key(None, "job"), Ok(None));
        assert_eq!(
            code(cursor_key(Some(&good), "img").map(drop)),
            Some(("cursor".into(), "invalid_cursor".into()))
        );
        assert_eq!(
            code(cursor_key(Some("!!"), "job").map(drop)),
            Some(("cursor".into(), "invalid_cursor".into()))
        );
    }
}
