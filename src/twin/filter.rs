//! The REST `filter` parameter: `field[op]:value` conditions joined by commas (AND), with
//! `and(…)`, `or(…)` and `not(…)`.
//!
//! Mirrors `packages/twenty-server/src/engine/api/rest/input-request-parsers/filter-parser-utils/*`
//! (and `assert-filter-id-operands-are-valid-uuids`) for the operators a migration uses.

use regex::Regex;
use serde_json::Value;

use super::api_error::ApiError;
use super::input::is_valid_uuid;
use super::schema::ObjectMeta;
use super::store::Record;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must hold.
    And(Vec<Filter>),
    /// One must hold.
    Or(Vec<Filter>),
    /// Must not hold.
    Not(Box<Filter>),
    /// One comparison.
    Cond {
        /// Field, then sub-field.
        path: Vec<String>,
        /// Operator (`eq`, `in`, `is`, …).
        op: String,
        /// Operand(s) as written.
        operands: Vec<String>,
    },
}

/// A RestInputRequestParserException INVALID_FILTER_QUERY_PARAM
/// (rest-input-request-parser.exception.ts).
fn filter_error(message: impl Into<String>) -> ApiError {
    ApiError::bad_input("INVALID_FILTER_QUERY_PARAM", message)
}

/// Splits on commas that are outside quotes, brackets and parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut current) = (0i32, None::<char>, String::new());
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].to_owned();
        }
    }
    s.to_owned()
}

/// Parses a filter string.
pub fn parse(s: &str) -> Result<Filter, ApiError> {
    // check-filter-query.util.ts: brackets must balance.
    let diff = s.matches('(').count() as i64 - s.matches(')').count() as i64;
    if diff != 0 {
        let n = diff.abs();
        let which = if diff > 0 { "close" } else { "open" };
        let plural = if n > 1 { "s are" } else { " is" };
        return Err(filter_error(format!(
            "'filter' invalid. {n} {which} bracket{plural} missing in the query"
        )));
    }
    let parts = split_top(s);
    let mut items = Vec::new();
    for part in parts {
        items.push(parse_one(&part)?);
    }
    // add-default-conjunction.util.ts: a comma list is an `and`.
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        Filter::And(items)
    })
}

/// The comparators of `parse-base-filter.util.ts`, in its order.
const COMPARATORS: &[&str] = &[
    "eq",
    "neq",
    "in",
    "containsAny",
    "is",
    "gt",
    "gte",
    "lt",
    "lte",
    "startsWith",
    "endsWith",
    "like",
    "ilike",
];

fn parse_one(s: &str) -> Result<Filter, ApiError> {
    // parse-filter.util.ts: `and(…)`, `or(…)`, `not(…)` (one condition only).
    for (name, build) in [
        ("and(", Filter::And as fn(Vec<Filter>) -> Filter),
        ("or(", Filter::Or),
    ] {
        if let Some(inner) = s.strip_prefix(name).and_then(|r| r.strip_suffix(')')) {
            let items = split_top(inner)
                .iter()
                .map(|p| parse_one(p))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(build(items));
        }
    }
    if let Some(inner) = s.strip_prefix("not(").and_then(|r| r.strip_suffix(')')) {
        let mut items = split_top(inner);
        if items.len() != 1 {
            return Err(filter_error(
                "'filter' invalid. 'not' conjunction should contain only 1 condition. eg: not(field[eq]:1)",
            ));
        }
        return Ok(Filter::Not(Box::new(parse_one(&items.remove(0))?)));
    }
    // parse-base-filter.util.ts: `field[comparator]:value`, a plain BadRequestException.
    let invalid = || {
        ApiError::raw(
            400,
            "BadRequestException",
            format!("'filter' invalid for '{s}'. eg: price[gte]:10"),
        )
    };
    let open = s.find('[').ok_or_else(invalid)?;
    let close = s[open..].find("]:").map(|i| i + open).ok_or_else(invalid)?;
    if open == 0 || close + 2 >= s.len() {
        return Err(invalid());
    }
    let path: Vec<String> = s[..open].split('.').map(str::to_owned).collect();
    let op = s[open + 1..close].to_owned();
    let raw = s[close + 2..].trim();
    let operands = if raw.starts_with('[') && raw.ends_with(']') {
        split_top(&raw[1..raw.len() - 1])
            .iter()
            .map(|p| unquote(p))
            .collect()
    } else {
        vec![unquote(raw)]
    };
    if !COMPARATORS.contains(&op.as_str()) {
        return Err(ApiError::raw(
            400,
            "BadRequestException",
            format!(
                "'filter' invalid for '{s}', comparator {op} not in {}",
                COMPARATORS.join(", ")
            ),
        ));
    }
    Ok(Filter::Cond { path, op, operands })
}

