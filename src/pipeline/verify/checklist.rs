//! `verify --checklist`: the post-migration checklist of Twenty's own guide, "Migrating from
//! Self-Hosted to Cloud" (<https://docs.twenty.com/user-guide/data-migration/how-tos/migrating-from-self-hosted-to-cloud>,
//! `packages/twenty-docs/user-guide/data-migration/how-tos/migrating-from-self-hosted-to-cloud.mdx`
//! in twentyhq/twenty), each item marked done from what `verify` measured, or open with what a
//! person must do.
//!
//! The guide's "Post-Migration Checklist" gives the data, relations, user assignments, views,
//! workflows, roles and permissions, email/calendar sync and API integration items; its FAQ
//! adds attachments (which its CSV route leaves behind); the custom domain comes from issue 17,
//! since the guide's step 1 ("note your new workspace URL") leaves the old address to the reader.
//!
//! Items the tool can measure on the target decide the exit code; items that wait on a person
//! by nature (reconnecting a mailbox, repointing DNS or an integration) are always open and
//! never fail the run, or the command could never pass.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::config::ConfigCheck;
use super::VerifyReport;
use crate::pipeline::config::Action;
use crate::source::go_live::ConnectedAccount;
use crate::transform::Reference;

/// The guide the checklist follows.
pub const GUIDE: &str =
    "https://docs.twenty.com/user-guide/data-migration/how-tos/migrating-from-self-hosted-to-cloud";

/// Names listed in one line of evidence before "and N more".
const LISTED: usize = 5;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Measured on the target and found done.
    Done,
    /// Not done, or not measurable: `todo` says what to do.
    Open,
    /// Nothing to do for this workspace.
    NotApplicable,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Done => "[done]",
            Self::Open => "[open]",
            Self::NotApplicable => "[n/a] ",
        }
    }
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable key, e.g. `record_counts`.
    pub key: &'static str,
    /// The item as the guide words it.
    pub title: &'static str,
    /// Where it stands.
    pub status: Status,
    /// Whether the tool measures it on the target (an open measured item fails `verify`).
    pub measured: bool,
    /// One line: what was measured, or why it cannot be.
    pub evidence: String,
    /// What a person must do, one entry per thing to act on.
    pub todo: Vec<String>,
}

/// The whole checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    /// The guide it follows.
    pub guide: &'static str,
    /// The items, in the guide's order.
    pub items: Vec<Item>,
}

impl Checklist {
    /// Whether a measured item is still open (then `verify --checklist` exits 1).
    pub fn blocking(&self) -> bool {
        self.items
            .iter()
            .any(|i| i.measured && i.status == Status::Open)
    }

    /// The item with this key.
    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }

    /// The checklist as text: one line per item, its evidence, then what to do.
    pub fn render_text(&self) -> String {
        let mut out = format!("\ngo-live checklist (after {})\n", self.guide);
        for i in &self.items {
            let _ = writeln!(out, "{} {}", i.status.label(), i.title);
            let _ = writeln!(out, "       {}", i.evidence);
            for t in &i.todo {
                let _ = writeln!(out, "       - {t}");
            }
        }
        out
    }
}

/// What the checklist reads besides the verify report, gathered while its snapshot is open.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// (object, API key) of the compared fields that point at another record.
    pub relation_fields: HashSet<(String, String)>,
    /// (object, API key) of the compared fields that point at a workspace member.
    pub member_fields: HashSet<(String, String)>,
    /// Source members that records point at with no target member of the same email (email
    /// and reference count).
    pub unmatched_members: Vec<String>,
    /// The sampled attachment files; `None` when the workspace moved no attachments.
    pub attachments: Option<AttachmentSample>,
    /// The configuration check; `None` when it could not be read.
    pub config: Option<ConfigCheck>,
    /// The source's connected accounts.
    pub accounts: Vec<ConnectedAccount>,
    /// The source workspace's custom domain.
    pub custom_domain: Option<String>,
    /// The target's URL.
    pub target_url: String,
    /// The old server's URL, when `--source-server` gave it.
    pub old_server: Option<String>,
}

