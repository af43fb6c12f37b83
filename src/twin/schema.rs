//! The twin's data model: objects and fields as Twenty's metadata describes them, starting from
//! the standard objects of Twenty 2.x (embedded JSON) and growing through `/metadata`.

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The standard objects and fields of Twenty 2.x, trimmed from the project's reference
/// (`standard-model-2x.json`, itself read from
/// `packages/twenty-shared/src/metadata/constants/standard-object.constant.ts` and the
/// `compute-*-standard-flat-field-metadata.util.ts` files).
const STANDARD_MODEL: &str = include_str!("standard_model.json");

/// Which side of a relation a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// Holds the join column.
    ManyToOne,
    /// The inverse side: not writable.
    OneToMany,
}

impl RelationKind {
    /// Twenty's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ManyToOne => "MANY_TO_ONE",
            Self::OneToMany => "ONE_TO_MANY",
        }
    }
}

/// A relation field's other end.
#[derive(Debug, Clone)]
pub struct RelationMeta {
    /// This side's kind.
    pub kind: RelationKind,
    /// The target object's `nameSingular`.
    pub target_object: String,
    /// The inverse field's name on the target object.
    pub target_field: String,
    /// The join column (MANY_TO_ONE only), `{field}Id`.
    pub join_column: Option<String>,
}

/// One field of an object.
#[derive(Debug, Clone)]
pub struct FieldMeta {
    /// Metadata id.
    pub id: Uuid,
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// `FieldMetadataType` name.
    pub field_type: String,
    /// Whether null is allowed.
    pub is_nullable: bool,
    /// System field (id, createdAt, …).
    pub is_system: bool,
    /// Carries a unique index.
    pub is_unique: bool,
    /// Created through `/metadata`.
    pub is_custom: bool,
    /// Default value as metadata stores it.
    pub default_value: Option<Value>,
    /// SELECT/MULTI_SELECT/RATING options.
    pub options: Option<Value>,
    /// Type settings.
    pub settings: Option<Value>,
    /// Relation end, for RELATION and MORPH_RELATION.
    pub relation: Option<RelationMeta>,
    /// `description`, as created through `/metadata`.
    pub description: Option<String>,
    /// `icon`, as created through `/metadata`.
    pub icon: Option<String>,
}

