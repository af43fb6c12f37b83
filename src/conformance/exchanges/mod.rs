//! The exchanges, in the order they run. The GraphQL documents the tool sends come from the
//! tool's own builders (`destination::metadata`, `destination::direct_upload`, `schema_sync::apply`), so a
//! golden shows exactly what the tool sends and what the server answers to it.
//!
//! The custom object `cf<Run>Thing` and its fields (`cfText`, `cfNumber`, …) are created by the
//! first exchanges and used by later ones; every record id is a fresh `${id…}`.

mod activities;
mod auth;
mod config;
mod config_agents;
mod config_record_pages;
mod config_rls;
mod files;
mod listing;
mod metadata;
mod records;

use serde_json::Value;

use super::{Exchange, Step};
use crate::destination::client::id_in_filter;

use activities::activities;
use auth::auth;
use config::config;
use config_agents::agents;
use config_record_pages::record_pages;
use config_rls::row_level;
use files::files;
use listing::listing;
use metadata::metadata;
use records::{actors, records};

const THINGS: &str = "/rest/cf${Run}Things";

fn md(query: impl Into<String>, variables: Value) -> Step {
    Step::graphql("/metadata", query, variables)
}

fn ex(name: &'static str, steps: Vec<Step>) -> Exchange {
    Exchange { name, steps }
}

/// The batch upsert the tool sends (`Target::upsert_batch`).
fn upsert(plural: &str, records: Value) -> Step {
    Step::post(format!("/rest/batch/{plural}?upsert=true"), records)
}

/// `GET /rest/{plural}?filter=id[in]:[…]` as `Target::find_by_ids` builds it.
fn find_ids(plural: &str, ids: &[&str], extra: &str) -> Step {
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let filter = format!("id[in]:[{}]", list.join(","));
    Step::get(format!(
        "/rest/{plural}?limit={}&filter={}{extra}",
        ids.len(),
        urlencode(&filter)
    ))
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            // Keep `${name}` templates intact; they are filled before sending.
            b'$' | b'{' | b'}' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The same text as the tool's `id_in_filter`, for template ids.
fn id_in_filter_template(ids: &[&str]) -> String {
    let probe = id_in_filter(&[uuid::Uuid::nil()]);
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    probe.replace(&format!("\"{}\"", uuid::Uuid::nil()), &list.join(","))
}

/// Every exchange, in run order.
pub fn exchanges() -> Vec<Exchange> {
    let mut all = Vec::new();
    all.extend(metadata());
    all.extend(auth());
    all.extend(records());
    all.extend(actors());
    all.extend(activities());
    all.extend(listing());
    all.extend(files());
    all.extend(config());
    all.extend(record_pages());
    all.extend(row_level());
    all.extend(agents());
    all.extend(files::member_pictures());
    all
}
