//! The field a refused record is refused for, when the target's message does not say it
//! plainly: read from the message, or from the shape of the record's values.

use serde_json::Value;

use crate::record::ApiRecord;

/// The field behind a refusal that names none. Twenty's link check says only that a URL is not
/// valid, with code `INVALID_URL` (`record-transformer.exception.ts`,
/// `remove-empty-links.util.ts`), so look for the links value whose URL cannot be one: empty of
/// dots, or holding spaces or commas.
pub(super) fn field_by_shape(code: Option<&str>, record: &ApiRecord) -> Option<String> {
    if code != Some("INVALID_URL") {
        return None;
    }
    let bad = |u: &str| {
        let u = u.trim();
        !u.is_empty() && (!u.contains('.') || u.contains(char::is_whitespace) || u.contains(','))
    };
    record.iter().find_map(|(key, value)| {
        let links = value.as_object()?;
        let primary = links.get("primaryLinkUrl").and_then(Value::as_str);
        let secondary = links
            .get("secondaryLinks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("url")?.as_str());
        primary
            .into_iter()
            .chain(secondary)
            .any(bad)
            .then(|| key.to_owned())
    })
}

/// The field a Twenty error message names, e.g. `Invalid value 'X' for field "stage"` or
/// `Object company doesn't have any "placeId" field.`: the first double-quoted word.
pub(super) fn field_in_message(message: &str) -> Option<String> {
    // 2.21 names the value first (`Invalid value "X" for field "stage". Valid values are: …`):
    // the field is the quoted word after `field "`, when there is one.
    let start = match message.find("field \"") {
        Some(at) => at + "field \"".len(),
        None => message.find('"')? + 1,
    };
    let len = message[start..].find('"')?;
    let name = &message[start..start + len];
    let name = name.split('.').next().unwrap_or(name);
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_owned())
}
