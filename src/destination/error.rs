//! The errors of the target API client, how an HTTP answer from Twenty is classified into one
//! of them, and what a caller does about each once retries are spent ([`Disposition`]).
//!
//! Decisions are made from HTTP statuses and Twenty's error codes (`code` and `error` in a REST
//! body, `extensions.code` in GraphQL), never from English text; the few answers Twenty sends
//! without any code are recognised in one place, [`uncoded_meaning`], which names the Twenty
//! source of each.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

/// Codes Twenty puts on the batch-cap error; the older one is `UPSERT_MAX_RECORDS_EXCEEDED`.
const BATCH_CAP_CODES: [&str; 2] = ["TOO_MANY_RECORDS_TO_UPDATE", "UPSERT_MAX_RECORDS_EXCEEDED"];

/// The code of a GraphQL document the server refused before running it (graphql-js
/// validation), e.g. a field or a selection this server does not have
/// (`packages/twenty-server/src/engine/core-modules/graphql/utils/graphql-errors.util.ts`).
pub(crate) const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The code of a GraphQL document the server could not parse (same file).
const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";

/// What the caller does once retries are spent, decided by [`TargetError::disposition`] alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The target is overloaded or unreachable (429, 408, 5xx but 501, a timeout, a reset
    /// connection): nothing is wrong with the request. Wait, then send the same request again;
    /// never a reason to reject a record.
    RetryLater,
    /// The request is too large as a whole (more records than the target's cap, or too many
    /// bytes): send its records in smaller requests. A lone record still too large is refused
    /// for its content.
    Shrink,
    /// The target refused what the request carries (a 4xx content refusal, a GraphQL
    /// user-input error, a local file that cannot be read): one or more records, or this
    /// file, are at fault. A batch is bisected to find them; a lone record is rejected with
    /// the target's reason.
    RejectRecords,
    /// No later request can succeed (refused key, missing permission, exhausted quota, bad
    /// configuration, an endpoint or document the target does not have, an answer this client
    /// cannot read): stop the run; its progress is saved.
    Stop,
}

/// A failed call to the target. Every variant's text is free of the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The configuration cannot make a client (bad base URL, zero rate).
    #[error("invalid target configuration: {0}")]
    Config(String),
    /// The target refused the API key (401, or 403 from the authentication layer). Fatal.
    #[error("the target refused the API key (HTTP {status}): {message}")]
    Unauthorized {
        /// The HTTP status (401 or 403).
        status: u16,
        /// Twenty's message, e.g. `Token invalid.`.
        message: String,
    },
    /// The key is valid but its role may not do this (403 `PERMISSION_DENIED`).
    #[error("the API key lacks the permission for this call (HTTP {status}): {message}")]
    Forbidden {
        /// The HTTP status (usually 403).
        status: u16,
        /// Twenty's message.
        message: String,
        /// Twenty's error code, when it sent one: a GraphQL error's `extensions.subCode` where
        /// it has one (the precise reason, e.g. `ROW_LEVEL_PERMISSION_FEATURE_DISABLED`), else
        /// its `code`.
        code: Option<String>,
    },
    /// The batch holds more records than the target accepts in one call; `cap` is the number
    /// the target stated, when its message carried one.
    #[error("the target refused the batch as too large: {message}")]
    BatchTooLarge {
        /// The largest batch the target accepts, parsed from its message.
        cap: Option<usize>,
        /// Twenty's message.
        message: String,
    },
    /// The request body was too large in bytes (413): split the batch.
    #[error("the target refused the request body as too large (HTTP 413)")]
    PayloadTooLarge,
    /// The target refused the request (a 4xx other than the ones above, a 501, or a GraphQL
    /// error). On a batch, one or more records are bad: bisect to find them.
    #[error("the target rejected the request (HTTP {status}): {}", messages.join("; "))]
    Rejected {
        /// The HTTP status (200 for a GraphQL error carried in a 200 answer).
        status: u16,
        /// Twenty's messages.
        messages: Vec<String>,
        /// Twenty's error code, when it sent one.
        code: Option<String>,
    },
    /// The workspace ran out of an allowance or a stock limit (402, or 409 `QUOTA_EXHAUSTED`).
    /// Retrying does not help.
    #[error("the target workspace reached a usage limit (HTTP {status}): {message}")]
    QuotaExhausted {
        /// The HTTP status.
        status: u16,
        /// Twenty's message.
        message: String,
    },
    /// The target answered 429 (or the older 400 `Limit reached`) on every attempt.
    #[error("the target kept refusing requests for exceeding its rate limit{}", retry_after_text(*retry_after))]
    RateLimited {
        /// How long the target asked to wait, from `Retry-After` or `retryAfterSeconds`.
        retry_after: Option<Duration>,
    },
    /// A temporary failure (5xx but 501, 408, timeout, connection refused or reset) on every
    /// attempt.
    #[error("the target is unavailable: {reason}")]
    Transient {
        /// What went wrong on the last attempt.
        reason: String,
    },
    /// The `PUT` of a direct upload was refused for its URL (HTTP 403): that request carries
    /// no API key, its URL's token (or presigned signature) is its only credential, and Twenty
    /// refuses an expired or invalid one so (`file-upload-token.guard.ts`). A fresh URL is asked
    /// for; this error is what remains when the fresh ones were refused too.
    #[error("the target refused the upload URL of file {file_id} (HTTP {status}): its token expired or is not accepted")]
    UploadUrlRefused {
        /// The HTTP status (403).
        status: u16,
        /// The file the URL was made for.
        file_id: String,
    },
    /// A local file to upload could not be read.
    #[error("cannot read `{path}` for upload: {source}")]
    LocalFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The target answered something this client cannot read.
    #[error("unexpected answer from the target: {0}")]
    Protocol(String),
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (it asked to wait {}s)", d.as_secs()),
        None => String::new(),
    }
}

