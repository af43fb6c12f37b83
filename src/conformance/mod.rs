//! Recorded conformance: a fixed list of named exchanges with a Twenty server, recorded from a
//! real server as normalised golden files and replayed against the twin in `cargo test`.
//!
//! An [`Exchange`] is a short sequence of HTTP [`Step`]s. Each step's path and body are
//! templates: `${name}` is replaced by a value of the run's [`Context`]: an id generated on
//! first use (names starting with `id`, fresh UUIDv4s every run), a value captured from an
//! earlier answer (a created field's id, a file id, an upload URL), or the run token `run`.
//! Exchanges run in the listed order on one context, so later ones may use what earlier ones
//! created (the custom object `cf<Run>Thing` and its fields); none reads seeded data beyond the
//! standard data model.
//!
//! # Normalisation
//!
//! Every answer (and the request, so a golden shows what was sent) is normalised before it is
//! written or compared ([`normalise`]):
//!
//! - UUIDs become `<id:name>` when the run generated or captured them under `name`, else
//!   `<id:N>` numbered by first appearance within the exchange (keys sorted, so the order is
//!   stable); equal ids stay equal.
//! - ISO timestamps become `<timestamp>`, except those of the year 2001: exchanges send such
//!   values on purpose, so how the server echoes them is kept.
//! - JWTs, `token=` query values, and cursors (`startCursor`, `endCursor`, `cursor`, and
//!   `starting_after=` / `ending_before=` in a request) become `<token>` / `<cursor>`; the
//!   server's base URL becomes `<server>`; the run token becomes `<run>` (in keys too:
//!   `createCf<run>Things`); Postgres constraint names, which hash the table name, `FK_<hash>`;
//!   `searchVector` (Postgres's tsvector text) `<tsvector>`.
//! - A number with no fraction is written as an integer (JSON has one number type: `70.0` and
//!   `70` are the same answer).
//! - A list under the key `unordered` (a view's rendering of an answer whose order the request
//!   does not fix) is sorted after masking.
//! - A record's `position` (a sibling of `createdAt`) becomes `<position>`: it depends on the
//!   rows the workspace already holds. Option positions are kept.
//! - Kept as they are: HTTP status, error codes (`extensions.code`, `code`, `error`), error
//!   `messages` text (the tool reads some of it, e.g. the batch cap), keys, value types, values.
//! - Large listings are reduced by the step's [`View`] before normalising: the metadata
//!   `objects` listing keeps only the objects an exchange is about, keyed by name, their fields
//!   keyed by name (and join column for a morph relation), object, field and option ids shown
//!   as `<object id>` / `<field id>` / `<option id>`; a 200-record batch keeps its count and
//!   first record; pages keep ids, names and the paging members.
//!
//! The API key is sent only in the `Authorization` header and never written: a golden names
//! the auth mode (`key`, `none`, `wrong`), and any echo of the key is masked as `<key>`.

mod compare;
mod exchanges;
mod normalise;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

pub use compare::{compare, Difference, KnownDifference, KnownDifferences};
pub use exchanges::exchanges;
pub use normalise::normalise;

/// An HS256 JWT with the payload of an API key of the seeded Apple workspace
/// (`{sub, type: "API_KEY", workspaceId, jti}`) and a signature no server made.
const WRONG_KEY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyMDIwMjAyMC0xYzI1LTRkMDItYmYyNS02YWVjY2Y3ZWE0MTkiLCJ0eXBlIjoiQVBJX0tFWSIsIndvcmtzcGFjZUlkIjoiMjAyMDIwMjAtMWMyNS00ZDAyLWJmMjUtNmFlY2NmN2VhNDE5IiwianRpIjoiMjAyMDIwMjAtZjQwMS00ZDhhLWE3MzEtNjRkMDA3YzI3YmFkIn0.c2lnbmF0dXJlLW5vdC12YWxpZC1zaWduYXR1cmUtbm90LXZhbGlk";

/// Which credential a step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <the API key>`.
    Key,
    /// No `Authorization` header.
    None,
    /// An API-key-shaped JWT (type `API_KEY`, the seeded Apple workspace) with a bad signature:
    /// a mistyped or foreign key.
    Wrong,
    /// A bearer that is not a JWT at all.
    Garbage,
}

