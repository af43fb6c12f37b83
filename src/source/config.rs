//! The workspace configuration of the source: views, roles and permissions, member and API key
//! roles, webhooks, navigation menu items, API keys, workflows and dashboards, by object and
//! field name ([`crate::model::config`]).
//!
//! Every table is read whole as `to_jsonb(row)`, so a column a version lacks is simply absent
//! and one it adds is ignored: one catalogue query says which tables exist, a missing table
//! yields an empty list. Where the tables are, per layout (`/work/notes/issue16-facts.md` §12):
//! - views: `core.view` and its children from 1.5, workspace tables `view`, `viewField`… before
//!   (values converted as `upgrade:1-5:migrate-views-to-core` converts them, [`super::config_views`]);
//! - roles: `core.role` (≥0.44); flags in `core."rolePermissionFlag"` + the `permissionFlag`
//!   catalogue (2.6+), else `core."permissionFlag".flag` (1.x), else
//!   `core."settingPermission".setting`; members in `core."roleTarget"` (or `roleTargets`,
//!   `userWorkspaceRole`); row-level permission predicates in `core."rowLevelPermissionPredicate"`
//!   and its groups (2.x, [`super::config_rls`]);
//! - webhooks and API keys: `core` from 1.1, workspace tables before;
//! - navigation: `core."navigationMenuItem"` (1.17+), else the workspace's favorites and
//!   favorite folders;
//! - workflows and dashboards: workspace records; page layouts in `core` (1.4+).
//!
//! Effective values are `overrides.<prop>` over the base column (standard entities, 2.12+).
//! Soft-deleted rows are left out. Member references become emails through
//! `core."userWorkspace"` → `core."user"`; member ids inside filter values stay as stored.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};
use tokio_postgres::Client;
use uuid::Uuid;

use super::{during, SourceError, WorkspaceInfo};
use crate::model::config::{
    ApiKey, Dashboard, FieldRef, MemberRole, NavigationItem, NotMoved, ObjectPermission, Role,
    Webhook, WorkspaceConfig, ROLE_SWITCHES,
};
use crate::model::quote_ident;

/// `core.application.universalIdentifier` of Twenty's standard application.
const STANDARD_APPLICATION: Uuid = Uuid::from_u128(0x20202020_64aa_4b6f_b003_9c74b97cee20);

/// One row as JSON: column name → value.
pub(crate) type Row = Map<String, Value>;

/// Reads the whole configuration of one workspace. Only reads: run it in the tool's read-only
/// session (inside the snapshot transaction when there is one).
pub async fn read_config(
    client: &Client,
    workspace: &WorkspaceInfo,
) -> Result<WorkspaceConfig, SourceError> {
    let r = Reader::open(client, workspace).await?;
    let views = super::config_views::read_views(&r).await?;
    let (mut roles, labels) = read_roles(&r).await?;
    let mut row_level = super::config_rls::read_row_level(&r).await?;
    for role in &mut roles {
        role.row_level_permissions = row_level.remove(&role.id).unwrap_or_default();
    }
    let targets = r
        .rows_any(&[
            ("core", "roleTarget"),
            ("core", "roleTargets"),
            ("core", "userWorkspaceRole"),
            ("metadata", "userWorkspaceRole"),
        ])
        .await?;
    let mut member_roles: Vec<MemberRole> = targets
        .iter()
        .filter_map(|t| {
            let email = r.email(uuid(t, "userWorkspaceId")?)?;
            let role = labels.get(&uuid(t, "roleId")?)?.clone();
            Some(MemberRole { email, role })
        })
        .collect();
    member_roles.sort_by(|a, b| a.email.cmp(&b.email));
    let api_key_roles: HashMap<Uuid, String> = targets
        .iter()
        .filter_map(|t| {
            Some((
                uuid(t, "apiKeyId")?,
                labels.get(&uuid(t, "roleId")?)?.clone(),
            ))
        })
        .collect();
    let default_role = r
        .rows("core", "workspace")
        .await?
        .iter()
        .find(|w| uuid(w, "id") == Some(r.workspace))
        .and_then(|w| uuid(w, "defaultRoleId"))
        .and_then(|id| labels.get(&id).cloned());
    let layout_rows = super::config_views::LayoutRows::read(&r).await?;
    let dashboards = super::config_views::read_dashboards(&r, &layout_rows).await?;
    let mut not_moved = read_not_moved(&r, &labels).await?;
    not_moved.extend(front_component_widgets(&dashboards));
    let agents = super::config_agents::read_agents(&r, &targets, &labels).await?;
    Ok(WorkspaceConfig {
        views,
        roles,
        member_roles,
        webhooks: read_webhooks(&r).await?,
        navigation: read_navigation(&r).await?,
        api_keys: read_api_keys(&r, &api_key_roles).await?,
        workflows: super::config_views::read_workflows(&r).await?,
        default_role,
        dashboards,
        record_pages: super::config_views::record_pages(&r, &layout_rows),
        not_moved,
        agents,
    })
}