impl Filter {
    /// Whether any condition is on `deletedAt` (then soft-deleted rows are not hidden).
    pub fn mentions_deleted_at(&self) -> bool {
        match self {
            Self::And(items) | Self::Or(items) => items.iter().any(Self::mentions_deleted_at),
            Self::Not(inner) => inner.mentions_deleted_at(),
            Self::Cond { path, .. } => path.first().is_some_and(|p| p == "deletedAt"),
        }
    }

    /// Checks field names and id operands against the object.
    pub fn check(&self, object: &ObjectMeta) -> Result<(), ApiError> {
        match self {
            Self::And(items) | Self::Or(items) => items.iter().try_for_each(|f| f.check(object)),
            Self::Not(inner) => inner.check(object),
            Self::Cond { path, op, operands } => {
                let name = path.first().map(String::as_str).unwrap_or("");
                let field = object.field(name);
                let is_join = object.field_by_join_column(name).is_some();
                if field.is_none() && !is_join {
                    // 2.21 answers with the data-arg processor's wording.
                    return Err(ApiError::bad_input(
                        "INVALID_ARGS_FILTER",
                        format!(
                            "Object {} doesn't have any \"{name}\" field.",
                            object.name_singular
                        ),
                    ));
                }
                let uuid_typed = is_join || field.is_some_and(|f| f.field_type == "UUID");
                if uuid_typed && op != "is" {
                    if let Some(bad) = operands.iter().find(|o| !is_valid_uuid(o)) {
                        return Err(ApiError::bad_input(
                            "INVALID_ARGS_FILTER",
                            format!("Value \"{bad}\" is not a valid UUID"),
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether a record passes.
    pub fn matches(&self, record: &Record) -> bool {
        match self {
            Self::And(items) => items.iter().all(|f| f.matches(record)),
            Self::Or(items) => items.iter().any(|f| f.matches(record)),
            Self::Not(inner) => !inner.matches(record),
            Self::Cond { path, op, operands } => {
                let mut value = path.first().and_then(|p| record.get(p));
                for sub in path.iter().skip(1) {
                    value = value.and_then(|v| v.get(sub));
                }
                let value = value.unwrap_or(&Value::Null);
                compare(value, op, operands)
            }
        }
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn ordered(value: &Value, operand: &str) -> Option<std::cmp::Ordering> {
    if let (Some(a), Ok(b)) = (value.as_f64(), operand.parse::<f64>()) {
        return a.partial_cmp(&b);
    }
    as_text(value).map(|a| a.as_str().cmp(operand))
}

fn like(value: &Value, pattern: &str, insensitive: bool) -> bool {
    let Some(text) = as_text(value) else {
        return false;
    };
    let escaped = regex::escape(pattern).replace('%', ".*").replace('_', ".");
    let flags = if insensitive { "(?is)" } else { "(?s)" };
    Regex::new(&format!("{flags}^{escaped}$")).is_ok_and(|re| re.is_match(&text))
}

fn compare(value: &Value, op: &str, operands: &[String]) -> bool {
    let first = operands.first().map(String::as_str).unwrap_or("");
    let text = as_text(value);
    match op {
        "eq" => text.as_deref() == Some(first) || ordered(value, first).is_some_and(|o| o.is_eq()),
        "neq" => !compare(value, "eq", operands),
        "in" => operands.iter().any(|o| text.as_deref() == Some(o.as_str())),
        "is" => match first.to_ascii_uppercase().as_str() {
            "NULL" => value.is_null(),
            _ => !value.is_null(),
        },
        "gt" => ordered(value, first).is_some_and(|o| o.is_gt()),
        "gte" => ordered(value, first).is_some_and(|o| o.is_ge()),
        "lt" => ordered(value, first).is_some_and(|o| o.is_lt()),
        "lte" => ordered(value, first).is_some_and(|o| o.is_le()),
        "like" => like(value, first, false),
        "ilike" => like(value, first, true),
        "startsWith" => text.is_some_and(|t| t.starts_with(first)),
        "endsWith" => text.is_some_and(|t| t.ends_with(first)),
        "containsAny" => value.as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| operands.iter().any(|o| i.as_str() == Some(o)))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_in_lists_and_combinators() {
        let f = parse(r#"id[in]:["a","b"],deletedAt[is]:NOT_NULL"#).expect("parses");
        assert!(f.mentions_deleted_at());
        let f = parse("or(name[eq]:Acme,not(name.firstName[like]:%x%))").expect("parses");
        let record = json!({"name": "Acme"})
            .as_object()
            .cloned()
            .expect("object");
        assert!(f.matches(&record));
        assert!(parse("name:Acme").is_err());
        assert!(parse("name[has]:Acme").is_err());
        assert!(parse("not(a[eq]:1,b[eq]:2)").is_err());
        let unbalanced = parse("and(a[eq]:1").expect_err("unbalanced");
        assert_eq!(
            unbalanced.message,
            "'filter' invalid. 1 close bracket is missing in the query"
        );
    }
}
