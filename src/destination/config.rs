//! The client's configuration and the API key, which never prints.

use std::fmt;
use std::time::Duration;

use super::retry::Backoff;

/// A Twenty API key. It prints as `[redacted]` in every format, so it cannot leak through a
/// log line, an error or a report; only the HTTP layer reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The key's own id, when the key is a Twenty API key token: its JWT payload's `jti`
    /// (`api-key.service.ts`, `generateApiKeyToken` signs with `jwtid: apiKeyId`). Only the
    /// payload is decoded, never verified or shown; `None` for any other key.
    pub fn key_id(&self) -> Option<uuid::Uuid> {
        use base64::Engine as _;
        let payload = self.0.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims.get("jti")?.as_str()?.parse().ok()
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How long an outage of the target is waited out by default: long enough for a deploy or a
/// restart of Twenty, short enough that a run left unattended stops on a real failure.
pub const DEFAULT_MAX_OUTAGE: Duration = Duration::from_secs(30 * 60);

/// How to reach the target and how hard to push it.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// The server's root, e.g. `https://api.twenty.com` (no `/rest`).
    pub base_url: String,
    /// The workspace API key (an Admin-role key for a migration).
    pub api_key: ApiKey,
    /// Requests per minute for the whole process, retries included.
    pub requests_per_minute: u32,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Timeout of one attempt, connect to last byte.
    pub timeout: Duration,
    /// Attempts per request, the first included; then the last error is returned.
    pub max_attempts: u32,
    /// Accept a self-signed or otherwise invalid TLS certificate (opt-in; logs a warning).
    pub accept_invalid_certs: bool,
    /// How retries wait.
    pub backoff: Backoff,
    /// How long the target may stay unavailable (5xx, timeouts, 429s after every retry) before
    /// the run stops with its progress saved; until then it pauses and resends.
    pub max_outage: Duration,
}

impl TargetConfig {
    /// A configuration with the defaults: 100 requests/minute (Twenty's documented limit), 4
    /// in flight, 60 s timeout, 6 attempts, outages waited out for 30 minutes, certificates
    /// verified.
    pub fn new(base_url: impl Into<String>, api_key: ApiKey) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            requests_per_minute: 100,
            max_in_flight: 4,
            timeout: Duration::from_secs(60),
            max_attempts: 6,
            accept_invalid_certs: false,
            backoff: Backoff::default(),
            max_outage: DEFAULT_MAX_OUTAGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::ApiKey;

    fn token(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.signature", b64(r#"{"alg":"HS256"}"#), b64(payload))
    }

    #[test]
    fn a_twenty_api_key_token_names_its_own_key_id() {
        let key = ApiKey::new(token(
            r#"{"sub":"w","type":"API_KEY","workspaceId":"w","jti":"58bbeb3a-4b44-40ac-908f-f47ec975136a"}"#,
        ));
        assert_eq!(
            key.key_id().map(|id| id.to_string()).as_deref(),
            Some("58bbeb3a-4b44-40ac-908f-f47ec975136a")
        );
    }

    #[test]
    fn a_key_that_is_not_a_token_names_no_id() {
        assert_eq!(ApiKey::new("e2e-key").key_id(), None);
        assert_eq!(ApiKey::new(token(r#"{"sub":"w"}"#)).key_id(), None);
    }
}