/// The dashboards' widgets that show an application's front component: the tool installs no
/// application, so they go to the runbook.
fn front_component_widgets(dashboards: &[Dashboard]) -> Vec<NotMoved> {
    dashboards
        .iter()
        .filter_map(|d| Some((d, d.layout.as_ref()?)))
        .flat_map(|(d, layout)| {
            let name = d.title.clone().unwrap_or_else(|| layout.name.clone());
            layout
                .tabs
                .iter()
                .flat_map(|t| &t.widgets)
                .filter(|w| w.shows_front_component())
                .map(move |w| NotMoved::FrontComponentWidget {
                    id: w.id,
                    title: w.title.clone(),
                    dashboard: name.clone(),
                })
        })
        .collect()
}

/// Whether a row of an overridable entity was made or changed by the workspace: carrying
/// overrides, or neither Twenty's standard application's nor made by the server as a side
/// effect. A real 2.21 gives each custom object a `Default <Object> Layout` record page with
/// five tabs, under the workspace's custom application with `isSystemSideEffect` (seen on the
/// real server's database); the target makes its own when the data model sync creates the object.
pub(crate) fn customized(r: &Reader<'_>, row: &Row) -> bool {
    let overridden = row
        .get("overrides")
        .is_some_and(|o| o.as_object().is_some_and(|m| !m.is_empty()));
    let side_effect = boolean(row, "isSystemSideEffect") == Some(true);
    overridden || !(r.is_standard(row) || side_effect)
}

/// The configuration this version does not move, for the runbook: row-level permissions.
async fn read_not_moved(
    r: &Reader<'_>,
    labels: &HashMap<Uuid, String>,
) -> Result<Vec<NotMoved>, SourceError> {
    let mut out = Vec::new();
    let mut predicates: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for p in r.rows("core", "rowLevelPermissionPredicate").await? {
        let role = uuid(&p, "roleId").and_then(|id| labels.get(&id).cloned());
        let object = r.object(uuid(&p, "objectMetadataId"));
        if let (Some(role), Some(object)) = (role, object) {
            *predicates.entry((role, object)).or_default() += 1;
        }
    }
    out.extend(predicates.into_iter().map(|((role, object), predicates)| {
        NotMoved::RowLevelPermissions {
            role,
            object,
            predicates,
        }
    }));
    Ok(out)
}

/// What every part of the reader shares: which tables exist, metadata names, member emails.
pub(crate) struct Reader<'a> {
    client: &'a Client,
    pub(crate) workspace: Uuid,
    /// The workspace schema.
    pub(crate) schema: String,
    tables: HashSet<(String, String)>,
    objects: HashMap<Uuid, String>,
    fields: HashMap<Uuid, FieldRef>,
    emails: HashMap<Uuid, String>,
    standard_app: Option<Uuid>,
}

