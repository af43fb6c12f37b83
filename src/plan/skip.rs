//! The objects the plan does not move: the named skip rules and what a skipped object reports.

use serde::Serialize;

/// An object the plan does not move, and the named rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedObject {
    /// `nameSingular`.
    pub object: String,
    /// The rule's name (stable, for scripts).
    pub rule: &'static str,
    /// Why, in a sentence.
    pub reason: String,
    /// Rows in the source (live + soft-deleted), all of which count as skipped.
    pub rows: u64,
}

/// Objects that must not move or that Twenty rebuilds, with the rule that skips them.
///
/// - messaging/calendar infrastructure re-syncs from the connected accounts and carries OAuth
///   tokens (`source-schema.md` §9; Twenty's export FAQ, PR twentyhq/twenty#23266);
/// - workflows: `workflowVersion.createOne` is blocked
///   (`modules/workflow/common/query-hooks/workflow-version-create-one.pre-query.hook.ts`);
/// - dashboards are moved by the configuration stage, after the records, since a dashboard
///   record must name its page layout's target id (`pipeline::config::dashboards`); references
///   to them are written after that stage ([`moved_by_configuration`]);
/// - workspace members are created by sign-up only
///   (`modules/workspace-member/query-hooks/workspace-member-create-one.pre-query.hook.ts`).
pub(super) const SKIP_RULES: &[(&str, &str, &str)] = &[
    ("workspaceMember", "members-by-email", "members cannot be created through the API; references are mapped to the target's members by email"),
    ("connectedAccount", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target (and carries OAuth tokens)"),
    ("message", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageThread", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageParticipant", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannel", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannelMessageAssociation", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannelMessageAssociationMessageFolder", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageFolder", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageThreadTarget", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEvent", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEventParticipant", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarChannel", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarChannelEventAssociation", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEventTarget", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("callRecording", "resynced-messaging", "call recordings belong to the connected meeting integration"),
    ("blocklist", "resynced-messaging", "the blocklist is per-member messaging settings"),
    ("workflow", "workflows-manual", "workflows cannot be recreated through the record API (Twenty migrates them manually)"),
    ("workflowVersion", "workflows-manual", "workflow versions cannot be created through the API"),
    ("workflowRun", "workflows-manual", "workflow runs are execution history and cannot be created through the API"),
    ("workflowAutomatedTrigger", "workflows-manual", "triggers are created by the target when a workflow is activated"),
    ("timelineActivity", "regenerated-history", "timeline events are written by the target itself"),
    ("auditLog", "regenerated-history", "audit logs are written by the target itself"),
    ("favorite", "personal-navigation", "favorites are personal navigation state (replaced by navigation menu items in 1.17)"),
    ("favoriteFolder", "personal-navigation", "favorites are personal navigation state (replaced by navigation menu items in 1.17)"),
    ("dashboard", BY_CONFIGURATION, "dashboards move with the configuration stage (their page layout first, then the record with the target layout's id), not with the records"),
    ("view", "views-not-records", "views are workspace configuration, not records"),
    ("viewField", "views-not-records", "views are workspace configuration, not records"),
    ("viewFilter", "views-not-records", "views are workspace configuration, not records"),
    ("viewFilterGroup", "views-not-records", "views are workspace configuration, not records"),
    ("viewSort", "views-not-records", "views are workspace configuration, not records"),
    ("viewGroup", "views-not-records", "views are workspace configuration, not records"),
];

/// The rule of the objects the configuration stage creates instead of the records stage.
const BY_CONFIGURATION: &str = "dashboards-by-configuration";

/// Whether the records of `object` are created by the configuration stage (dashboards): a
/// reference to one is written after that stage, not dropped.
pub fn moved_by_configuration(object: &str) -> bool {
    skip_rule(object) == Some(BY_CONFIGURATION)
}

/// The rule that skips every record of `object`, if one does.
pub fn skip_rule(object: &str) -> Option<&'static str> {
    SKIP_RULES
        .iter()
        .find(|(o, _, _)| *o == object)
        .map(|(_, rule, _)| *rule)
}
