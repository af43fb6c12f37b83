//! Masks what changes from run to run (ids, timestamps, tokens, the run token, the server's
//! address) and keeps everything else; the rules are listed in the module docs of
//! [`crate::conformance`].

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    // No word boundary: an id in a URL-encoded filter follows `%22`.
    Regex::new(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("uuid regex")
});

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4})-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
        .expect("timestamp regex")
});

/// Postgres constraint and index names hash the table name, which holds the run token.
static CONSTRAINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(FK|IDX|PK|UQ)_[0-9a-f]{20,}").expect("constraint regex"));

/// A cursor sent back as a query parameter.
static CURSOR_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([?&](starting_after|ending_before)=)[^&\s]+").expect("cursor regex")
});

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*").expect("jwt regex")
});

static TOKEN_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)([?&](token|signature|x-amz-signature|x-amz-credential)=)[^&\s]+")
        .expect("token regex")
});

/// What a run needs to know to normalise its answers.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The server's base URL, shown as `<server>`.
    pub base_url: String,
    /// The run token (`ZqXxxx`), shown as `<run>` in both cases.
    pub run: String,
    /// The API key, shown as `<key>` should anything echo it.
    pub api_key: String,
    /// Ids by lower-case value → their context name.
    pub named_ids: BTreeMap<String, String>,
}

struct State<'a> {
    rules: &'a Rules,
    numbered: HashMap<String, usize>,
}

/// Returns `doc` normalised by `rules`.
pub fn normalise(doc: &Value, rules: &Rules) -> Value {
    let mut state = State {
        rules,
        numbered: HashMap::new(),
    };
    walk(doc, None, &mut state)
}

fn walk(value: &Value, key: Option<&str>, state: &mut State<'_>) -> Value {
    match value {
        Value::String(s) => {
            if matches!(key, Some("startCursor" | "endCursor" | "cursor")) {
                return Value::String("<cursor>".into());
            }
            // Postgres's to_tsvector text; whether the key is there is what matters.
            if key == Some("searchVector") {
                return Value::String("<tsvector>".into());
            }
            Value::String(text(s, state))
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = items.iter().map(|v| walk(v, None, state)).collect();
            // A list the exchange does not order: compared as a sorted list.
            if key == Some("unordered") {
                out.sort_by_key(Value::to_string);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let is_record = map.contains_key("createdAt");
            let mut out = Map::new();
            // serde_json keeps keys sorted, so ids are numbered in a stable order.
            for (k, v) in map {
                let nk = text(k, state);
                let nv = if is_record && k == "position" && v.is_number() {
                    Value::String("<position>".into())
                } else {
                    walk(v, Some(k), state)
                };
                out.insert(nk, nv);
            }
            Value::Object(out)
        }
        // JSON has one number type: `70.0` from one server and `70` from another are equal.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

fn text(s: &str, state: &mut State<'_>) -> String {
    let rules = state.rules;
    let mut s = s.to_owned();
    if !rules.api_key.is_empty() && s.contains(&rules.api_key) {
        s = s.replace(&rules.api_key, "<key>");
    }
    if !rules.base_url.is_empty() {
        s = s.replace(&rules.base_url, "<server>");
    }
    s = JWT.replace_all(&s, "<token>").into_owned();
    s = CONSTRAINT.replace_all(&s, "${1}_<hash>").into_owned();
    s = TOKEN_PARAM.replace_all(&s, "${1}<token>").into_owned();
    s = CURSOR_PARAM.replace_all(&s, "${1}<cursor>").into_owned();
    s = s
        .replace(&rules.run, "<run>")
        .replace(&rules.run.to_ascii_lowercase(), "<run>");
    s = TIMESTAMP
        .replace_all(&s, |c: &regex::Captures<'_>| {
            if &c[1] == "2001" {
                c[0].to_owned()
            } else {
                "<timestamp>".to_owned()
            }
        })
        .into_owned();
    UUID.replace_all(&s, |c: &regex::Captures<'_>| {
        let id = c[0].to_ascii_lowercase();
        if let Some(name) = rules.named_ids.get(&id) {
            return format!("<id:{name}>");
        }
        let next = state.numbered.len() + 1;
        let n = *state.numbered.entry(id).or_insert(next);
        format!("<id:{n}>")
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        let mut named_ids = BTreeMap::new();
        named_ids.insert(
            "11111111-1111-4111-8111-111111111111".to_owned(),
            "idAcme".to_owned(),
        );
        Rules {
            base_url: "http://127.0.0.1:3100".into(),
            run: "Zqabcd".into(),
            api_key: "secret-key".into(),
            named_ids,
        }
    }

    #[test]
    fn ids_are_named_or_numbered_by_first_appearance_and_equal_ids_stay_equal() {
        let doc = json!({
            "a": "22222222-2222-4222-8222-222222222222",
            "b": ["11111111-1111-4111-8111-111111111111", "33333333-3333-4333-8333-333333333333"],
            "c": "x 22222222-2222-4222-8222-222222222222 y",
        });
        assert_eq!(
            normalise(&doc, &rules()),
            json!({"a": "<id:1>", "b": ["<id:idAcme>", "<id:2>"], "c": "x <id:1> y"})
        );
    }

    #[test]
    fn timestamps_tokens_cursors_urls_and_the_run_token_are_masked_but_2001_dates_kept() {
        let doc = json!({
            "createdAt": "2026-12-06T21:00:00.123Z",
            "sent": "2001-02-03T04:05:06.000Z",
            "url": "http://127.0.0.1:3100/file/x?token=abc.def&size=1",
            "jwt": "Bearer eyJhbGciOi.eyJzdWIi.sig",
            "endCursor": "WzFd",
            "createCfZqabcdThings": "cfzqabcd",
            "echo": "secret-key",
            "path": "/rest/x?filter=id%5Bin%5D:%5B%2211111111-1111-4111-8111-111111111111%22%5D&starting_after=eyJpZCI6MX0=",
            "fk": "violates foreign key constraint \"FK_de03a1b662163598f4900d74a92\"",
            "size": 70.0,
        });
        assert_eq!(
            normalise(&doc, &rules()),
            json!({
                "createdAt": "<timestamp>",
                "sent": "2001-02-03T04:05:06.000Z",
                "url": "<server>/file/x?token=<token>&size=1",
                "jwt": "Bearer <token>",
                "endCursor": "<cursor>",
                "createCf<run>Things": "cf<run>",
                "echo": "<key>",
                "path": "/rest/x?filter=id%5Bin%5D:%5B%22<id:idAcme>%22%5D&starting_after=<cursor>",
                "fk": "violates foreign key constraint \"FK_<hash>\"",
                "size": 70,
            })
        );
    }

    #[test]
    fn a_record_position_is_masked_and_an_option_position_is_kept() {
        let doc = json!({"record": {"createdAt": null, "position": 7}, "option": {"position": 2}});
        assert_eq!(
            normalise(&doc, &rules()),
            json!({"record": {"createdAt": null, "position": "<position>"}, "option": {"position": 2}})
        );
    }
}