impl<'a> Reader<'a> {
    async fn open(client: &'a Client, ws: &WorkspaceInfo) -> Result<Reader<'a>, SourceError> {
        let schemas = vec!["core".to_owned(), "metadata".to_owned(), ws.schema.clone()];
        let tables = client
            .query(
                "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p', 'v') AND n.nspname = ANY($1)",
                &[&schemas],
            )
            .await
            .map_err(during("listing the configuration tables"))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let mut r = Reader {
            client,
            workspace: ws.id,
            schema: ws.schema.clone(),
            tables,
            objects: HashMap::new(),
            fields: HashMap::new(),
            emails: HashMap::new(),
            standard_app: None,
        };
        let meta = &ws.metadata_schema;
        for o in r.rows(meta, "objectMetadata").await? {
            if let (Some(id), Some(name)) = (uuid(&o, "id"), text(&o, "nameSingular")) {
                r.objects.insert(id, name);
            }
        }
        for f in r.rows(meta, "fieldMetadata").await? {
            let object = uuid(&f, "objectMetadataId").and_then(|o| r.objects.get(&o).cloned());
            if let (Some(id), Some(object), Some(field)) =
                (uuid(&f, "id"), object, text(&f, "name"))
            {
                r.fields.insert(id, FieldRef { object, field });
            }
        }
        let users: HashMap<Uuid, String> = r
            .rows("core", "user")
            .await?
            .iter()
            .filter_map(|u| Some((uuid(u, "id")?, text(u, "email")?.to_lowercase())))
            .collect();
        for uw in r.rows("core", "userWorkspace").await? {
            if let (Some(id), Some(email)) = (
                uuid(&uw, "id"),
                uuid(&uw, "userId").and_then(|u| users.get(&u)),
            ) {
                r.emails.insert(id, email.clone());
            }
        }
        r.standard_app = r
            .rows("core", "application")
            .await?
            .iter()
            .find(|a| uuid(a, "universalIdentifier") == Some(STANDARD_APPLICATION))
            .and_then(|a| uuid(a, "id"));
        Ok(r)
    }

    /// Whether `schema.table` exists.
    pub(crate) fn has(&self, schema: &str, table: &str) -> bool {
        self.tables.contains(&(schema.to_owned(), table.to_owned()))
    }

    /// The live rows of this workspace in `schema.table` (all rows of a table without
    /// `workspaceId`; none when the table does not exist).
    pub(crate) async fn rows(&self, schema: &str, table: &str) -> Result<Vec<Row>, SourceError> {
        if !self.has(schema, table) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT to_jsonb(t) FROM {}.{} t",
            quote_ident(schema),
            quote_ident(table)
        );
        let rows = self
            .client
            .query(&sql, &[])
            .await
            .map_err(during(format!("reading {schema}.{table}")))?;
        let ws = self.workspace.to_string();
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.get::<_, Value>(0) {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .filter(|m| {
                m.get("workspaceId")
                    .is_none_or(|w| w.as_str() == Some(ws.as_str()))
            })
            .filter(|m| m.get("deletedAt").is_none_or(Value::is_null))
            .collect())
    }

    /// The rows of the first of these tables that exists.
    pub(crate) async fn rows_any(&self, tables: &[(&str, &str)]) -> Result<Vec<Row>, SourceError> {
        match tables.iter().find(|(s, t)| self.has(s, t)) {
            Some((s, t)) => self.rows(s, t).await,
            None => Ok(Vec::new()),
        }
    }

