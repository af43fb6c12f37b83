//! What the client sends and returns: batch bodies, find-many queries and pages, the target's
//! data model, members, client config, uploaded files and request counters.

use bytes::Bytes;

use crate::model::{Field, FieldType, Model, Object, Relation, RelationKind};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// A batch of records serialized once as a JSON array, with its record count. Retries resend
/// these same bytes.
#[derive(Debug, Clone)]
pub struct BatchBody {
    bytes: Bytes,
    records: usize,
}

impl BatchBody {
    /// Wraps an already serialized JSON array of `records` objects.
    pub fn new(bytes: impl Into<Bytes>, records: usize) -> Self {
        Self {
            bytes: bytes.into(),
            records,
        }
    }

    /// Serializes `records` as a JSON array.
    pub fn from_values(records: &[Value]) -> Self {
        // Serializing a `Value` cannot fail: its map keys are strings.
        let bytes = serde_json::to_vec(records).unwrap_or_else(|_| b"[]".to_vec());
        Self::new(bytes, records.len())
    }

    /// The number of records in the batch.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The size of the body in bytes.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

/// The `id` of one record of a batch answer, when the target returned it as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedId(pub Option<String>);

impl ReturnedId {
    /// The id of a record returned in full.
    pub fn of(record: &Value) -> Self {
        Self(record.get("id").and_then(Value::as_str).map(str::to_owned))
    }
}

/// A find-many query (`GET /rest/{plural}`). Unset parameters are not sent.
#[derive(Debug, Clone, Default)]
pub struct FindMany {
    /// Page size; Twenty caps it silently at `QUERY_MAX_RECORDS`.
    pub limit: Option<u32>,
    /// The previous page's `end_cursor`.
    pub starting_after: Option<String>,
    /// A REST filter, e.g. `deletedAt[is]:NOT_NULL` or `id[in]:["…"]`.
    pub filter: Option<String>,
    /// A REST order, e.g. `createdAt[AscNullsFirst]`.
    pub order_by: Option<String>,
    /// Relation depth, 0 or 1.
    pub depth: Option<u8>,
}

/// One page of a find-many answer.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The records, as the target returned them.
    pub records: Vec<Value>,
    /// `totalCount` for the whole filter, when the target sent it.
    pub total_count: Option<u64>,
    /// `pageInfo.hasNextPage`.
    pub has_next_page: bool,
    /// `pageInfo.endCursor`, to pass as `starting_after`.
    pub end_cursor: Option<String>,
}

/// What `GET /client-config` says about the server (the fields this tool uses).
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// `appVersion`, e.g. `v2.1.0`; absent or null on older servers.
    pub app_version: Option<String>,
    /// `api.mutationMaximumAffectedRecords` (update/delete by filter cap).
    pub mutation_maximum_affected_records: Option<u64>,
    /// `isMultiWorkspaceEnabled` (true on Twenty Cloud).
    pub is_multi_workspace_enabled: Option<bool>,
    /// The whole answer, for whatever else a caller needs.
    pub raw: Value,
}

/// The target's data model, from the `/metadata` GraphQL `objects` query.
#[derive(Debug, Clone, Default)]
pub struct TargetModel {
    /// Every object, active or not.
    pub objects: Vec<TargetObject>,
}

impl TargetModel {
    /// The object with this singular name.
    pub fn object(&self, name_singular: &str) -> Option<&TargetObject> {
        self.objects
            .iter()
            .find(|o| o.name_singular == name_singular)
    }

    /// The target's metadata as the shared model (fields without columns).
    pub fn to_model(&self) -> Model {
        let objects = self
            .objects
            .iter()
            .map(|o| Object {
                id: o.id,
                name_singular: o.name_singular.clone(),
                name_plural: o.name_plural.clone(),
                label_singular: o.label_singular.clone().unwrap_or_default(),
                label_plural: o.label_plural.clone().unwrap_or_default(),
                // The target's metadata does not say (no `isCustom` since 2.x) and nothing
                // decides on it: custom-ness is read from the source.
                is_custom: false,
                is_system: o.is_system,
                is_active: o.is_active,
                is_remote: false,
                table: String::new(),
                table_exists: true,
                fields: o
                    .fields
                    .iter()
                    .map(|f| {
                        let field_type = FieldType::from_metadata(&f.field_type);
                        let relation = f.relation.as_ref().map(|r| {
                            let kind = if r.relation_type == "ONE_TO_MANY" {
                                RelationKind::OneToMany
                            } else {
                                RelationKind::ManyToOne
                            };
                            // Join column: settings.joinColumnName, else `<name>Id`
                            // (`compute-morph-or-relation-field-join-column-name.util.ts`).
                            let join_column = (kind == RelationKind::ManyToOne).then(|| {
                                f.settings
                                    .as_ref()
                                    .and_then(|s| s.get("joinColumnName"))
                                    .and_then(Value::as_str)
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| format!("{}Id", f.name))
                            });
                            Relation {
                                kind,
                                target_object_id: Uuid::nil(),
                                target_object: r
                                    .target_object_metadata
                                    .as_ref()
                                    .map(|t| t.name_singular.clone())
                                    .unwrap_or_default(),
                                join_column,
                            }
                        });
                        Field {
                            id: f.id,
                            name: f.name.clone(),
                            label: f.label.clone().unwrap_or_default(),
                            field_type,
                            metadata_type: f.field_type.clone(),
                            is_custom: false,
                            is_system: f.is_system,
                            is_active: f.is_active,
                            is_nullable: f.is_nullable.unwrap_or(true),
                            is_unique: f.is_unique.unwrap_or(false),
                            default_value: f.default_value.clone(),
                            options: f.options.clone(),
                            settings: f.settings.clone(),
                            relation,
                            columns: Vec::new(),
                        }
                    })
                    .collect(),
                unmapped_columns: Vec::new(),
            })
            .collect();
        Model { objects }
    }
}

