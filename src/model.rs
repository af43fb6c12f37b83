//! The workspace data model (objects, fields, relations) shared by the source reader, the
//! planner and the transform. The source fills it from Twenty's own metadata tables; nothing
//! here hard-codes a standard object's columns.

pub mod config;
pub mod names;

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

/// A Twenty field type, as stored in `fieldMetadata.type`.
///
/// Source: `packages/twenty-shared/src/types/FieldMetadataType.ts` (twentyhq/twenty). The
/// rich-text types changed meaning in 1.20 (`upgrade:1-20:migrate-rich-text-to-text`): before it,
/// `RICH_TEXT` was a single text column and `RICH_TEXT_V2` the blocknote/markdown composite;
/// from 1.20 `RICH_TEXT` is the composite. The source reader decides by the columns it finds and
/// stores the result as [`FieldType::RichText`] (composite) or [`FieldType::Text`] (one column).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    /// `UUID`: a uuid column.
    Uuid,
    /// `TEXT`: a text column.
    Text,
    /// `PHONES`: composite.
    Phones,
    /// `EMAILS`: composite.
    Emails,
    /// `DATE_TIME`: timestamptz.
    DateTime,
    /// `DATE`: date.
    Date,
    /// `BOOLEAN`.
    Boolean,
    /// `NUMBER`: double precision (or int/bigint per settings).
    Number,
    /// `NUMERIC`: numeric.
    Numeric,
    /// `LINKS`: composite.
    Links,
    /// `CURRENCY`: composite.
    Currency,
    /// `FULL_NAME`: composite.
    FullName,
    /// `RATING`: an enum column with values `RATING_1`..`RATING_5`.
    Rating,
    /// `SELECT`: an enum column.
    Select,
    /// `MULTI_SELECT`: an enum array column.
    MultiSelect,
    /// `RELATION`: a join column on the MANY_TO_ONE side, none on the ONE_TO_MANY side.
    Relation,
    /// `MORPH_RELATION`: one join column per target object (≥1.17 activity targets).
    MorphRelation,
    /// `POSITION`: double precision.
    Position,
    /// `ADDRESS`: composite.
    Address,
    /// `RAW_JSON`: jsonb.
    RawJson,
    /// Rich text as the blocknote/markdown composite (`RICH_TEXT_V2`, or `RICH_TEXT` from 1.20).
    RichText,
    /// `ACTOR`: composite (createdBy/updatedBy).
    Actor,
    /// `ARRAY`: text[].
    Array,
    /// `TS_VECTOR`: a generated column, never written.
    TsVector,
    /// `FILES`: jsonb array of `{fileId, label, extension?}` (≥1.18).
    Files,
    /// A type this tool does not know; carried so that `inspect` can show it.
    Other(String),
}

