//! The runbook: what the configuration stage cannot do with an API key, written for a person,
//! as `runbook.md` and `runbook.json`, and checked again by `verify`.
//!
//! Each refusal is Twenty's (2.21), checked on a real server:
//! - inviting members and setting a member's role need a logged-in user:
//!   `sendInvitations` and `updateWorkspaceMemberRole` carry `UserAuthGuard`
//!   (`workspace-invitation.resolver.ts`, `role/role.resolver.ts`);
//! - API keys are created only with a session token (`RequireAccessTokenGuard`,
//!   `api-key/api-key.resolver.ts`), and a key's token is never stored, so it cannot move;
//! - a workflow's steps and its activation are user-only (`UserAuthGuard` on the workflow
//!   builder resolvers under `core-modules/workflow/resolvers/`), and versions cannot be
//!   created through the record API (`workflow-version-create-one.pre-query.hook.ts`);
//! - personal views and personal navigation items only their owner can create
//!   (`view-access.service.ts`, `navigation-menu-item-access.service.ts`).
//!
//! It also names what this version reads but does not move, though an API key could:
//! dashboard widgets that show an application's front component ([`NotMoved`]); the row-level
//! permission predicates the target did not take (an Enterprise feature it may lack:
//! [`super::row_level`]) and the custom AI agents it refused ([`Runbook::with_refused`]), each
//! with the target's reason.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::row_level::RowLevelOutcome;
use super::{navigation, views, ConfigReport, RefusedAgent};
use crate::destination::{TargetApiKey, TargetRole};
use crate::model::config::{NotMoved, WorkspaceConfig};

/// One step for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable key, e.g. `member:ann@example.com`.
    pub key: String,
    /// The section: `members`, `api_keys`, `workflows`, `personal`, `not_moved`, `refused`.
    pub section: String,
    /// What to do, in one sentence.
    pub title: String,
    /// Details to carry out the step (a workflow's trigger and steps, a key's expiry…).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
    /// How `verify` tells that it is done, when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
}

/// What `verify` reads on the target to mark a step done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The member has joined the workspace and holds the role.
    MemberHasRole {
        /// Login email (case-insensitive).
        email: String,
        /// Role label.
        role: String,
    },
    /// A key with this name exists, not revoked, with this role.
    ApiKeyExists {
        /// Key name.
        name: String,
        /// Role label, when the source key had one.
        role: Option<String>,
    },
    /// A workflow with this name exists, and is active when the source one was.
    WorkflowPresent {
        /// Workflow name.
        name: String,
        /// Whether it must be active.
        active: bool,
    },
    /// An AI agent with this name exists.
    AgentExists {
        /// Agent name.
        name: String,
    },
}

/// The steps of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    /// Steps, by section then key.
    pub steps: Vec<Step>,
}

/// What the target shows, for the checks.
#[derive(Debug, Clone, Default)]
pub struct TargetFacts {
    /// Roles with their members.
    pub roles: Vec<TargetRole>,
    /// API keys.
    pub api_keys: Vec<TargetApiKey>,
    /// Workflows: name and whether one of its versions is active.
    pub workflows: Vec<(String, bool)>,
    /// AI agents' names.
    pub agents: Vec<String>,
}

impl Check {
    /// Whether the target shows the step done.
    pub fn done(&self, facts: &TargetFacts) -> bool {
        match self {
            Self::MemberHasRole { email, role } => facts.roles.iter().any(|r| {
                &r.label == role
                    && r.workspace_members.iter().any(|m| {
                        m.user_email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    })
            }),
            Self::ApiKeyExists { name, role } => facts.api_keys.iter().any(|k| {
                &k.name == name
                    && k.revoked_at.is_none()
                    && role
                        .as_ref()
                        .is_none_or(|r| k.role.as_ref().is_some_and(|l| &l.label == r))
            }),
            Self::WorkflowPresent { name, active } => facts
                .workflows
                .iter()
                .any(|(n, is_active)| n == name && (!active || *is_active)),
            Self::AgentExists { name } => facts.agents.contains(name),
        }
    }
}

impl Runbook {
    /// The steps for this source configuration, none of it moved.
    pub fn build(config: &WorkspaceConfig) -> Self {
        Self::build_with(config, &RowLevelOutcome::default())
    }

