//! Twenty's REST error envelope: `{statusCode, error, messages, code?}`.
//!
//! Mirrors `packages/twenty-server/src/engine/core-modules/exception-handler/utils/send-http-exception-response.util.ts`
//! and `.../constants/exception-category-http-status.constant.ts`: a custom exception gets its
//! category's status, `error` is the Nest name of that status and `code` the exception's code.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// An error answer of the twin, rendered in Twenty's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `error` member.
    pub error: String,
    /// The one message.
    pub message: String,
    /// The exception code, when Twenty renders one.
    pub code: Option<String>,
    /// Extra body members and headers (the 429 answer carries both); boxed to keep the
    /// error small on the hot `Result` paths.
    pub extras: Option<Box<Extras>>,
}

/// Extra body members and headers of an error answer.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Extra top-level body members.
    pub members: Map<String, Value>,
    /// Extra headers.
    pub headers: HeaderMap,
}

/// 400 codes that reach the client: the record transformer's (not rewrapped by the REST
/// handler) and the direct upload's.
const KEEPS_CODE: [&str; 2] = ["INVALID_URL", "FILE_SIZE_MISMATCH"];

/// The Nest exception name for a status (`exception-category-http-status.constant.ts`).
fn nest_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequestException",
        401 => "UnauthorizedException",
        402 => "PaymentRequiredException",
        403 => "ForbiddenException",
        404 => "NotFoundException",
        405 => "MethodNotAllowedException",
        409 => "ConflictException",
        413 => "PayloadTooLargeException",
        422 => "UnprocessableEntityException",
        429 => "TooManyRequestsException",
        _ => "InternalServerErrorException",
    }
}

impl ApiError {
    /// A custom (engine) exception: status from its category, `error` from the status. Twenty
    /// 2.21's REST handler rewraps the query-runner, input-parser and ORM exceptions as plain
    /// `BadRequestException` / `NotFoundException` (`workspace-query-runner-rest-api-exception-handler.util.ts`,
    /// `common-query-runner-to-rest-api-exception-handler.util.ts`), so 400 and 404 carry no
    /// `code` (recorded: `tests/conformance/twenty-2.21/company-unknown-field.json`); other
    /// statuses keep it.
    pub fn engine(status: u16, code: &str, message: impl Into<String>) -> Self {
        let kept = !matches!(status, 400 | 404) || KEEPS_CODE.contains(&code);
        Self {
            status,
            error: nest_name(status).to_owned(),
            message: message.into(),
            code: kept.then(|| code.to_owned()),
            extras: None,
        }
    }

    /// Sets the code (an exception 2.21 renders with it).
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// A 400 `CommonQueryRunnerException` (INVALID_ARGS_DATA and friends).
    pub fn bad_input(code: &str, message: impl Into<String>) -> Self {
        Self::engine(400, code, message)
    }

    /// The shortcut for the data-arg processor's INVALID_ARGS_DATA.
    pub fn invalid_data(message: impl Into<String>) -> Self {
        Self::bad_input("INVALID_ARGS_DATA", message)
    }

    /// A Postgres error surfaced as a TwentyORMException (DUPLICATE_ENTRY_DETECTED,
    /// INVALID_INPUT; `compute-twenty-orm-exception.util.ts`). Its category is BAD_USER_INPUT, and
    /// the newest `send-http-exception-response.util.ts` renders the code of every custom
    /// exception (older servers, and a 2.42 capture, show none).
    pub fn orm(code: &str, message: impl Into<String>) -> Self {
        Self::bad_input(code, message)
    }

    /// A plain error with an explicit `error` member (the auth middleware writes codes there).
    pub fn raw(status: u16, error: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: error.to_owned(),
            message: message.into(),
            code: None,
            extras: None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("statusCode".into(), json!(self.status));
        body.insert("error".into(), json!(self.error));
        body.insert("messages".into(), json!([self.message]));
        if let Some(code) = &self.code {
            body.insert("code".into(), json!(code));
        }
        if let Some(extras) = &self.extras {
            for (k, v) in &extras.members {
                body.insert(k.clone(), v.clone());
            }
        }
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = self.body();
        let mut response = (status, Json(body)).into_response();
        if let Some(extras) = self.extras {
            response.headers_mut().extend(extras.headers);
        }
        response
    }
}