/// The target's attachment files that were downloaded.
#[derive(Debug, Default)]
pub(super) struct AttachmentSample {
    /// Files tried.
    pub tried: u64,
    /// Files that answered with their bytes (and their recorded size, where known).
    pub opened: u64,
    /// Files whose size the ledger knew and was compared.
    pub sized: u64,
    /// Why the others did not open (first few).
    pub failures: Vec<String>,
    /// Attachment records in the target.
    pub records: u64,
}

/// Fields of [`Reference`] kind `kind` among a plan's fields.
pub(super) fn references<'a>(
    object: &'a str,
    fields: &'a [crate::plan::FieldDecision],
    kind: Reference,
) -> impl Iterator<Item = (String, String)> + 'a {
    fields
        .iter()
        .filter(move |f| f.reference == kind)
        .map(move |f| (object.to_owned(), f.key.clone()))
}

/// Builds the checklist from the report and the facts.
pub(super) fn build(report: &VerifyReport, facts: &Facts) -> Checklist {
    let items = vec![
        record_counts(report),
        relations(report, facts),
        assignments(report, facts),
        attachments(facts),
        views(facts),
        workflows_and_webhooks(facts),
        roles_and_members(facts),
        email_calendar(facts),
        api_integrations(facts),
        custom_domain(facts),
    ];
    Checklist {
        guide: GUIDE,
        items,
    }
}

fn item(key: &'static str, title: &'static str, measured: bool) -> Item {
    Item {
        key,
        title,
        status: Status::Open,
        measured,
        evidence: String::new(),
        todo: Vec::new(),
    }
}

/// `a, b, c and 4 more`.
fn listed(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        let _ = write!(text, " and {} more", names.len() - LISTED);
    }
    text
}

fn record_counts(report: &VerifyReport) -> Item {
    let mut it = item("record_counts", "All data imported successfully", true);
    let off: Vec<String> = report
        .objects
        .iter()
        .filter(|o| o.target_count != Some(o.source_count))
        .map(|o| {
            let target = o
                .target_count
                .map_or_else(|| "?".to_owned(), |t| t.to_string());
            format!("{} (source {}, target {target})", o.object, o.source_count)
        })
        .collect();
    let records: u64 = report.objects.iter().map(|o| o.source_count).sum();
    if off.is_empty() {
        it.status = Status::Done;
        it.evidence = format!(
            "{} objects, {records} records: every count matches",
            report.objects.len()
        );
    } else {
        it.evidence = format!(
            "{} of {} objects differ in count: {}",
            off.len(),
            report.objects.len(),
            listed(&off)
        );
        it.todo
            .push("run `migrate` again, then look at rejects.jsonl for what it refuses".into());
    }
    it
}

/// Differences on the given fields (and records missing from objects that only link others).
fn differing(report: &VerifyReport, fields: &HashSet<(String, String)>) -> Vec<String> {
    let mut found: Vec<String> = report
        .differences
        .iter()
        .filter(|d| fields.contains(&(d.object.clone(), d.field.clone())))
        .map(|d| format!("{}.{} of {}", d.object, d.field, d.id))
        .collect();
    found.dedup();
    found
}

fn relations(report: &VerifyReport, facts: &Facts) -> Item {
    let mut it = item(
        "relations",
        "Relations between objects working correctly",
        true,
    );
    // A missing link record (a note or task target) is a relation lost too.
    let links: HashSet<&str> = facts
        .relation_fields
        .iter()
        .map(|(o, _)| o.as_str())
        .filter(|o| o.ends_with("Target"))
        .collect();
    let mut off = differing(report, &facts.relation_fields);
    off.extend(
        report
            .differences
            .iter()
            .filter(|d| d.field == "missing record" && links.contains(d.object.as_str()))
            .map(|d| format!("{} {} missing", d.object, d.id)),
    );
    let compared: u64 = report.objects.iter().map(|o| o.compared).sum();
    if off.is_empty() {
        it.status = Status::Done;
        it.evidence = format!(
            "{} relation fields, {compared} records compared: no relation differs",
            facts.relation_fields.len()
        );
    } else {
        it.evidence = format!("{} relation values differ: {}", off.len(), listed(&off));
        it.todo
            .push("run `migrate` again; `verify` lists every difference above".into());
    }
    it
}

