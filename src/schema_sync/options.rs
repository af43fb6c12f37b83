//! SELECT/MULTI_SELECT options: which values Twenty accepts, and the options as it takes them.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{names, SchemaDiff};
use crate::model::{Field, FieldType, Object};

/// Option values of a SELECT/MULTI_SELECT field's `options`.
pub(super) fn option_values(options: Option<&Value>) -> Vec<String> {
    options
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether Twenty accepts `value` as an option value: 1–63 characters, SCREAMING_SNAKE_CASE
/// starting with a letter (`validate-enum-flat-field-metadata.util.ts` with
/// `src/utils/is-snake-case-string.ts`: `^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`).
pub fn option_value_accepted(value: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| regex::Regex::new(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$").expect("static regex"));
    value.len() <= 63 && re.is_match(value)
}

/// Splits source options into those the target accepts (cleaned, positions from 0) and the
/// values it would refuse. A refused value is not dropped: records carrying it are sent as they
/// are and the target rejects them, so each lands in the rejects file.
pub(super) fn split_options<'a>(
    options: impl Iterator<Item = &'a Value>,
) -> (Vec<Value>, Vec<String>) {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for o in options {
        let value = o.get("value").and_then(Value::as_str).unwrap_or("");
        if option_value_accepted(value) {
            accepted.push(clean_option(o, accepted.len()));
        } else {
            refused.push(value.to_owned());
        }
    }
    (accepted, refused)
}

/// The warning for option values the target refuses.
pub(super) fn refused_warning(at: &str, refused: &[String]) -> String {
    format!(
        "{at}: option value(s) {} cannot be created in the target (values must be UPPER_SNAKE_CASE, at most 63 characters); records carrying them will be rejected by the target and listed in the rejects file",
        refused
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A source option as Twenty accepts it: `{id, value, label, color, position}`, with an unknown
/// colour replaced by `gray` (the server refuses colours outside `TagColor`) and an id kept
/// only when it is a UUID (`validate-enum-flat-field-metadata.util.ts`: "Option id is invalid").
pub(super) fn clean_option(option: &Value, position: usize) -> Value {
    let value = option.get("value").and_then(Value::as_str).unwrap_or("");
    // Labels must be 1–63 characters without a comma (validate-enum-flat-field-metadata.util.ts).
    let label: String = option
        .get("label")
        .and_then(Value::as_str)
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(value)
        .replace(',', " ")
        .chars()
        .take(63)
        .collect();
    let color = option
        .get("color")
        .and_then(Value::as_str)
        .filter(|c| names::OPTION_COLORS.contains(c))
        .unwrap_or("gray");
    let id = option
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(Uuid::new_v4);
    json!({"id": id, "value": value, "label": label, "color": color, "position": position})
}

/// The options to create with a field: `Some(None)` for a type without options, `None` when
/// it has options but Twenty would refuse every one (the refused ones are warned about).
pub(super) fn creatable_options(
    object: &Object,
    field: &Field,
    out: &mut SchemaDiff,
) -> Option<Option<Value>> {
    if !matches!(field.field_type, FieldType::Select | FieldType::MultiSelect) {
        return Some(None);
    }
    let list = field.options.as_ref().and_then(Value::as_array);
    let (accepted, refused) = split_options(list.into_iter().flatten());
    if !refused.is_empty() {
        out.warnings.push(refused_warning(
            &format!("{}.{}", object.name_singular, field.name),
            &refused,
        ));
    }
    (!accepted.is_empty()).then_some(Some(Value::Array(accepted)))
}