    /// An object's `nameSingular` by metadata id.
    pub(crate) fn object(&self, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| self.objects.get(&id).cloned())
    }

    /// A field by metadata id.
    pub(crate) fn field(&self, id: Option<Uuid>) -> Option<FieldRef> {
        id.and_then(|id| self.fields.get(&id).cloned())
    }

    /// A member's email by `userWorkspace` id.
    pub(crate) fn email(&self, user_workspace: Uuid) -> Option<String> {
        self.emails.get(&user_workspace).cloned()
    }

    /// Whether the row belongs to Twenty's standard application.
    pub(crate) fn is_standard(&self, row: &Row) -> bool {
        self.standard_app.is_some() && uuid(row, "applicationId") == self.standard_app
    }
}

/// A text column.
pub(crate) fn text(row: &Row, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A uuid column.
pub(crate) fn uuid(row: &Row, key: &str) -> Option<Uuid> {
    row.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// A number column.
pub(crate) fn number(row: &Row, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

/// A boolean column.
pub(crate) fn boolean(row: &Row, key: &str) -> Option<bool> {
    row.get(key).and_then(Value::as_bool)
}

/// The row with `overrides.<prop>` over each base column (Twenty's overridable entities).
pub(crate) fn effective(mut row: Row) -> Row {
    if let Some(Value::Object(overrides)) = row.get("overrides").cloned() {
        for (k, v) in overrides {
            row.insert(k, v);
        }
    }
    row
}

/// A timestamp as RFC 3339 (Postgres' JSON form has a `T` and an offset already).
fn timestamp(row: &Row, key: &str) -> Option<String> {
    text(row, key)
}

async fn read_roles(r: &Reader<'_>) -> Result<(Vec<Role>, HashMap<Uuid, String>), SourceError> {
    let objects = r.rows("core", "objectPermission").await?;
    let fields = r.rows("core", "fieldPermission").await?;
    // Flags: 2.6+ links to the catalogue; 1.x `permissionFlag(roleId, flag)`; earlier
    // `settingPermission(roleId, setting)`.
    let mut flags: Vec<(Uuid, String)> = Vec::new();
    let catalogue = r.rows("core", "permissionFlag").await?;
    if r.has("core", "rolePermissionFlag") {
        let keys: HashMap<Uuid, String> = catalogue
            .iter()
            .filter_map(|f| Some((uuid(f, "id")?, text(f, "key")?)))
            .collect();
        for link in r.rows("core", "rolePermissionFlag").await? {
            if let (Some(role), Some(key)) = (
                uuid(&link, "roleId"),
                uuid(&link, "permissionFlagId").and_then(|f| keys.get(&f)),
            ) {
                flags.push((role, key.clone()));
            }
        }
    } else {
        for f in catalogue {
            if let (Some(role), Some(flag)) = (uuid(&f, "roleId"), text(&f, "flag")) {
                flags.push((role, flag));
            }
        }
        for s in r.rows("core", "settingPermission").await? {
            if let (Some(role), Some(setting)) = (uuid(&s, "roleId"), text(&s, "setting")) {
                flags.push((role, setting));
            }
        }
    }
    let mut roles = Vec::new();
    let mut labels = HashMap::new();
    for row in r
        .rows_any(&[("core", "role"), ("metadata", "role")])
        .await?
    {
        let (Some(id), Some(label)) = (uuid(&row, "id"), text(&row, "label")) else {
            continue;
        };
        labels.insert(id, label.clone());
        let mine = |p: &Row| uuid(p, "roleId") == Some(id);
        let mut object_permissions: Vec<ObjectPermission> = objects
            .iter()
            .filter(|p| mine(p))
            .filter_map(|p| {
                Some(ObjectPermission {
                    object: r.object(uuid(p, "objectMetadataId"))?,
                    can_read: boolean(p, "canReadObjectRecords"),
                    can_update: boolean(p, "canUpdateObjectRecords"),
                    can_soft_delete: boolean(p, "canSoftDeleteObjectRecords"),
                    can_destroy: boolean(p, "canDestroyObjectRecords"),
                })
            })
            .collect();
        object_permissions.sort_by(|a, b| a.object.cmp(&b.object));
        let mut field_permissions: Vec<_> = fields
            .iter()
            .filter(|p| mine(p))
            .filter_map(|p| {
                Some(crate::model::config::FieldPermission {
                    field: r.field(uuid(p, "fieldMetadataId"))?,
                    can_read: boolean(p, "canReadFieldValue"),
                    can_update: boolean(p, "canUpdateFieldValue"),
                })
            })
            .collect();
        field_permissions.sort_by(|a, b| a.field.cmp(&b.field));
        let role_flags: BTreeSet<String> = flags
            .iter()
            .filter(|(role, _)| *role == id)
            .map(|(_, f)| f.clone())
            .collect();
        roles.push(Role {
            id,
            label,
            description: text(&row, "description"),
            icon: text(&row, "icon"),
            is_editable: boolean(&row, "isEditable").unwrap_or(true),
            is_standard: r.is_standard(&row),
            switches: ROLE_SWITCHES
                .iter()
                .filter_map(|s| Some(((*s).to_owned(), boolean(&row, s)?)))
                .collect(),
            object_permissions,
            field_permissions,
            flags: role_flags.into_iter().collect(),
            row_level_permissions: Vec::new(),
        });
    }
    roles.sort_by(|a, b| a.label.cmp(&b.label));
    Ok((roles, labels))
}

async fn read_webhooks(r: &Reader<'_>) -> Result<Vec<Webhook>, SourceError> {
    let rows = r
        .rows_any(&[("core", "webhook"), (&r.schema, "webhook")])
        .await?;
    let mut out: Vec<Webhook> = rows
        .iter()
        .filter_map(|w| {
            Some(Webhook {
                id: uuid(w, "id")?,
                target_url: text(w, "targetUrl")?,
                operations: match w.get("operations") {
                    Some(Value::Array(ops)) => ops
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_owned))
                        .collect(),
                    _ => vec!["*.*".to_owned()],
                },
                description: text(w, "description"),
                secret: text(w, "secret").unwrap_or_default(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.target_url, a.id).cmp(&(&b.target_url, b.id)));
    Ok(out)
}

async fn read_api_keys(
    r: &Reader<'_>,
    roles: &HashMap<Uuid, String>,
) -> Result<Vec<ApiKey>, SourceError> {
    let rows = r
        .rows_any(&[("core", "apiKey"), (&r.schema, "apiKey")])
        .await?;
    let mut out: Vec<ApiKey> = rows
        .iter()
        .filter_map(|k| {
            let id = uuid(k, "id")?;
            Some(ApiKey {
                id,
                name: text(k, "name")?,
                expires_at: timestamp(k, "expiresAt").unwrap_or_default(),
                revoked_at: timestamp(k, "revokedAt"),
                role: roles.get(&id).cloned(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(out)
}

async fn read_navigation(r: &Reader<'_>) -> Result<Vec<NavigationItem>, SourceError> {
    let mut out = if r.has("core", "navigationMenuItem") {
        read_navigation_items(r).await?
    } else {
        read_favorites(r).await?
    };
    // Workspace-level items first, then per member; folders before what they hold.
    out.sort_by(|a, b| {
        (&a.owner_email, a.folder.is_some(), a.position, a.id)
            .partial_cmp(&(&b.owner_email, b.folder.is_some(), b.position, b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(out)
}

/// Before 1.17: the workspace tables `favoriteFolder` (each a workspace-level FOLDER item) and
/// `favorite` (a member's VIEW item, or RECORD item on its one `<object>Id` column), as
/// `upgrade:1-17:migrate-favorites-to-navigation-menu-items` maps them; unlike that command,
/// folders are not also copied per member.
async fn read_favorites(r: &Reader<'_>) -> Result<Vec<NavigationItem>, SourceError> {
    let emails: HashMap<Uuid, String> = r
        .rows(&r.schema, "workspaceMember")
        .await?
        .iter()
        .filter_map(|m| Some((uuid(m, "id")?, text(m, "userEmail")?.to_lowercase())))
        .collect();
    let item = |id, kind: &str, position| NavigationItem {
        id,
        owner_email: None,
        kind: kind.to_owned(),
        target_record: None,
        target_object: None,
        view: None,
        folder: None,
        name: None,
        link: None,
        icon: None,
        color: None,
        position,
    };
    let mut out = Vec::new();
    for f in r.rows(&r.schema, "favoriteFolder").await? {
        let Some(id) = uuid(&f, "id") else { continue };
        out.push(NavigationItem {
            name: text(&f, "name"),
            ..item(id, "FOLDER", number(&f, "position").unwrap_or(0.0))
        });
    }
    const NOT_TARGETS: [&str; 5] = [
        "forWorkspaceMemberId",
        "favoriteFolderId",
        "viewId",
        "createdByWorkspaceMemberId",
        "updatedByWorkspaceMemberId",
    ];
    for f in r.rows(&r.schema, "favorite").await? {
        let Some(id) = uuid(&f, "id") else { continue };
        let owner_email = match uuid(&f, "forWorkspaceMemberId") {
            Some(m) => match emails.get(&m) {
                Some(e) => Some(e.clone()),
                None => continue,
            },
            None => None,
        };
        let view = uuid(&f, "viewId");
        // A record favorite has one `<relation>Id` column set; the relation is named after
        // its target object.
        let target = f.iter().find_map(|(column, value)| {
            let relation = column.strip_suffix("Id")?;
            if NOT_TARGETS.contains(&column.as_str()) || value.is_null() {
                return None;
            }
            let object = r.objects.values().find(|o| o.as_str() == relation)?.clone();
            Some((object, Uuid::parse_str(value.as_str()?).ok()?))
        });
        let position = number(&f, "position").unwrap_or(0.0);
        let base = NavigationItem {
            owner_email,
            folder: uuid(&f, "favoriteFolderId"),
            ..item(id, "VIEW", position)
        };
        out.push(match (view, target) {
            (Some(view), _) => NavigationItem {
                view: Some(view),
                ..base
            },
            (None, Some((object, record))) => NavigationItem {
                kind: "RECORD".into(),
                target_object: Some(object),
                target_record: Some(record),
                ..base
            },
            (None, None) => continue,
        });
    }
    Ok(out)
}

/// `core."navigationMenuItem"` (1.17+).
async fn read_navigation_items(r: &Reader<'_>) -> Result<Vec<NavigationItem>, SourceError> {
    let out: Vec<NavigationItem> = r
        .rows("core", "navigationMenuItem")
        .await?
        .iter()
        .filter_map(|n| {
            let target_record = uuid(n, "targetRecordId");
            let target_object = r.object(uuid(n, "targetObjectMetadataId"));
            let view = uuid(n, "viewId");
            let link = text(n, "link");
            // upgrade:1-20:backfill-navigation-menu-item-type, for rows without a type.
            let kind = text(n, "type").unwrap_or_else(|| {
                if target_record.is_some() {
                    "RECORD"
                } else if target_object.is_some() {
                    "OBJECT"
                } else if view.is_some() {
                    "VIEW"
                } else if link.is_some() {
                    "LINK"
                } else {
                    "FOLDER"
                }
                .to_owned()
            });
            // A personal item of a member the source no longer has is left out.
            let owner_email = match uuid(n, "userWorkspaceId") {
                Some(u) => Some(r.email(u)?),
                None => None,
            };
            Some(NavigationItem {
                id: uuid(n, "id")?,
                owner_email,
                kind,
                target_record,
                target_object,
                view,
                folder: uuid(n, "folderId"),
                name: text(n, "name"),
                link,
                icon: text(n, "icon"),
                color: text(n, "color"),
                position: number(n, "position").unwrap_or(0.0),
            })
        })
        .collect();
    Ok(out)
}