fn assignments(report: &VerifyReport, facts: &Facts) -> Item {
    let mut it = item(
        "assignments",
        "User assignments (Owner, Assignee) mapped correctly",
        true,
    );
    let off = differing(report, &facts.member_fields);
    if off.is_empty() && facts.unmatched_members.is_empty() {
        it.status = Status::Done;
        it.evidence = format!(
            "{} member fields compared, every source member found in the target by email",
            facts.member_fields.len()
        );
        return it;
    }
    it.evidence = format!(
        "{} member values differ; {} source members that records point at have no target member",
        off.len(),
        facts.unmatched_members.len()
    );
    for email in &facts.unmatched_members {
        it.todo.push(format!(
            "invite {email}, wait until they accept, then run `migrate --restart` to point their records at them"
        ));
    }
    if !off.is_empty() {
        it.todo.push(format!("differing: {}", listed(&off)));
    }
    it
}

fn attachments(facts: &Facts) -> Item {
    let mut it = item("attachments", "Attachments open", true);
    let Some(sample) = &facts.attachments else {
        it.status = Status::NotApplicable;
        it.evidence = "the workspace moves no attachments".into();
        return it;
    };
    if sample.tried == 0 {
        it.status = if sample.records == 0 {
            Status::NotApplicable
        } else {
            Status::Open
        };
        it.evidence = format!(
            "{} attachments in the target, none with a file URL to open",
            sample.records
        );
        return it;
    }
    let sizes = if sample.sized == sample.tried {
        "with the size uploaded"
    } else {
        "(sizes compared where the ledger has them)"
    };
    it.evidence = format!(
        "{} of {} sampled files opened {sizes}",
        sample.opened, sample.tried
    );
    if sample.opened == sample.tried {
        it.status = Status::Done;
    } else {
        it.todo.clone_from(&sample.failures);
        it.todo
            .push("run `migrate --restart` to upload the files again".into());
    }
    it
}

/// The configuration actions of one kind still pending, or `None` when nothing could be read.
fn pending(facts: &Facts, kind: fn(&Action) -> bool) -> Option<Vec<&Action>> {
    let check = facts.config.as_ref()?;
    Some(check.pending.as_ref()?.iter().filter(|a| kind(a)).collect())
}

/// Open runbook steps of a section.
fn open_steps(facts: &Facts, section: &str) -> Vec<String> {
    facts
        .config
        .iter()
        .flat_map(|c| c.open.iter())
        .filter(|s| s.section == section)
        .map(|s| s.title.clone())
        .collect()
}

fn is_view(a: &Action) -> bool {
    !is_role(a) && !is_webhook(a)
}

fn is_role(a: &Action) -> bool {
    matches!(
        a,
        Action::CreateRole(_)
            | Action::UpdateRole(..)
            | Action::SetObjectPermissions(..)
            | Action::MergeFieldPermissions(..)
            | Action::SetFlags(..)
    )
}

fn is_webhook(a: &Action) -> bool {
    matches!(a, Action::CreateWebhook(_) | Action::UpdateWebhook(_))
}

