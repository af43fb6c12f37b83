//! What a confirmed batch's answer says about the records sent: stored under another id, or
//! with system values the target chose itself.

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

use super::Outgoing;
use crate::destination::ReturnedId;

/// Records of a confirmed batch that the target stored under another id, as (index, that id).
/// Twenty returns the records in input order (`fetchUpsertedRecords`, contract B1/E5); an
/// answer of another length is read by id.
pub(super) fn merged_into(sent: &[Outgoing], returned: &[ReturnedId]) -> Vec<(usize, String)> {
    let parsed = |r: &ReturnedId| r.0.as_deref().and_then(|s| s.parse::<Uuid>().ok());
    if returned.len() != sent.len() {
        let ids: HashSet<Uuid> = returned.iter().filter_map(parsed).collect();
        if ids.is_empty() {
            return Vec::new();
        }
        return sent
            .iter()
            .enumerate()
            .filter(|(_, o)| !ids.contains(&o.record.id()))
            .map(|(i, _)| (i, "of unknown id".to_owned()))
            .collect();
    }
    sent.iter()
        .zip(returned)
        .enumerate()
        .filter_map(|(i, (o, back))| {
            let got = back.0.as_deref()?;
            (parsed(back) != Some(o.record.id())).then(|| (i, got.to_owned()))
        })
        .collect()
}

/// The system values (creation and update times, author, position) that the target did not
/// keep as sent, judged on the first record of a confirmed batch: Twenty may stamp them
/// itself (`target-api.md` §3 leaves it unconfirmed), so the report says so instead of guessing.
pub(super) fn not_kept(object: &str, sent: &[Outgoing], returned: &[Value]) -> Vec<String> {
    let Some(first) = sent.first().map(|o| &o.record) else {
        return Vec::new();
    };
    let Some(back) = returned.iter().find(|r| {
        r.get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Uuid>().ok())
            == Some(first.id())
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["createdAt", "updatedAt", "position"] {
        if let Some(want) = first.get(key).filter(|v| !v.is_null()) {
            let got = back.get(key).unwrap_or(&Value::Null);
            if !crate::pipeline::verify::equal(None, want, got) {
                out.push(format!(
                    "{object}.{key}: the target stores its own value (sent {want}, stored {got})"
                ));
            }
        }
    }
    for sub in ["name", "source"] {
        let want = first.get("createdBy").and_then(|c| c.get(sub));
        let got = back.get("createdBy").and_then(|c| c.get(sub));
        if let (Some(want), Some(got)) = (want, got) {
            if !want.is_null() && want != got {
                out.push(format!(
                    "{object}.createdBy.{sub}: the target stores {got} instead of {want}"
                ));
            }
        }
    }
    out
}