/// One object of the target's data model.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetObject {
    /// Object metadata id.
    pub id: Uuid,
    /// e.g. `company`.
    pub name_singular: String,
    /// e.g. `companies`: the REST path segment.
    pub name_plural: String,
    /// Display label, singular.
    #[serde(default)]
    pub label_singular: Option<String>,
    /// Display label, plural.
    #[serde(default)]
    pub label_plural: Option<String>,
    /// Active (inactive objects reject writes).
    #[serde(default)]
    pub is_active: bool,
    /// A system object (hidden from users).
    #[serde(default)]
    pub is_system: bool,
    /// The fields, filled from either `fieldsList` or the `fields` connection.
    #[serde(skip)]
    pub fields: Vec<TargetField>,
}

impl TargetObject {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&TargetField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a target object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetField {
    /// Field metadata id (needed for file uploads and views).
    pub id: Uuid,
    /// e.g. `domainName`.
    pub name: String,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
    /// The field type as Twenty spells it, e.g. `LINKS`, `RELATION`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// Nullable; unknown when absent.
    #[serde(default)]
    pub is_nullable: Option<bool>,
    /// Unique; unknown when absent.
    #[serde(default)]
    pub is_unique: Option<bool>,
    /// Active.
    #[serde(default)]
    pub is_active: bool,
    /// A system field (`id`, `createdAt`, `position`, …).
    #[serde(default)]
    pub is_system: bool,
    /// Default value as Twenty stores it.
    #[serde(default)]
    pub default_value: Option<Value>,
    /// SELECT / MULTI_SELECT options (`[{label, value, color, position}]`).
    #[serde(default)]
    pub options: Option<Value>,
    /// Type settings (number format, links variant, …).
    #[serde(default)]
    pub settings: Option<Value>,
    /// The relation, on RELATION fields.
    #[serde(default)]
    pub relation: Option<TargetRelation>,
}

/// A relation as the field metadata describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRelation {
    /// `MANY_TO_ONE` or `ONE_TO_MANY`.
    #[serde(rename = "type")]
    pub relation_type: String,
    /// The object on the other side.
    #[serde(default)]
    pub target_object_metadata: Option<RelationTarget>,
}

/// The other side of a relation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationTarget {
    /// Its singular name.
    pub name_singular: String,
}

/// A workspace member of the target (`GET /rest/workspaceMembers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetMember {
    /// The member id, to put in `accountOwnerId`, `createdBy.workspaceMemberId`, ….
    pub id: Uuid,
    /// The member's login email; matching is case-insensitive.
    pub user_email: Option<String>,
    /// First and last name joined by a space, when present.
    pub name: Option<String>,
    /// `avatarUrl`, when set (a 2.x server answers it signed, with `?token=`).
    pub avatar_url: Option<String>,
}

/// A file stored by the target (`uploadFilesFieldFile`), to reference from a FILES field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The file id: the `fileId` of a FILES value.
    pub id: String,
    /// The storage path, when the server returned one.
    pub path: Option<String>,
}

/// Counts of requests sent by this client since it was made (clones share them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Attempts sent (each took a rate-limit permit).
    pub requests: u64,
    /// Attempts answered with success.
    pub ok: u64,
    /// Attempts refused for the rate limit (429, or the older 400 `Limit reached`).
    pub rate_limited: u64,
    /// Attempts answered with a 5xx.
    pub server_errors: u64,
    /// Attempts answered with another 4xx (including refusals of bad records).
    pub client_errors: u64,
    /// Attempts that got no answer (timeout, refused, reset).
    pub network_errors: u64,
    /// Attempts that followed a failed attempt.
    pub retries: u64,
    /// Records in batch attempts sent, retries included.
    pub records_sent: u64,
    /// Records in batches the target confirmed.
    pub records_confirmed: u64,
}