impl FieldType {
    /// Maps a `fieldMetadata.type` value. `RICH_TEXT` is read as the composite here; the source
    /// reader downgrades it to [`FieldType::Text`] when the table has a single column for it.
    pub fn from_metadata(name: &str) -> Self {
        match name {
            "UUID" => Self::Uuid,
            "TEXT" => Self::Text,
            "PHONES" => Self::Phones,
            "EMAILS" => Self::Emails,
            "DATE_TIME" => Self::DateTime,
            "DATE" => Self::Date,
            "BOOLEAN" => Self::Boolean,
            "NUMBER" => Self::Number,
            "NUMERIC" => Self::Numeric,
            "LINKS" => Self::Links,
            "CURRENCY" => Self::Currency,
            "FULL_NAME" => Self::FullName,
            "RATING" => Self::Rating,
            "SELECT" => Self::Select,
            "MULTI_SELECT" => Self::MultiSelect,
            "RELATION" => Self::Relation,
            "MORPH_RELATION" => Self::MorphRelation,
            "POSITION" => Self::Position,
            "ADDRESS" => Self::Address,
            "RAW_JSON" => Self::RawJson,
            "RICH_TEXT" | "RICH_TEXT_V2" => Self::RichText,
            "ACTOR" => Self::Actor,
            "ARRAY" => Self::Array,
            "TS_VECTOR" => Self::TsVector,
            "FILES" => Self::Files,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name the current Twenty API uses for this type.
    pub fn api_name(&self) -> &str {
        match self {
            Self::Uuid => "UUID",
            Self::Text => "TEXT",
            Self::Phones => "PHONES",
            Self::Emails => "EMAILS",
            Self::DateTime => "DATE_TIME",
            Self::Date => "DATE",
            Self::Boolean => "BOOLEAN",
            Self::Number => "NUMBER",
            Self::Numeric => "NUMERIC",
            Self::Links => "LINKS",
            Self::Currency => "CURRENCY",
            Self::FullName => "FULL_NAME",
            Self::Rating => "RATING",
            Self::Select => "SELECT",
            Self::MultiSelect => "MULTI_SELECT",
            Self::Relation => "RELATION",
            Self::MorphRelation => "MORPH_RELATION",
            Self::Position => "POSITION",
            Self::Address => "ADDRESS",
            Self::RawJson => "RAW_JSON",
            Self::RichText => "RICH_TEXT",
            Self::Actor => "ACTOR",
            Self::Array => "ARRAY",
            Self::TsVector => "TS_VECTOR",
            Self::Files => "FILES",
            Self::Other(name) => name,
        }
    }

    /// The sub-fields of a composite type, in Twenty's definition order; `None` for scalars.
    ///
    /// Source: `packages/twenty-shared/src/types/composite-types/*.composite-type.ts` and
    /// `packages/twenty-shared/src/constants/CompositeFieldTypeSubFieldsNames.ts`.
    pub fn sub_fields(&self) -> Option<&'static [SubField]> {
        use SubKind::*;
        const fn s(name: &'static str, kind: SubKind) -> SubField {
            SubField { name, kind }
        }
        static FULL_NAME: [SubField; 2] = [s("firstName", Text), s("lastName", Text)];
        static LINKS: [SubField; 3] = [
            s("primaryLinkLabel", Text),
            s("primaryLinkUrl", Text),
            s("secondaryLinks", Json),
        ];
        static EMAILS: [SubField; 2] = [s("primaryEmail", Text), s("additionalEmails", Json)];
        static PHONES: [SubField; 4] = [
            s("primaryPhoneNumber", Text),
            s("primaryPhoneCountryCode", Text),
            s("primaryPhoneCallingCode", Text),
            s("additionalPhones", Json),
        ];
        static ADDRESS: [SubField; 8] = [
            s("addressStreet1", Text),
            s("addressStreet2", Text),
            s("addressCity", Text),
            s("addressPostcode", Text),
            s("addressState", Text),
            s("addressCountry", Text),
            s("addressLat", Numeric),
            s("addressLng", Numeric),
        ];
        static CURRENCY: [SubField; 2] = [s("amountMicros", Numeric), s("currencyCode", Text)];
        static ACTOR: [SubField; 4] = [
            s("source", Enum),
            s("workspaceMemberId", Uuid),
            s("name", Text),
            s("context", Json),
        ];
        static RICH_TEXT: [SubField; 2] = [s("blocknote", Text), s("markdown", Text)];
        match self {
            Self::FullName => Some(&FULL_NAME),
            Self::Links => Some(&LINKS),
            Self::Emails => Some(&EMAILS),
            Self::Phones => Some(&PHONES),
            Self::Address => Some(&ADDRESS),
            Self::Currency => Some(&CURRENCY),
            Self::Actor => Some(&ACTOR),
            Self::RichText => Some(&RICH_TEXT),
            _ => None,
        }
    }
}

/// One sub-field of a composite type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubField {
    /// The API name, e.g. `primaryEmail`.
    pub name: &'static str,
    /// What the column holds.
    pub kind: SubKind,
}

impl SubField {
    /// The column that stores this sub-field of `field`: the field name followed by the
    /// sub-field name with its first letter upper-cased (`emails` + `primaryEmail` →
    /// `emailsPrimaryEmail`). Source: `computeCompositeColumnName` in
    /// `packages/twenty-server/src/engine/metadata-modules/field-metadata/utils/compute-column-name.util.ts`.
    pub fn column(&self, field: &str) -> String {
        composite_column(field, self.name)
    }
}