    /// The steps for this source configuration, but for the row-level permission sets the
    /// target holds; a set it refused keeps its step, with the reason.
    pub fn build_with(config: &WorkspaceConfig, row_level: &RowLevelOutcome) -> Self {
        let mut steps = Vec::new();
        for m in &config.member_roles {
            steps.push(Step {
                key: format!("member:{}", m.email.to_lowercase()),
                section: "members".into(),
                title: format!(
                    "Invite {} (if not yet a member) and give them the role \"{}\"",
                    m.email, m.role
                ),
                details: Value::Null,
                check: Some(Check::MemberHasRole {
                    email: m.email.clone(),
                    role: m.role.clone(),
                }),
            });
        }
        for k in config.api_keys.iter().filter(|k| k.revoked_at.is_none()) {
            let role = k.role.as_deref().unwrap_or("(no role)");
            steps.push(Step {
                key: format!("api_key:{}", k.id),
                section: "api_keys".into(),
                title: format!(
                    "Create the API key \"{}\" with the role \"{role}\", expiring {}, and give its new token to whatever used the old one",
                    k.name, k.expires_at
                ),
                details: Value::Null,
                check: Some(Check::ApiKeyExists {
                    name: k.name.clone(),
                    role: k.role.clone(),
                }),
            });
        }
        for w in &config.workflows {
            let active = w.versions.iter().any(|v| v.status == "ACTIVE");
            let version = w
                .versions
                .iter()
                .rev()
                .find(|v| v.status == "ACTIVE")
                .or_else(|| w.versions.last());
            // Whether to activate it, said in the step: a person recreating every workflow
            // would otherwise turn on one the source had stopped.
            let what = match (active, version) {
                (true, _) => " and activate it".to_owned(),
                (false, Some(v)) => format!(
                    " and leave it inactive: it is {} in the source",
                    v.status.to_lowercase()
                ),
                (false, None) => " and leave it inactive: it has no version in the source".into(),
            };
            steps.push(Step {
                key: format!("workflow:{}", w.id),
                section: "workflows".into(),
                title: format!("Recreate the workflow \"{}\"{what}", w.name),
                details: serde_json::json!({
                    "trigger": version.map(|v| v.trigger.clone()),
                    "steps": version.map(|v| v.steps.clone()),
                    "versions": w.versions.len(),
                }),
                check: Some(Check::WorkflowPresent {
                    name: w.name.clone(),
                    active,
                }),
            });
        }
        for v in config.views.iter().filter(|v| !views::movable(v)) {
            let owner = v.owner_email.as_deref().unwrap_or("its owner");
            steps.push(Step {
                key: format!("view:{}", v.id),
                section: "personal".into(),
                title: format!(
                    "{owner}: recreate the personal view \"{}\" on {} ({} columns, {} filters, {} sorts)",
                    v.name,
                    v.object,
                    v.fields.iter().filter(|f| f.is_visible).count(),
                    v.filters.len(),
                    v.sorts.len()
                ),
                details: Value::Null,
                check: None,
            });
        }
        for n in config.navigation.iter().filter(|n| !navigation::movable(n)) {
            let owner = n.owner_email.as_deref().unwrap_or("the workspace");
            let view_name = n
                .view
                .and_then(|v| config.views.iter().find(|view| view.id == v))
                .map(|v| format!("the view \"{}\" of {}", v.name, v.object));
            let what = match (n.kind.as_str(), view_name) {
                ("VIEW", Some(view)) => view,
                ("RECORD", _) => format!(
                    "the {} record {}",
                    n.target_object.as_deref().unwrap_or("?"),
                    n.target_record.map(|r| r.to_string()).unwrap_or_default()
                ),
                ("OBJECT", _) => {
                    format!("the object {}", n.target_object.as_deref().unwrap_or("?"))
                }
                ("LINK", _) => format!("the link {}", n.link.as_deref().unwrap_or("?")),
                (kind, _) => format!(
                    "the {} \"{}\"",
                    kind.to_lowercase().replace('_', " "),
                    n.name.as_deref().unwrap_or("")
                ),
            };
            steps.push(Step {
                key: format!("navigation:{}", n.id),
                section: "personal".into(),
                title: format!("{owner}: add {what} to the sidebar again"),
                details: Value::Null,
                check: None,
            });
        }
        for n in &config.not_moved {
            let mut details = Value::Null;
            let (key, title) = match n {
                NotMoved::RowLevelPermissions {
                    role,
                    object,
                    predicates,
                } => {
                    let set = (role.clone(), object.clone());
                    if row_level.moved.contains(&set) {
                        continue;
                    }
                    if let Some(reason) = row_level.refused.get(&set) {
                        details = serde_json::json!({ "refused": reason });
                    }
                    (
                    format!("row_level:{role}:{object}"),
                    format!(
                        "Recreate the role \"{role}\"'s row-level permissions on {object} ({predicates} predicates): Settings → Roles → {role} → {object}"
                    ),
                )
                }
                NotMoved::FrontComponentWidget {
                    id,
                    title,
                    dashboard,
                } => (
                    format!("front_component:{id}"),
                    format!(
                        "Add the widget \"{title}\" to the dashboard \"{dashboard}\" again, once the application whose front component it shows is installed in the target"
                    ),
                ),
            };
            steps.push(Step {
                key,
                section: "not_moved".into(),
                title,
                details,
                check: None,
            });
        }
        steps.sort_by(|a, b| (&a.section, &a.key).cmp(&(&b.section, &b.key)));
        Self { steps }
    }

    /// With a step for each custom AI agent the target refused in the run (the source's
    /// agent, its model and prompt in the details), saying why.
    pub fn with_refused(mut self, config: &WorkspaceConfig, refused: &[RefusedAgent]) -> Self {
        for r in refused {
            let why = format!("the target refused it ({})", r.reason);
            self.add_agent_step(config, r.id, &r.label, &why);
        }
        self.steps
            .sort_by(|a, b| (&a.section, &a.key).cmp(&(&b.section, &b.key)));
        self
    }