/// Marks `it` from pending actions and open steps; `None` pending: the configuration could
/// not be compared. `unchecked` steps (personal views) nothing on the target shows done: they
/// leave the item open without counting as measured.
fn from_config(
    mut it: Item,
    pending: Option<Vec<&Action>>,
    open: Vec<String>,
    unchecked: Vec<String>,
    what: &str,
) -> Item {
    let Some(pending) = pending else {
        it.evidence =
            "the target's configuration could not be compared (older target): check by hand".into();
        it.todo = open;
        it.todo.extend(unchecked);
        return it;
    };
    if pending.is_empty() && open.is_empty() {
        it.evidence = format!("the target has every {what} of the source");
        if unchecked.is_empty() {
            it.status = Status::Done;
        } else {
            it.measured = false;
            let _ = write!(
                it.evidence,
                "; {} personal ones only their owners can recreate",
                unchecked.len()
            );
            it.todo = unchecked;
        }
        return it;
    }
    it.evidence = format!(
        "{} changes still to make, {} steps open for a person",
        pending.len(),
        open.len()
    );
    if !pending.is_empty() {
        let names: Vec<String> = pending.iter().map(|a| a.describe()).collect();
        it.todo
            .push(format!("run `migrate` again to: {}", listed(&names)));
    }
    it.todo.extend(open);
    it.todo.extend(unchecked);
    it
}

fn views(facts: &Facts) -> Item {
    let it = item("views", "Views recreated", true);
    // Personal views and sidebar items only their owner can recreate (the runbook's
    // "personal" section); nothing on the target shows them done.
    from_config(
        it,
        pending(facts, is_view),
        Vec::new(),
        open_steps(facts, "personal"),
        "workspace view and navigation item",
    )
}

fn workflows_and_webhooks(facts: &Facts) -> Item {
    let mut it = item("workflows_webhooks", "Workflows recreated and tested", true);
    let config = facts.config.as_ref();
    let none =
        config.is_some_and(|c| c.config.workflows.is_empty() && c.config.webhooks.is_empty());
    if none {
        it.status = Status::NotApplicable;
        it.evidence = "the source has no workflows and no webhooks".into();
        return it;
    }
    let mut it = from_config(
        it,
        pending(facts, is_webhook),
        open_steps(facts, "workflows"),
        Vec::new(),
        "webhook and active workflow",
    );
    if it.status == Status::Done {
        let c = &config.expect("compared").config;
        it.evidence = format!(
            "{} webhooks and {} workflows present in the target (test each workflow once)",
            c.webhooks.len(),
            c.workflows.len()
        );
    }
    it
}

fn roles_and_members(facts: &Facts) -> Item {
    let it = item("roles_members", "Roles and permissions configured", true);
    let mut it = from_config(
        it,
        pending(facts, is_role),
        open_steps(facts, "members"),
        Vec::new(),
        "role, and every member holds theirs",
    );
    if let Some(c) = facts.config.as_ref().filter(|_| it.status == Status::Done) {
        it.evidence = format!(
            "{} roles and {} members with their role in the target",
            c.config.roles.len(),
            c.config.member_roles.len()
        );
    }
    it
}

fn email_calendar(facts: &Facts) -> Item {
    let mut it = item("email_calendar", "Email/calendar sync reconnected", false);
    if facts.accounts.is_empty() {
        it.status = Status::NotApplicable;
        it.evidence = "the source has no connected email or calendar account".into();
        return it;
    }
    it.evidence = format!(
        "{} connected accounts in the source; their credentials never move, each owner reconnects in Settings → Accounts",
        facts.accounts.len()
    );
    for a in &facts.accounts {
        let owner = a.owner_email.as_deref().unwrap_or("its owner");
        it.todo.push(format!(
            "{owner}: reconnect {} ({}; {} email and {} calendar channels)",
            a.handle, a.provider, a.message_channels, a.calendar_channels
        ));
    }
    it
}