/// Builds a composite column name from a field and a sub-field name.
pub fn composite_column(field: &str, sub_field: &str) -> String {
    let mut out = String::with_capacity(field.len() + sub_field.len());
    out.push_str(field);
    let mut chars = sub_field.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
    out
}

/// The storage class of a composite sub-field column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SubKind {
    /// text
    Text,
    /// numeric
    Numeric,
    /// jsonb
    Json,
    /// uuid
    Uuid,
    /// an enum type
    Enum,
}

/// The direction of a relation field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RelationKind {
    /// This side owns the join column.
    ManyToOne,
    /// The other side owns the join column; nothing is stored here.
    OneToMany,
}

/// The relation part of a RELATION or MORPH_RELATION field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relation {
    /// Which side this field is.
    pub kind: RelationKind,
    /// `relationTargetObjectMetadataId`.
    pub target_object_id: Uuid,
    /// The target object's `nameSingular`, resolved after all objects are read.
    pub target_object: String,
    /// The join column on this table (MANY_TO_ONE only).
    pub join_column: Option<String>,
}

/// One physical column of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The composite sub-field it stores, if any.
    pub sub_field: Option<String>,
    /// `information_schema.columns.udt_name`, e.g. `text`, `uuid`, `_company_tags_enum`.
    pub udt_name: String,
    /// The SQL the source reads instead of the bare column, when an older layout stores the
    /// value differently (e.g. pre-1.10 attachment `type` labels mapped to `fileCategory`
    /// values); it yields the value the current field holds. `None` reads the column as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_expr: Option<String>,
}

/// A field of an object as the source describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// `fieldMetadata.id`.
    pub id: Uuid,
    /// API name, e.g. `domainName`.
    pub name: String,
    /// UI label.
    pub label: String,
    /// The resolved type.
    pub field_type: FieldType,
    /// The type string as stored in metadata (e.g. `RICH_TEXT_V2`).
    pub metadata_type: String,
    /// User-created (including custom fields on standard objects).
    pub is_custom: bool,
    /// Internal field (id, createdAt, position, …).
    pub is_system: bool,
    /// Inactive fields may still have their columns.
    pub is_active: bool,
    /// Nullability as declared.
    pub is_nullable: bool,
    /// Uniqueness as declared.
    pub is_unique: bool,
    /// `fieldMetadata.defaultValue`.
    pub default_value: Option<serde_json::Value>,
    /// `fieldMetadata.options` (SELECT, MULTI_SELECT, RATING).
    pub options: Option<serde_json::Value>,
    /// `fieldMetadata.settings`.
    pub settings: Option<serde_json::Value>,
    /// Relation details for RELATION / MORPH_RELATION fields.
    pub relation: Option<Relation>,
    /// The columns that exist for this field in the table (empty for ONE_TO_MANY sides).
    pub columns: Vec<Column>,
}

/// An object (one table in the workspace schema).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    /// `objectMetadata.id`.
    pub id: Uuid,
    /// e.g. `company`.
    pub name_singular: String,
    /// e.g. `companies`; the REST path segment.
    pub name_plural: String,
    /// UI label, singular.
    pub label_singular: String,
    /// UI label, plural.
    pub label_plural: String,
    /// User-created object (table `_<nameSingular>`).
    pub is_custom: bool,
    /// Internal object (noteTarget, attachment, …).
    pub is_system: bool,
    /// Inactive objects may still have a table.
    pub is_active: bool,
    /// Remote (foreign-table) object; never migrated.
    pub is_remote: bool,
    /// The table name in the workspace schema.
    pub table: String,
    /// Whether the table exists in the schema.
    pub table_exists: bool,
    /// Fields in metadata order (by name).
    pub fields: Vec<Field>,
    /// Columns of the table that no field accounts for.
    pub unmapped_columns: Vec<String>,
}