impl FieldMeta {
    /// The option values of a SELECT/MULTI_SELECT/RATING field.
    pub fn option_values(&self) -> Vec<String> {
        if self.field_type == "RATING" && self.options.is_none() {
            return (1..=5).map(|i| format!("RATING_{i}")).collect();
        }
        self.options
            .as_ref()
            .and_then(Value::as_array)
            .map(|options| {
                options
                    .iter()
                    .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The join column when this is the MANY_TO_ONE side of a relation.
    pub fn join_column(&self) -> Option<&str> {
        self.relation
            .as_ref()
            .filter(|r| r.kind == RelationKind::ManyToOne)
            .and_then(|r| r.join_column.as_deref())
    }
}

/// One object (a record table).
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    /// Metadata id.
    pub id: Uuid,
    /// Universal identifier (standard objects) or the id.
    pub universal_identifier: Uuid,
    /// Singular API name.
    pub name_singular: String,
    /// Plural API name (REST path).
    pub name_plural: String,
    /// Singular label.
    pub label_singular: String,
    /// Plural label.
    pub label_plural: String,
    /// Created through `/metadata`.
    pub is_custom: bool,
    /// System object.
    pub is_system: bool,
    /// Name of the label-identifier field.
    pub label_identifier: Option<String>,
    /// Fields in order.
    pub fields: Vec<FieldMeta>,
    /// `description`, as created through `/metadata`.
    pub description: Option<String>,
    /// `icon`, as created through `/metadata`.
    pub icon: Option<String>,
}

impl ObjectMeta {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The MANY_TO_ONE field whose join column is `column`.
    pub fn field_by_join_column(&self, column: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.join_column() == Some(column))
    }

    /// The unique groups used for duplicate checks and upsert matching, besides `id`: one per
    /// unique field, as `(field, sub-field)`. Composite fields take part through their
    /// unique-constraint sub-field (`emails.primaryEmail`, `domainName.primaryLinkUrl`,
    /// `phones.primaryPhoneNumber`), mirroring
    /// `packages/twenty-server/src/engine/api/common/common-query-runners/utils/get-conflicting-fields.util.ts`.
    pub fn unique_groups(&self) -> Vec<(String, Option<&'static str>)> {
        self.fields
            .iter()
            .filter(|f| f.is_unique && f.name != "id")
            .filter_map(|f| {
                let sub = match f.field_type.as_str() {
                    "EMAILS" => Some("primaryEmail"),
                    "LINKS" => Some("primaryLinkUrl"),
                    "PHONES" => Some("primaryPhoneNumber"),
                    "FULL_NAME" | "ADDRESS" | "CURRENCY" | "ACTOR" | "RICH_TEXT" | "RELATION"
                    | "MORPH_RELATION" => return None,
                    _ => None,
                };
                Some((f.name.clone(), sub))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct ModelFile {
    objects: Vec<ModelObject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelObject {
    name_singular: String,
    name_plural: String,
    label_singular: String,
    label_plural: String,
    #[serde(default)]
    is_system: bool,
    universal_identifier: Option<Uuid>,
    label_identifier: Option<String>,
    fields: Vec<ModelField>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelField {
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    label: String,
    #[serde(default = "yes")]
    is_nullable: bool,
    #[serde(default)]
    is_system: bool,
    #[serde(default)]
    is_unique: bool,
    default_value: Option<Value>,
    options: Option<Value>,
    settings: Option<Value>,
    relation_target: Option<ModelRelationTarget>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelRelationTarget {
    object: String,
    inverse_field: String,
}

fn yes() -> bool {
    true
}

/// A stable id shaped like a uuid v4 (version nibble 4, RFC variant), derived from a name, so
/// that metadata and member ids are the same on every start.
pub fn stable_id(kind: &str, name: &str) -> Uuid {
    let v5 = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("twin:{kind}:{name}").as_bytes(),
    );
    let mut bytes = *v5.as_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The workspace's data model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Objects in creation order.
    pub objects: Vec<ObjectMeta>,
}

impl Model {
    /// The standard model of Twenty 2.x.
    pub fn standard() -> Self {
        // The embedded file is part of the crate and checked by a unit test, so a parse
        // failure here is a build defect, not bad input.
        let file: ModelFile = serde_json::from_str(STANDARD_MODEL).unwrap_or(ModelFile {
            objects: Vec::new(),
        });
        let objects = file
            .objects
            .into_iter()
            .map(|o| {
                let fields = o
                    .fields
                    .into_iter()
                    .map(|f| {
                        let relation = f.relation_target.map(|t| {
                            let kind = match f
                                .settings
                                .as_ref()
                                .and_then(|s| s.get("relationType"))
                                .and_then(Value::as_str)
                            {
                                Some("MANY_TO_ONE") => RelationKind::ManyToOne,
                                _ => RelationKind::OneToMany,
                            };
                            let join_column = (kind == RelationKind::ManyToOne).then(|| {
                                f.settings
                                    .as_ref()
                                    .and_then(|s| s.get("joinColumnName"))
                                    .and_then(Value::as_str)
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| format!("{}Id", f.name))
                            });
                            RelationMeta {
                                kind,
                                target_object: t.object,
                                target_field: t.inverse_field,
                                join_column,
                            }
                        });
                        FieldMeta {
                            id: stable_id("field", &format!("{}.{}", o.name_singular, f.name)),
                            name: f.name,
                            label: f.label,
                            field_type: f.field_type,
                            is_nullable: f.is_nullable,
                            is_system: f.is_system,
                            is_unique: f.is_unique,
                            is_custom: false,
                            default_value: f.default_value,
                            options: f.options,
                            settings: f.settings,
                            relation,
                            description: None,
                            icon: None,
                        }
                    })
                    .collect();
                let id = stable_id("object", &o.name_singular);
                ObjectMeta {
                    id,
                    universal_identifier: o.universal_identifier.unwrap_or(id),
                    name_singular: o.name_singular,
                    name_plural: o.name_plural,
                    label_singular: o.label_singular,
                    label_plural: o.label_plural,
                    is_custom: false,
                    is_system: o.is_system,
                    label_identifier: o.label_identifier,
                    fields,
                    description: None,
                    icon: None,
                }
            })
            .collect();
        Self { objects }
    }

    /// Shapes the standard model for a file generation. Before Files v2 the attachment has
    /// no FILES `file` (its path is in `fullPath`, its kind in `fileCategory`) and a person no
    /// `avatarFile` (its picture path is in `avatarUrl`):
    /// `packages/twenty-server/src/modules/attachment/standard-objects/attachment.workspace-entity.ts`
    /// and `.../person/standard-objects/person.workspace-entity.ts` before 1.18.
    pub fn set_files_generation(&mut self, generation: super::FilesGeneration) {
        if generation == super::FilesGeneration::V2 {
            return;
        }
        let mut gone = vec![("attachment", "file"), ("person", "avatarFile")];
        // `fileCategory` arrived in 1.10 (`packages/twenty-server/src/database/commands/
        // upgrade-version-command/1-10/1-10-migrate-attachment-type-to-file-category.command.ts`).
        if generation == super::FilesGeneration::Old {
            gone.push(("attachment", "fileCategory"));
        }
        for (object, field) in gone {
            if let Some(o) = self.objects.iter_mut().find(|o| o.name_singular == object) {
                o.fields.retain(|f| f.name != field);
            }
        }
    }

    /// The object with this plural name (REST path segment).
    pub fn by_plural(&self, plural: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.name_plural == plural)
    }

    /// The object with this singular name.
    pub fn by_singular(&self, singular: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.name_singular == singular)
    }

    /// The object with this metadata id.
    pub fn by_id(&self, id: Uuid) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// The object and field owning this field metadata id.
    pub fn field_by_id(&self, id: Uuid) -> Option<(&ObjectMeta, &FieldMeta)> {
        self.objects
            .iter()
            .find_map(|o| o.fields.iter().find(|f| f.id == id).map(|f| (o, f)))
    }

    /// Adds a custom object with the fields every custom object gets: the system fields and a
    /// `name` TEXT label identifier (as
    /// `packages/twenty-server/src/engine/metadata-modules/object-metadata/` builds them).
    pub fn add_custom_object(&mut self, input: NewObject) -> &ObjectMeta {
        let id = Uuid::new_v4();
        let mut fields = system_fields();
        fields.push(FieldMeta {
            id: Uuid::new_v4(),
            name: "name".into(),
            label: "Name".into(),
            field_type: "TEXT".into(),
            is_nullable: true,
            is_system: false,
            is_unique: false,
            is_custom: false,
            default_value: Some(json!("''")),
            options: None,
            settings: None,
            relation: None,
            description: None,
            icon: None,
        });
        self.objects.push(ObjectMeta {
            id,
            universal_identifier: id,
            name_singular: input.name_singular,
            name_plural: input.name_plural,
            label_singular: input.label_singular,
            label_plural: input.label_plural,
            is_custom: true,
            is_system: false,
            label_identifier: Some("name".into()),
            fields,
            description: None,
            icon: None,
        });
        let last = self.objects.len() - 1;
        &self.objects[last]
    }
}

/// What `createOneObject` asks for.
#[derive(Debug, Clone)]
pub struct NewObject {
    /// Singular name.
    pub name_singular: String,
    /// Plural name.
    pub name_plural: String,
    /// Singular label.
    pub label_singular: String,
    /// Plural label.
    pub label_plural: String,
}

fn system_fields() -> Vec<FieldMeta> {
    let actor_default = json!({"source": "MANUAL", "name": "System", "workspaceMemberId": null});
    let spec: [(&str, &str, &str, bool, Option<Value>); 8] = [
        ("id", "UUID", "Id", false, Some(json!("uuid"))),
        (
            "createdAt",
            "DATE_TIME",
            "Creation date",
            false,
            Some(json!("now")),
        ),
        (
            "updatedAt",
            "DATE_TIME",
            "Last update",
            false,
            Some(json!("now")),
        ),
        ("deletedAt", "DATE_TIME", "Deleted at", true, None),
        (
            "createdBy",
            "ACTOR",
            "Created by",
            false,
            Some(actor_default.clone()),
        ),
        (
            "updatedBy",
            "ACTOR",
            "Updated by",
            false,
            Some(actor_default),
        ),
        ("position", "POSITION", "Position", false, Some(json!(0))),
        ("searchVector", "TS_VECTOR", "Search vector", true, None),
    ];
    spec.into_iter()
        .map(
            |(name, field_type, label, is_nullable, default_value)| FieldMeta {
                id: Uuid::new_v4(),
                name: name.into(),
                label: label.into(),
                field_type: field_type.into(),
                is_nullable,
                is_system: true,
                is_unique: false,
                is_custom: false,
                default_value,
                options: None,
                settings: None,
                relation: None,
                description: None,
                icon: None,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_standard_model_parses_with_the_objects_a_migration_meets() {
        let file: ModelFile = serde_json::from_str(STANDARD_MODEL).expect("embedded model parses");
        assert!(file.objects.len() >= 15);
        let model = Model::standard();
        for plural in [
            "companies",
            "people",
            "opportunities",
            "notes",
            "tasks",
            "noteTargets",
            "taskTargets",
            "attachments",
            "workspaceMembers",
        ] {
            let object = model.by_plural(plural).expect(plural);
            for system in [
                "id",
                "createdAt",
                "updatedAt",
                "deletedAt",
                "createdBy",
                "position",
            ] {
                assert!(object.field(system).is_some(), "{plural}.{system}");
            }
        }
        let note_target = model.by_singular("noteTarget").expect("noteTarget");
        assert!(note_target
            .field_by_join_column("targetCompanyId")
            .is_some());
        assert!(note_target.field_by_join_column("noteId").is_some());
    }

    #[test]
    fn stable_ids_are_uuid_v4_shaped_and_repeatable() {
        let a = stable_id("member", "a@b.c");
        assert_eq!(a, stable_id("member", "a@b.c"));
        assert_eq!(a.get_version_num(), 4);
    }
}