fn api_integrations(facts: &Facts) -> Item {
    let mut it = item(
        "api_integrations",
        "API integrations updated with new keys",
        false,
    );
    let (keys, hooks) = facts.config.as_ref().map_or((Vec::new(), Vec::new()), |c| {
        (
            c.config
                .api_keys
                .iter()
                .filter(|k| k.revoked_at.is_none())
                .map(|k| k.name.clone())
                .collect(),
            c.config
                .webhooks
                .iter()
                .map(|w| w.target_url.clone())
                .collect(),
        )
    });
    if keys.is_empty() && hooks.is_empty() && facts.config.is_some() {
        it.status = Status::NotApplicable;
        it.evidence = "the source has no API keys and no webhooks".into();
        return it;
    }
    let old = facts
        .old_server
        .as_deref()
        .map(|u| format!(" instead of {u}"))
        .unwrap_or_default();
    it.evidence = format!(
        "{} API keys and {} webhooks in the source; whatever used them must now call {}{old}",
        keys.len(),
        hooks.len(),
        facts.target_url
    );
    // The keys not yet created in the target (runbook steps the target does not show done).
    it.todo.extend(open_steps(facts, "api_keys"));
    for k in &keys {
        it.todo.push(format!(
            "the integration using the API key \"{k}\": give it the new key and the URL {}",
            facts.target_url
        ));
    }
    for h in &hooks {
        it.todo.push(format!(
            "the endpoint {h} now receives the target's events: make any calls back go to {}",
            facts.target_url
        ));
    }
    it
}

fn custom_domain(facts: &Facts) -> Item {
    let mut it = item("custom_domain", "DNS and custom domain repointed", false);
    match &facts.custom_domain {
        Some(domain) => {
            it.evidence = format!("the source workspace answers on the custom domain {domain}");
            it.todo.push(format!(
                "set {domain} as the custom domain of the new workspace (Settings → Domains) and point its DNS record at Twenty Cloud"
            ));
        }
        None => {
            it.evidence = "the source records no custom domain".into();
            it.todo.push(format!(
                "point any DNS name, bookmark or link to the old server{} at {}",
                facts
                    .old_server
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default(),
                facts.target_url
            ));
        }
    }
    it
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::verify::ObjectCheck;

    fn counted(source: u64, target: u64) -> VerifyReport {
        VerifyReport {
            objects: vec![ObjectCheck {
                object: "company".into(),
                source_count: source,
                target_count: Some(target),
                ..ObjectCheck::default()
            }],
            ..VerifyReport::default()
        }
    }

    #[test]
    fn a_count_that_differs_leaves_its_item_open_and_blocks() {
        let list = build(&counted(10, 9), &Facts::default());
        let item = list.item("record_counts").unwrap();
        assert_eq!(item.status, Status::Open);
        assert!(item.evidence.contains("company (source 10, target 9)"));
        assert!(list.blocking());
    }

    #[test]
    fn what_only_a_person_can_do_stays_open_without_blocking() {
        let facts = Facts {
            accounts: vec![ConnectedAccount {
                handle: "ann@acme.com".into(),
                provider: "google".into(),
                owner_email: Some("ann@acme.com".into()),
                message_channels: 1,
                calendar_channels: 1,
            }],
            target_url: "https://api.twenty.com".into(),
            ..Facts::default()
        };
        let list = build(&counted(3, 3), &facts);
        assert_eq!(list.item("record_counts").unwrap().status, Status::Done);
        let mail = list.item("email_calendar").unwrap();
        assert_eq!(mail.status, Status::Open);
        assert!(mail.todo[0].starts_with("ann@acme.com: reconnect ann@acme.com"));
        assert_eq!(list.item("custom_domain").unwrap().status, Status::Open);
        // What waits on a person is never marked done.
        assert!(list
            .items
            .iter()
            .filter(|i| !i.measured)
            .all(|i| i.status != Status::Done));
        assert_eq!(
            list.item("attachments").unwrap().status,
            Status::NotApplicable
        );
    }

    #[test]
    fn a_relation_difference_opens_relations_but_not_assignments() {
        let mut report = counted(1, 1);
        report.differences.push(super::super::Difference {
            object: "person".into(),
            id: uuid::Uuid::nil(),
            field: "companyId".into(),
            source: serde_json::json!("a"),
            target: serde_json::Value::Null,
        });
        let facts = Facts {
            relation_fields: [("person".to_owned(), "companyId".to_owned())].into(),
            ..Facts::default()
        };
        let list = build(&report, &facts);
        assert_eq!(list.item("relations").unwrap().status, Status::Open);
        assert_eq!(list.item("assignments").unwrap().status, Status::Done);
    }
}
