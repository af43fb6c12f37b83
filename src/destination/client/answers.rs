//! Reading Twenty's answers: classification of a response, JSON bodies, returned ids, pages.

use super::*;

pub(super) fn classify_answer(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    graphql: bool,
) -> TargetError {
    // GraphQL servers answer some errors (validation) with a 4xx and an `errors` list; the
    // statuses with their own meaning keep the REST classification.
    if graphql
        && status.is_client_error()
        && !matches!(status.as_u16(), 401 | 403 | 408 | 413 | 429)
    {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                if !errors.is_empty() {
                    return classify_graphql_errors(status.as_u16(), errors);
                }
            }
        }
    }
    classify_status(status, headers, body)
}

pub(super) fn network_error(e: reqwest::Error) -> TargetError {
    let e = e.without_url();
    let reason = if e.is_timeout() {
        "the request timed out".to_owned()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    TargetError::Transient { reason }
}

pub(super) fn parse_json(body: &[u8]) -> Result<Value, TargetError> {
    serde_json::from_slice(body).map_err(|e| {
        TargetError::Protocol(format!(
            "the answer is not JSON ({e}): {}",
            truncate(&String::from_utf8_lossy(body), 200)
        ))
    })
}

/// The single list under `data`, whatever its key.
pub(super) fn data_list(value: &Value, what: &str) -> Result<Vec<Value>, TargetError> {
    let data = value
        .get("data")
        .ok_or_else(|| TargetError::Protocol(format!("{what} has no `data`")))?;
    match data {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(map) => {
            let mut lists = map.values().filter_map(Value::as_array);
            match (lists.next(), lists.next()) {
                (Some(list), None) => Ok(list.clone()),
                (None, _) => Err(TargetError::Protocol(format!(
                    "{what} has no record list under `data`"
                ))),
                (Some(_), Some(_)) => Err(TargetError::Protocol(format!(
                    "{what} has several lists under `data`"
                ))),
            }
        }
        _ => Err(TargetError::Protocol(format!(
            "{what} has a `data` that is neither a list nor an object"
        ))),
    }
}

/// The ids of a batch answer, the single list under `data` whatever its key (as
/// [`data_list`]), every other value skipped unbuilt.
pub(super) fn parse_returned_ids(body: &[u8]) -> Result<Vec<ReturnedId>, TargetError> {
    serde_json::from_slice::<IdsAnswer>(body)
        .map(|answer| answer.data.0)
        .map_err(|e| {
            TargetError::Protocol(format!(
                "the batch answer is not readable ({e}): {}",
                truncate(&String::from_utf8_lossy(body), 200)
            ))
        })
}

/// `{data: …}` of a batch answer; the other top-level keys are skipped.
#[derive(serde::Deserialize)]
pub(super) struct IdsAnswer {
    data: IdList,
}

/// The record list under `data`: `data` itself when it is a list, else the one list among
/// the values of the `data` object.
pub(super) struct IdList(Vec<ReturnedId>);

impl<'de> serde::Deserialize<'de> for IdList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdListVisitor)
    }
}

pub(super) struct IdListVisitor;

impl<'de> serde::de::Visitor<'de> for IdListVisitor {
    type Value = IdList;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record list, or an object holding one record list")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<IdList, A::Error> {
        MaybeIds
            .visit_seq(seq)
            .map(|ids| IdList(ids.unwrap_or_default()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<IdList, A::Error> {
        let mut found = None;
        while let Some((_, value)) = map.next_entry::<serde::de::IgnoredAny, MaybeIdsValue>()? {
            if let Some(list) = value.0 {
                if found.replace(list).is_some() {
                    return Err(serde::de::Error::custom("several lists under `data`"));
                }
            }
        }
        found
            .map(IdList)
            .ok_or_else(|| serde::de::Error::custom("no record list under `data`"))
    }
}

/// A value of the `data` object: its ids when it is a list, `None` (skipped) otherwise.
pub(super) struct MaybeIdsValue(Option<Vec<ReturnedId>>);

impl<'de> serde::Deserialize<'de> for MaybeIdsValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybeIds).map(MaybeIdsValue)
    }
}

pub(super) struct MaybeIds;

impl<'de> serde::de::Visitor<'de> for MaybeIds {
    type Value = Option<Vec<ReturnedId>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element::<IdOnly>()? {
            ids.push(ReturnedId(record.id));
        }
        Ok(Some(ids))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One returned record: its `id` when it is a string; every other key is skipped.
#[derive(serde::Deserialize)]
pub(super) struct IdOnly {
    #[serde(default, deserialize_with = "string_or_none")]
    id: Option<String>,
}

pub(super) fn string_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match <Value as serde::Deserialize>::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

pub(super) fn parse_page(body: &[u8]) -> Result<Page, TargetError> {
    let value = parse_json(body)?;
    let records = data_list(&value, "find-many answer")?;
    let page_info = value.get("pageInfo");
    Ok(Page {
        records,
        total_count: value.get("totalCount").and_then(Value::as_u64),
        has_next_page: page_info
            .and_then(|p| p.get("hasNextPage"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        end_cursor: page_info
            .and_then(|p| p.get("endCursor"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// A GraphQL answer's `data`, or its `errors` classified (Twenty sends them with HTTP 200).
pub(super) fn graphql_data(body: &[u8]) -> Result<Value, TargetError> {
    let mut value = parse_json(body)?;
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        if !errors.is_empty() {
            return Err(classify_graphql_errors(200, errors));
        }
    }
    match value.get_mut("data").map(Value::take) {
        Some(data) if !data.is_null() => Ok(data),
        _ => Err(TargetError::Protocol(
            "the GraphQL answer has neither data nor errors".into(),
        )),
    }
}