impl Object {
    /// The field with this API name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A whole workspace's data model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Model {
    /// Objects ordered by `nameSingular`.
    pub objects: Vec<Object>,
}

impl Model {
    /// The object with this `nameSingular`.
    pub fn object(&self, name_singular: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.name_singular == name_singular)
    }

    /// The object with this metadata id.
    pub fn object_by_id(&self, id: Uuid) -> Option<&Object> {
        self.objects.iter().find(|o| o.id == id)
    }
}

/// The table that holds an object's records: `nameSingular` for standard objects,
/// `_<nameSingular>` for custom ones. Source: `packages/twenty-server/src/engine/utils/compute-table-name.util.ts`.
pub fn table_name(name_singular: &str, is_custom: bool) -> String {
    if is_custom {
        format!("_{name_singular}")
    } else {
        name_singular.to_owned()
    }
}

/// The schema name Twenty derives from a workspace id: `workspace_` + the id as a lower-case
/// base-36 number without padding. Source:
/// `packages/twenty-server/src/engine/workspace-datasource/utils/get-workspace-schema-name.util.ts`
/// and `uuidToBase36` in twenty-shared. Readers prefer `core.workspace."databaseSchema"`; this is
/// used to build fixtures and to cross-check.
pub fn workspace_schema_name(workspace_id: Uuid) -> String {
    let mut n = workspace_id.as_u128();
    if n == 0 {
        return "workspace_0".to_owned();
    }
    let mut digits = Vec::with_capacity(25);
    while n > 0 {
        let d = (n % 36) as u8;
        digits.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        n /= 36;
    }
    digits.reverse();
    format!("workspace_{}", String::from_utf8_lossy(&digits))
}

/// Quotes a SQL identifier (`"` doubled), for names that come from metadata.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Description and icon of an object or field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Presentation {
    /// `description`.
    pub description: Option<String>,
    /// `icon`, e.g. `IconPet`.
    pub icon: Option<String>,
}

/// The source details the sync carries over, by metadata id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceDetails {
    /// Per object id.
    pub objects: HashMap<Uuid, Presentation>,
    /// Per field id.
    pub fields: HashMap<Uuid, Presentation>,
    /// Field id → `relationTargetFieldMetadataId` (the inverse side of a relation).
    pub inverse: HashMap<Uuid, Uuid>,
}

impl SourceDetails {
    /// The presentation of an object (empty when unknown).
    pub fn object(&self, id: Uuid) -> Presentation {
        self.objects.get(&id).cloned().unwrap_or_default()
    }

    /// The presentation of a field (empty when unknown).
    pub fn field(&self, id: Uuid) -> Presentation {
        self.fields.get(&id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_columns_capitalise_the_sub_field() {
        assert_eq!(
            composite_column("emails", "primaryEmail"),
            "emailsPrimaryEmail"
        );
        assert_eq!(
            composite_column("address", "addressLat"),
            "addressAddressLat"
        );
        assert_eq!(composite_column("bodyV2", "blocknote"), "bodyV2Blocknote");
    }

    #[test]
    fn schema_name_of_the_zero_uuid_is_zero() {
        assert_eq!(workspace_schema_name(Uuid::nil()), "workspace_0");
    }

    #[test]
    fn schema_name_is_base36_of_the_uuid() {
        // 36^1 = 36 → "10"; the max uuid is 2^128-1 → "f5lxx1zz5pnorynqglhzmsp33".
        let id = Uuid::from_u128(36);
        assert_eq!(workspace_schema_name(id), "workspace_10");
        assert_eq!(
            workspace_schema_name(Uuid::max()),
            "workspace_f5lxx1zz5pnorynqglhzmsp33"
        );
    }

    #[test]
    fn quoting_doubles_embedded_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn rich_text_v2_and_current_rich_text_are_the_same_composite() {
        assert_eq!(
            FieldType::from_metadata("RICH_TEXT_V2"),
            FieldType::RichText
        );
        assert_eq!(FieldType::from_metadata("RICH_TEXT"), FieldType::RichText);
        assert_eq!(FieldType::RichText.sub_fields().unwrap().len(), 2);
    }
}