impl Auth {
    fn label(self) -> &'static str {
        match self {
            Auth::Key => "key",
            Auth::None => "none",
            Auth::Wrong => "wrong",
            Auth::Garbage => "garbage",
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON body (a template).
    Json(Value),
    /// A GraphQL multipart upload (`operations`, `map`, one file part `0`).
    Upload {
        /// The `operations` JSON (a template).
        operations: Value,
        /// The file name.
        file_name: String,
        /// Its MIME type.
        mime: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Raw bytes (a direct upload's `PUT`).
    Raw {
        /// The bytes.
        bytes: Vec<u8>,
        /// Its Content-Type.
        content_type: String,
    },
}

/// What of an answer a golden keeps.
#[derive(Debug, Clone)]
pub enum View {
    /// All of it.
    Full,
    /// Only the status, and the body when the status is an error (setup steps).
    StatusOnly,
    /// The body reduced by a function (a listing's relevant part).
    Select(fn(&Value) -> Value),
}

/// One HTTP request of an exchange.
#[derive(Debug, Clone)]
pub struct Step {
    /// The method.
    pub method: Method,
    /// Path (with query) under the server, or a whole URL template such as `${uploadUrl}`.
    pub path: String,
    /// The credential.
    pub auth: Auth,
    /// The body.
    pub body: Body,
    /// Values to keep for later steps: context name → JSON pointer into the answer; a segment
    /// `[key=value]` picks the array element whose `key` (dots for nesting) equals `value`.
    pub capture: Vec<(String, String)>,
    /// What the golden keeps.
    pub view: View,
}

impl Step {
    /// A step with the key and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            auth: Auth::Key,
            body: Body::Empty,
            capture: Vec::new(),
            view: View::Full,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PATCH, path).json(body)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// A GraphQL document and its variables, posted to `path` (`/metadata` or `/graphql`).
    pub fn graphql(path: &str, query: impl Into<String>, variables: Value) -> Self {
        Self::post(
            path,
            json!({ "query": query.into(), "variables": variables }),
        )
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// Sets the credential.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Keeps the value at `pointer` under `name`.
    pub fn capture(mut self, name: &str, pointer: &str) -> Self {
        self.capture.push((name.to_owned(), pointer.to_owned()));
        self
    }

    /// Keeps only the status (and the body of an error).
    pub fn quiet(mut self) -> Self {
        self.view = View::StatusOnly;
        self
    }

    /// Reduces the body with `select` before it is normalised.
    pub fn select(mut self, select: fn(&Value) -> Value) -> Self {
        self.view = View::Select(select);
        self
    }
}

/// A named sequence of steps; one golden file each.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The name, also the golden's file name (`<name>.json`).
    pub name: &'static str,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The values of one run: generated ids, captured values and the run token.
#[derive(Debug, Clone)]
pub struct Context {
    vars: BTreeMap<String, String>,
    run: String,
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl Context {
    /// A fresh context with a random run token (`Zq` and four letters).
    pub fn new() -> Self {
        let mut rng = rand::rng();
        let tail: String = (0..4)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        let run = format!("Zq{tail}");
        let mut vars = BTreeMap::new();
        vars.insert("Run".to_owned(), run.clone());
        vars.insert("run".to_owned(), run.to_ascii_lowercase());
        Self { vars, run }
    }

    /// The run token (`ZqXxxx`).
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The value of `name`; names starting with `id` get a fresh UUIDv4 on first use.
    fn value(&mut self, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return Some(v.clone());
        }
        if name.starts_with("id") {
            let id = Uuid::new_v4().to_string();
            self.vars.insert(name.to_owned(), id.clone());
            return Some(id);
        }
        None
    }

    /// Replaces every `${name}` of `text`; `Err(name)` for a name without a value.
    fn fill(&mut self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let name = &after[..end];
            out.push_str(&self.value(name).ok_or_else(|| name.to_owned())?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// [`Self::fill`] on every string (and key) of a JSON template; a string that is only
    /// `${name}` of a number-looking captured value stays a string.
    fn fill_json(&mut self, template: &Value) -> Result<Value, String> {
        Ok(match template {
            Value::String(s) => Value::String(self.fill(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.fill_json(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(self.fill(k)?, self.fill_json(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Ids the run generated or captured, by value, with their names.
    fn named_ids(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .filter(|(_, v)| Uuid::parse_str(v).is_ok())
            .map(|(k, v)| (v.to_ascii_lowercase(), k.clone()))
            .collect()
    }
}

/// Where and how to send the exchanges.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, without a trailing `/`.
    pub base_url: String,
    /// The API key.
    pub api_key: String,
}

/// Runs `exchange` against `target` and returns its normalised golden document.
pub async fn run_exchange(
    http: &reqwest::Client,
    target: &Target,
    ctx: &mut Context,
    exchange: &Exchange,
) -> Value {
    let mut raw = Vec::new();
    for step in &exchange.steps {
        let (request, status, body) = run_step(http, target, ctx, step).await;
        raw.push(json!({ "request": request, "status": status, "body": body }));
    }
    let doc = json!({ "exchange": exchange.name, "steps": raw });
    let rules = normalise::Rules {
        base_url: target.base_url.clone(),
        run: ctx.run.clone(),
        api_key: target.api_key.clone(),
        named_ids: ctx.named_ids(),
    };
    normalise(&doc, &rules)
}

async fn run_step(
    http: &reqwest::Client,
    target: &Target,
    ctx: &mut Context,
    step: &Step,
) -> (Value, u16, Value) {
    let path = match ctx.fill(&step.path) {
        Ok(p) => p,
        Err(missing) => return skipped(step, &missing),
    };
    let url = if path.starts_with("http://") || path.starts_with("https://") {
        path.clone()
    } else {
        format!("{}{path}", target.base_url)
    };
    let shown_path = if path.starts_with(&target.base_url) {
        path[target.base_url.len()..].to_owned()
    } else {
        path.clone()
    };
    let mut request = json!({
        "method": step.method.as_str(),
        "path": shown_path,
        "auth": step.auth.label(),
    });
    let mut req = http.request(step.method.clone(), &url);
    req = match step.auth {
        Auth::Key => req.bearer_auth(&target.api_key),
        Auth::None => req,
        Auth::Wrong => req.bearer_auth(WRONG_KEY),
        Auth::Garbage => req.bearer_auth("not-a-key"),
    };
    match &step.body {
        Body::Empty => {}
        Body::Json(template) => match ctx.fill_json(template) {
            Ok(body) => {
                request["body"] = body.clone();
                req = req.json(&body);
            }
            Err(missing) => return skipped(step, &missing),
        },
        Body::Upload {
            operations,
            file_name,
            mime,
            bytes,
        } => match ctx.fill_json(operations) {
            Ok(ops) => {
                request["body"] =
                    json!({ "operations": ops, "file": file_name, "bytes": bytes.len() });
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.clone())
                    .mime_str(mime)
                    .expect("a valid MIME type");
                let form = reqwest::multipart::Form::new()
                    .text("operations", ops.to_string())
                    .text("map", json!({ "0": ["variables.file"] }).to_string())
                    .part("0", part);
                // Twenty's CSRF guard for multipart GraphQL (graphql-upload) wants this header.
                req = req
                    .header("x-apollo-operation-name", "upload")
                    .multipart(form);
            }
            Err(missing) => return skipped(step, &missing),
        },
        Body::Raw {
            bytes,
            content_type,
        } => {
            request["body"] = json!({ "bytes": bytes.len(), "contentType": content_type });
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.clone());
        }
    }
    let answer = req.timeout(Duration::from_secs(120)).send().await;
    let (status, body) = match answer {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            (status, body)
        }
        Err(e) => (0, json!({ "transportError": e.to_string() })),
    };
    for (name, pointer) in &step.capture {
        if let Some(v) = pick(&body, pointer) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            ctx.vars.insert(name.clone(), text);
        }
    }
    let kept = match &step.view {
        View::Full => body,
        View::StatusOnly if status < 400 => Value::Null,
        View::StatusOnly => body,
        View::Select(f) if status < 400 => f(&body),
        View::Select(_) => body,
    };
    (request, status, kept)
}

fn skipped(step: &Step, missing: &str) -> (Value, u16, Value) {
    (
        json!({ "method": step.method.as_str(), "path": step.path, "auth": step.auth.label() }),
        0,
        json!({ "skipped": format!("no value for ${{{missing}}} (an earlier step failed)") }),
    )
}

/// The value at `pointer`, where a segment `[key=value]` picks the array element whose `key`
/// is the string `value`.
pub fn pick<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in pointer.split('/').skip(1) {
        current = if let Some(cond) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (key, want) = cond.split_once('=')?;
            current.as_array()?.iter().find(|item| {
                pick(item, &format!("/{}", key.replace('.', "/"))).and_then(Value::as_str)
                    == Some(want)
            })?
        } else {
            match current {
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(segment)?,
                _ => return None,
            }
        };
    }
    Some(current)
}

/// Runs every exchange against `target` in order and returns the goldens by exchange name.
pub async fn run_all(target: &Target) -> Vec<(String, Value)> {
    run_named(target, "").await
}

/// Runs, in order, the exchanges whose name starts with `prefix` (each creates what it reads,
/// so one can be recorded alone) and returns their goldens by exchange name.
pub async fn run_named(target: &Target, prefix: &str) -> Vec<(String, Value)> {
    let http = reqwest::Client::builder()
        .build()
        .expect("an HTTP client builds");
    let mut ctx = Context::new();
    let mut out = Vec::new();
    for exchange in exchanges()
        .into_iter()
        .filter(|e| e.name.starts_with(prefix))
    {
        let doc = run_exchange(&http, target, &mut ctx, &exchange).await;
        out.push((exchange.name.to_owned(), doc));
    }
    out
}

/// Writes one `<name>.json` per golden into `dir`.
pub fn write_goldens(dir: &Path, goldens: &[(String, Value)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, doc) in goldens {
        let text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{name}.json")), text + "\n")?;
    }
    Ok(())
}

/// Reads the golden of `name` from `dir`.
pub fn read_golden(dir: &Path, name: &str) -> std::io::Result<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json")))?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}