impl TargetError {
    /// What to do about this error once the client's retries are spent; see [`Disposition`].
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::RateLimited { .. } | Self::Transient { .. } => Disposition::RetryLater,
            Self::BatchTooLarge { .. } | Self::PayloadTooLarge => Disposition::Shrink,
            // 405 and 501: the target has no such endpoint, whatever the records hold.
            Self::Rejected {
                status: 405 | 501, ..
            } => Disposition::Stop,
            // A GraphQL document this server cannot run is this client's, not the records'.
            Self::Rejected { code: Some(c), .. }
                if c == GRAPHQL_VALIDATION_FAILED || c == GRAPHQL_PARSE_FAILED =>
            {
                Disposition::Stop
            }
            Self::Rejected { .. } | Self::LocalFile { .. } => Disposition::RejectRecords,
            // Fresh URLs were refused as well: no later request will be accepted either.
            Self::Config(_)
            | Self::UploadUrlRefused { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::QuotaExhausted { .. }
            | Self::Protocol(_) => Disposition::Stop,
        }
    }

    /// The code of a permission refusal (its sub-code where it has one), when it had one.
    pub fn forbidden_code(&self) -> Option<&str> {
        match self {
            Self::Forbidden { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// True when the target refused a GraphQL document before running it (a field, type or
    /// selection it does not have): how a caller tells which generation of an API it speaks.
    pub(crate) fn is_graphql_validation(&self) -> bool {
        matches!(self, Self::Rejected { code: Some(c), .. } if c == GRAPHQL_VALIDATION_FAILED)
    }
}

/// What one of Twenty's messages means where Twenty sends no code for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uncoded {
    /// The legacy throttler's refusal, sent as a 400 (REST) or `BAD_USER_INPUT` (GraphQL).
    LegacyRateLimit,
    /// The batch-cap refusal, with the cap it states.
    BatchCap(Option<usize>),
}

/// The only place this crate reads Twenty's prose to decide something: answers that carry no
/// code (or only a generic one) on some of Twenty's versions.
///
/// - `Limit reached (100 tokens per 60000 ms)`: the legacy throttler's message, which older
///   servers send as a 400 `BadRequestException` without a code
///   (`packages/twenty-server/src/engine/core-modules/throttler/utils/throttler-to-rest-api-exception-handler.util.ts`
///   and `throttler-to-graphql-api-exception-handler.util.ts`, historical).
/// - `Maximum number of records to upsert is 60.`: the batch cap, whose code 2.21 drops when
///   its REST handler rewraps the query runner's exception as a plain `BadRequestException`
///   (`common-create-many-query-runner.service.ts` emits it,
///   `common-query-runner-to-rest-api-exception-handler.util.ts` rewraps it); the number is
///   read from it in every version.
fn uncoded_meaning(message: &str) -> Option<Uncoded> {
    const LEGACY_LIMIT_PREFIX: &str = "Limit reached";
    const BATCH_CAP_PREFIX: &str = "Maximum number of records to upsert is ";
    if message.starts_with(LEGACY_LIMIT_PREFIX) {
        return Some(Uncoded::LegacyRateLimit);
    }
    let at = message.find(BATCH_CAP_PREFIX)?;
    let digits: String = message[at + BATCH_CAP_PREFIX.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(Uncoded::BatchCap(digits.parse().ok()))
}

/// Twenty's REST error envelope: `{statusCode, error, messages, code?}` (newest), with
/// Nest's `message` (string or list) as a fallback.
///
/// Source: `packages/twenty-server/src/engine/core-modules/exception-handler/utils/
/// send-http-exception-response.util.ts`, `.../http-exception-handler.service.ts`.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub messages: Vec<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub retry_after_seconds: Option<u64>,
}

impl ErrorBody {
    /// Reads an error body leniently; a body that is not JSON becomes one message (cut short).
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let messages = if text.is_empty() {
                Vec::new()
            } else {
                vec![truncate(text, 300)]
            };
            return Self {
                messages,
                ..Self::default()
            };
        };
        let mut messages = Vec::new();
        for key in ["messages", "message"] {
            match value.get(key) {
                Some(Value::Array(items)) => {
                    messages.extend(items.iter().map(value_text));
                }
                Some(Value::String(s)) => messages.push(s.clone()),
                _ => {}
            }
            if !messages.is_empty() {
                break;
            }
        }
        let text_field = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            messages,
            code: text_field("code"),
            error: text_field("error"),
            retry_after_seconds: value.get("retryAfterSeconds").and_then(Value::as_u64),
        }
    }

    fn first_message(&self) -> String {
        self.messages
            .first()
            .cloned()
            .or_else(|| self.error.clone())
            .unwrap_or_else(|| "no message".to_owned())
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Cuts `text` to at most `max` characters, on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Reads `Retry-After` as delta-seconds (the form Twenty sends:
/// `usage-limit/utils/build-rate-limit-response-headers.util.ts`). The HTTP-date form is not
/// used by Twenty and is ignored.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Classifies a non-success HTTP answer.
pub(crate) fn classify_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> TargetError {
    let parsed = ErrorBody::parse(body);
    let code = status.as_u16();
    match code {
        401 => TargetError::Unauthorized {
            status: code,
            message: parsed.first_message(),
        },
        403 => {
            // The auth middleware answers 403 with the auth exception's code in `error`
            // (`FORBIDDEN_EXCEPTION` for a missing or revoked key,
            // `engine/middlewares/middleware.service.ts`); a role without the object permission
            // is a custom exception, rendered with its category's Nest name in `error` and, on
            // newer servers, `code: PERMISSION_DENIED`
            // (`exception-handler/utils/send-http-exception-response.util.ts`).
            let is_permission = parsed.code.as_deref() == Some("PERMISSION_DENIED")
                || parsed.error.as_deref() == Some("ForbiddenException");
            if is_permission {
                TargetError::Forbidden {
                    status: code,
                    message: parsed.first_message(),
                    code: parsed.code,
                }
            } else {
                TargetError::Unauthorized {
                    status: code,
                    message: parsed.first_message(),
                }
            }
        }
        413 => TargetError::PayloadTooLarge,
        429 => TargetError::RateLimited {
            retry_after: retry_after_header(headers)
                .or(parsed.retry_after_seconds.map(Duration::from_secs)),
        },
        402 => TargetError::QuotaExhausted {
            status: code,
            message: parsed.first_message(),
        },
        409 if parsed.error.as_deref() == Some("QUOTA_EXHAUSTED") => TargetError::QuotaExhausted {
            status: code,
            message: parsed.first_message(),
        },
        408 => TargetError::Transient {
            reason: format!("HTTP 408: {}", parsed.first_message()),
        },
        501 => rejected(code, parsed),
        500..=599 => TargetError::Transient {
            reason: format!("HTTP {code}: {}", parsed.first_message()),
        },
        400 => {
            let uncoded = parsed
                .messages
                .iter()
                .find_map(|m| Some((m, uncoded_meaning(m)?)));
            let coded_cap = parsed
                .code
                .as_deref()
                .is_some_and(|c| BATCH_CAP_CODES.contains(&c));
            match uncoded {
                Some((_, Uncoded::LegacyRateLimit)) => TargetError::RateLimited {
                    retry_after: retry_after_header(headers),
                },
                Some((message, Uncoded::BatchCap(cap))) => TargetError::BatchTooLarge {
                    cap,
                    message: message.clone(),
                },
                None if coded_cap => TargetError::BatchTooLarge {
                    cap: None,
                    message: parsed.first_message(),
                },
                None => rejected(code, parsed),
            }
        }
        _ => rejected(code, parsed),
    }
}

fn rejected(status: u16, parsed: ErrorBody) -> TargetError {
    let messages = if parsed.messages.is_empty() {
        vec![parsed.first_message()]
    } else {
        parsed.messages
    };
    TargetError::Rejected {
        status,
        messages,
        code: parsed.code,
    }
}

/// One GraphQL error's message, with the messages of the validation errors it groups: a 2.x
/// metadata refusal says only "Multiple validation errors occurred while creating field" and
/// puts the reasons in `extensions.errors.<entity>[].errors[].message`
/// (`METADATA_VALIDATION_FAILED`, seen on a real Twenty 2.21).
fn graphql_message(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let details: Vec<&str> = error
        .pointer("/extensions/errors")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|by_entity| by_entity.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("errors").and_then(Value::as_array))
        .flatten()
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .collect();
    if details.is_empty() {
        message.to_owned()
    } else {
        format!("{message}: {}", details.join("; "))
    }
}

/// Whether a GraphQL error without a code is graphql-js's refusal of the document itself:
/// validation errors point at the document (`locations`) and never at a result (`path`),
/// while Twenty's error formatter keeps neither on the errors of a resolver
/// (`core-modules/graphql/utils/generate-graphql-error-from-error.util.ts`). 2.21 sends its
/// validation errors so, without `extensions` (recorded:
/// `tests/conformance/twenty-2.21/metadata-query-unknown-field-is-custom.json`).
fn is_validation_shaped(error: &Value) -> bool {
    error.get("locations").is_some() && error.get("path").is_none()
}

/// Classifies the `errors` list of a GraphQL answer (Twenty sends them with HTTP 200).
///
/// Codes: `packages/twenty-shared/src/constants/GraphQLErrorCode.ts`; older servers report the
/// throttler as `BAD_USER_INPUT` with `Limit reached …` ([`uncoded_meaning`]). A validation
/// error without a code gets [`GRAPHQL_VALIDATION_FAILED`], the code Twenty's own
/// `ValidationError` carries.
pub(crate) fn classify_graphql_errors(status: u16, errors: &[Value]) -> TargetError {
    let messages: Vec<String> = errors.iter().map(graphql_message).collect();
    let first = errors.first();
    let extensions = first.and_then(|e| e.get("extensions"));
    let code = extensions
        .and_then(|x| x.get("code"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let first_message = messages.first().cloned().unwrap_or_default();
    match code.as_deref() {
        Some("UNAUTHENTICATED") => TargetError::Unauthorized {
            status,
            message: first_message,
        },
        Some("FORBIDDEN") => TargetError::Forbidden {
            status,
            message: first_message,
            code: extensions
                .and_then(|x| x.get("subCode"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(code),
        },
        Some("RATE_LIMITED") => TargetError::RateLimited {
            retry_after: extensions
                .and_then(|x| x.get("retryAfterMs"))
                .and_then(Value::as_u64)
                .map(Duration::from_millis),
        },
        Some("QUOTA_EXHAUSTED") => TargetError::QuotaExhausted {
            status,
            message: first_message,
        },
        Some("TIMEOUT") => TargetError::Transient {
            reason: format!("GraphQL TIMEOUT: {first_message}"),
        },
        _ if uncoded_meaning(&first_message) == Some(Uncoded::LegacyRateLimit) => {
            TargetError::RateLimited { retry_after: None }
        }
        None if first.is_some_and(is_validation_shaped) => TargetError::Rejected {
            status,
            messages,
            code: Some(GRAPHQL_VALIDATION_FAILED.to_owned()),
        },
        _ => TargetError::Rejected {
            status,
            messages,
            code,
        },
    }
}

#[cfg(test)]
mod tests;
