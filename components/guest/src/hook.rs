//! Provider callbacks: the URL a worker gives the provider as `notifyHook`, and the token in
//! it that lets the gateway accept a callback for that job only. The token is HMAC-SHA256
//! under the application's webhook secret over the job id, so it cannot be made for another
//! job without the secret. Also the contract's progress text, which polls and callbacks
//! both carry.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The route prefix of provider callbacks, under the application's base URL.
pub const HOOK_PATH: &str = "/api/provider/hooks";

/// The token of job `job_id`'s callbacks: 32 hex digits.
pub fn token(secret: &str, job_id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"provider-hook:");
    mac.update(job_id.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Whether `token` is job `job_id`'s, compared in constant time.
pub fn verify(secret: &str, job_id: &str, token: &str) -> bool {
    let expected = self::token(secret, job_id);
    expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// A task's progress as midjourney-proxy writes it, `"85%"`, as 85; values above 100 read
/// as 100, anything else is `None`.
pub fn percent(text: &str) -> Option<u8> {
    let number: u32 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    Some(number.min(100) as u8)
}

/// The callback URL of job `job_id` under `base_url` (no trailing slash).
pub fn url(base_url: &str, secret: &str, job_id: &str) -> String {
    let token = token(secret, job_id);
    format!("{base_url}{HOOK_PATH}/{job_id}?token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_job_only() {
        let token = token("whsec", "job_1");
        assert_eq!(token.len(), 32);
        assert!(verify("whsec", "job_1", &token));
        assert!(!verify("whsec", "job_2", &token));
        assert!(!verify("other", "job_1", &token));
        assert!(!verify("whsec", "job_1", &token[..31]));
    }

    #[test]
    fn progress_percentages_parse_leniently() {
        assert_eq!(percent("0%"), Some(0));
        assert_eq!(percent(" 85 %"), Some(85));
        assert_eq!(percent("140%"), Some(100));
        assert_eq!(percent(""), None);
        assert_eq!(percent("85"), None);
    }

    #[test]
    fn the_url_carries_the_job_and_its_token() {
        assert_eq!(
            url("https://pm.example.com", "whsec", "job_1"),
            format!(
                "https://pm.example.com/api/provider/hooks/job_1?token={}",
                token("whsec", "job_1")
            )
        );
    }
}