    /// With a step for each of these custom AI agents (source ids) that the runbook does not
    /// list yet: `verify` found them missing from the target without the run's reason.
    pub fn with_missing_agents(mut self, config: &WorkspaceConfig, missing: &[uuid::Uuid]) -> Self {
        for id in missing {
            let listed = self.steps.iter().any(|s| s.key == format!("agent:{id}"));
            let label = config
                .agents
                .iter()
                .find(|a| a.id == *id)
                .map(|a| a.label.clone());
            if let (false, Some(label)) = (listed, label) {
                let why = "it is not on the target (the migration's notes say why it was refused)";
                self.add_agent_step(config, *id, &label, why);
            }
        }
        self.steps
            .sort_by(|a, b| (&a.section, &a.key).cmp(&(&b.section, &b.key)));
        self
    }

    /// A step to recreate the source agent `id` by hand, saying `why`, with its name, model,
    /// role and prompt; done once the target has an agent of that name.
    fn add_agent_step(&mut self, config: &WorkspaceConfig, id: uuid::Uuid, label: &str, why: &str) {
        let agent = config.agents.iter().find(|a| a.id == id);
        self.steps.push(Step {
            key: format!("agent:{id}"),
            section: "refused".into(),
            title: format!("Recreate the AI agent \"{label}\" under Settings → AI: {why}"),
            details: agent.map_or(Value::Null, |a| {
                serde_json::json!({
                    "name": a.name, "modelId": a.model_id, "role": a.role, "prompt": a.prompt,
                })
            }),
            check: agent.map(|a| Check::AgentExists {
                name: a.name.clone(),
            }),
        });
    }

    /// With the agent steps an earlier run wrote into its `runbook.json`: `verify` sends
    /// nothing, so the target's refusals are the run's.
    pub fn with_agents_of(mut self, earlier: Option<Runbook>) -> Self {
        let agents = earlier.into_iter().flat_map(|r| r.steps);
        self.steps
            .extend(agents.filter(|s| s.key.starts_with("agent:")));
        self.steps
            .sort_by(|a, b| (&a.section, &a.key).cmp(&(&b.section, &b.key)));
        self
    }

    /// The steps not yet done on the target (steps without a check are always open).
    pub fn open_steps<'a>(&'a self, facts: &TargetFacts) -> Vec<&'a Step> {
        self.steps
            .iter()
            .filter(|s| s.check.as_ref().is_none_or(|c| !c.done(facts)))
            .collect()
    }

    /// The Markdown a person follows: one checkbox per step, grouped by section.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from(
            "# Runbook: what the migration could not do with an API key\n\nEach step needs a person signed in to the target workspace as an admin. `twenty-migrate verify` checks the steps marked (checked) and lists those still open.\n",
        );
        for (section, heading) in [
            ("members", "Members and their roles"),
            ("api_keys", "API keys"),
            ("workflows", "Workflows"),
            ("personal", "Personal views and sidebar items"),
            (
                "not_moved",
                "Not moved by this version of the tool: redo by hand",
            ),
            ("refused", "Refused by the target: redo by hand"),
        ] {
            let steps: Vec<&Step> = self.steps.iter().filter(|s| s.section == section).collect();
            if steps.is_empty() {
                continue;
            }
            // One blank line before a heading, also after a step's details block.
            if !md.ends_with("\n\n") {
                md.push('\n');
            }
            let _ = write!(md, "## {heading}\n\n");
            for s in steps {
                let checked = if s.check.is_some() { " (checked)" } else { "" };
                let _ = writeln!(md, "- [ ] {}{checked}", s.title);
                if !s.details.is_null() {
                    let pretty = serde_json::to_string_pretty(&s.details).unwrap_or_default();
                    let _ = writeln!(md, "\n  ```json");
                    for line in pretty.lines() {
                        let _ = writeln!(md, "  {line}");
                    }
                    let _ = writeln!(md, "  ```\n");
                }
            }
        }
        md
    }

    /// Writes `runbook.md` and `runbook.json` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("runbook.md"), self.to_markdown())?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("runbook.json"), json)
    }

    /// Reads `runbook.json` from `dir`, if a run wrote one.
    pub fn read(dir: &Path) -> std::io::Result<Option<Self>> {
        match std::fs::read(dir.join("runbook.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Counts the runbook's steps per kind in the report (the agents it refused included).
pub(super) fn count(
    config: &WorkspaceConfig,
    row_level: &RowLevelOutcome,
    report: &mut ConfigReport,
) {
    let book = Runbook::build_with(config, row_level).with_refused(config, &report.refused_agents);
    for s in &book.steps {
        let kind = match s.key.split(':').next().unwrap_or("") {
            "member" => "members",
            "api_key" => "api_keys",
            "workflow" => "workflows",
            "view" => "views",
            "row_level" => "row_level_permissions",
            "agent" => "agents",
            "record_page" => "record_pages",
            "front_component" => "dashboard_widgets",
            _ => "navigation",
        };
        report.kind(kind).runbook += 1;
    }
}
