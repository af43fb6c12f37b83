//! `/metadata` GraphQL: list objects with their fields, create custom objects and fields, and
//! upload files for FILES fields (graphql-multipart-request-spec).
//!
//! Mirrors the DTOs of `packages/twenty-server/src/engine/metadata-modules/object-metadata/dtos/`
//! and `.../field-metadata/dtos/create-field.input.ts`, the front's metadata query (H1), and
//! `packages/twenty-server/src/engine/core-modules/file/files-field/resolvers/files-field.resolver.ts`.

use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, EmptySubscription, Enum, Error, ErrorExtensions, InputObject, Json,
    Object, Schema, SimpleObject, Upload, ID,
};
use async_graphql_axum::GraphQLRequest;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use regex::Regex;
use serde_json::{json, Value};
use uuid::Uuid;

use super::config::{ConfigMutation, ConfigQuery};
use super::direct_upload::{self, DirectUploadMutation};
use super::input::iso;
use super::schema::{FieldMeta, Model, NewObject, ObjectMeta, RelationKind, RelationMeta};
use super::store::Table;
use super::{lock, Shared, StoredFile};

type TwinSchema = Schema<Queries, Mutations, EmptySubscription>;

/// Every `/metadata` query: the data model's and the workspace configuration's.
#[derive(async_graphql::MergedObject)]
pub struct Queries(Query, ConfigQuery);

/// Every `/metadata` mutation: these, the direct-upload generation's and the workspace
/// configuration's.
#[derive(async_graphql::MergedObject)]
pub struct Mutations(
    Mutation,
    DirectUploadMutation,
    ConfigMutation,
    super::member_pictures::MemberPictureMutation,
);

/// The `/metadata` route.
pub(super) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let lacking = shared.config.lacking_field_types.clone();
    let schema: TwinSchema = Schema::build(
        Queries(Query, ConfigQuery::default()),
        Mutations(
            Mutation,
            DirectUploadMutation,
            ConfigMutation::default(),
            super::member_pictures::MemberPictureMutation,
        ),
        EmptySubscription,
    )
    .data(shared)
    .finish();
    Router::new().route(
        "/metadata",
        post(move |req: GraphQLRequest| {
            let schema = schema.clone();
            let lacking = lacking.clone();
            async move {
                let request = req.into_inner();
                if let Some(name) = duplicate_root_field(&request.query) {
                    return duplicate_root_answer(&name);
                }
                let mut response = schema.execute(request).await;
                if !lacking.is_empty() {
                    hide_field_types(&mut response, &lacking);
                }
                as_graphql_js(response)
            }
        }),
    )
}

/// An older server's `FieldMetadataType` has fewer values: introspection
/// (`__type(name: "FieldMetadataType")`) lists none of `lacking`, as a version without those
/// types (`packages/twenty-shared/src/types/FieldMetadataType.ts` of that version) would.
fn hide_field_types(response: &mut async_graphql::Response, lacking: &[String]) {
    let Ok(mut data) = serde_json::to_value(&response.data) else {
        return;
    };
    let mut changed = false;
    if let Some(Value::Array(values)) = data
        .get_mut("__type")
        .filter(|t| t["name"].as_str().is_none_or(|n| n == "FieldMetadataType"))
        .and_then(|t| t.get_mut("enumValues"))
    {
        let before = values.len();
        values.retain(|v| {
            !v["name"]
                .as_str()
                .is_some_and(|n| lacking.iter().any(|l| l == n))
        });
        changed = values.len() != before;
    }
    if changed {
        if let Ok(data) = async_graphql::Value::from_json(data) {
            response.data = data;
        }
    }
}

/// Renders an answer as Twenty's Apollo server (graphql-js) would: validation messages in
/// graphql-js wording (`Cannot query field "x" on type "Object".`, where async-graphql says
/// `Unknown field "x" on type "Object".`) and without `data`; a variable's bad enum value as
/// HTTP 400 `BAD_USER_INPUT`; resolver errors without `locations` and `path` (Twenty's error
/// formatter, `core-modules/graphql/utils/generate-graphql-error-from-error.util.ts`, keeps
/// message and extensions). Recorded from 2.21: `tests/conformance/twenty-2.21/metadata-*.json`.
fn as_graphql_js(response: async_graphql::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    static UNKNOWN_FIELD: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r#"^Unknown field "([^"]+)" on type "([^"]+)"\.?"#).expect("regex")
    });
    static BAD_ENUM: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r#"enumeration type "([^"]+)" does not contain the value "([^"]+)""#)
            .expect("regex")
    });
    let mut body = serde_json::to_value(&response).unwrap_or(Value::Null);
    let mut status = axum::http::StatusCode::OK;
    let mut validation = false;
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors.iter_mut() {
            let message = error["message"].as_str().unwrap_or("").to_owned();
            if let Some(c) = UNKNOWN_FIELD.captures(&message) {
                let rest = &message[c[0].len()..];
                error["message"] = json!(format!(
                    "Cannot query field \"{}\" on type \"{}\".{rest}",
                    &c[1], &c[2]
                ));
                validation = true;
            } else if let Some(c) = BAD_ENUM.captures(&message) {
                *error = json!({
                    "message": format!("Value \"{}\" does not exist in \"{}\" enum.", &c[2], &c[1]),
                    "extensions": {"code": "BAD_USER_INPUT", "http": {"status": 400},
                                   "userFriendlyMessage": "An error occurred."},
                });
                status = axum::http::StatusCode::BAD_REQUEST;
                validation = true;
            } else if error.get("path").is_some() {
                if let Some(e) = error.as_object_mut() {
                    e.remove("path");
                    e.remove("locations");
                }
            }
        }
    }
    if validation {
        if let Some(b) = body.as_object_mut() {
            b.remove("data");
        }
    }
    (status, axum::Json(body)).into_response()
}

/// The first root field a document names twice (aliases do not count: `a: getView … b:
/// getView` names `getView` twice), fragments followed one level down, over every operation
/// (`core-modules/graphql/hooks/use-validate-graphql-query-complexity.hook.ts:213-245`).
fn duplicate_root_field(query: &str) -> Option<String> {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let operations: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    let mut seen: Vec<String> = Vec::new();
    let mut pending: Vec<&async_graphql::parser::types::SelectionSet> = Vec::new();
    for op in operations {
        pending.push(&op.node.selection_set.node);
    }
    while let Some(set) = pending.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.to_string();
                    if seen.contains(&name) {
                        return Some(name);
                    }
                    seen.push(name);
                }
                Selection::InlineFragment(f) => pending.push(&f.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    if let Some(f) = doc.fragments.get(&spread.node.fragment_name.node) {
                        pending.push(&f.node.selection_set.node);
                    }
                }
            }
        }
    }
    None
}

/// The refusal of a document with a duplicate root field: `BAD_USER_INPUT`, no `data` (LIVE:
/// `tests/conformance/twenty-2.21/config-one-root-resolver-per-document.json`).
fn duplicate_root_answer(name: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = json!({"errors": [{
        "message": format!("Duplicate root resolver: \"{name}\""),
        "extensions": {"code": "BAD_USER_INPUT", "userFriendlyMessage": {
            "id": "UrzTjS",
            "message": "Duplicate root resolver found. Each root resolver can only be called once per document.",
        }},
    }]});
    (axum::http::StatusCode::OK, axum::Json(body)).into_response()
}

pub(super) fn user_error(message: impl Into<String>, code: &str) -> Error {
    let code = code.to_owned();
    Error::new(message).extend_with(|_, e| {
        e.set("code", "BAD_USER_INPUT");
        e.set("subCode", code.clone());
    })
}

/// A refusal of the 2.x metadata validation (`METADATA_VALIDATION_FAILED`): one summary message,
/// the reasons under `extensions.errors.fieldMetadata[].errors[]`, as a real 2.21 answers a
/// createOneField it refuses (`workspace-migration` validation, `field-metadata.exception.ts`).
fn field_validation_error(message: &str, code: &str, value: Option<&Value>) -> Error {
    let mut error = serde_json::json!({"code": code, "message": message});
    if let Some(value) = value {
        error["value"] = value.clone();
    }
    let entry = serde_json::json!({
        "errors": [error],
        "type": "create",
        "metadataName": "fieldMetadata",
    });
    Error::new("Multiple validation errors occurred while creating field").extend_with(|_, e| {
        e.set("code", "METADATA_VALIDATION_FAILED");
        e.set(
            "errors",
            async_graphql::Value::from_json(serde_json::json!({"fieldMetadata": [entry]}))
                .unwrap_or_default(),
        );
        e.set("message", "Validation failed for 1 fieldMetadata");
    })
}

pub(super) fn shared<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Shared>> {
    ctx.data::<Arc<Shared>>()
}

/// `FieldMetadataType` (packages/twenty-shared/src/types/FieldMetadataType.ts).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "FieldMetadataType", rename_items = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum FieldType {
    Uuid,
    Text,
    Phones,
    Emails,
    DateTime,
    Date,
    Boolean,
    Number,
    Numeric,
    Links,
    Currency,
    FullName,
    Rating,
    Select,
    MultiSelect,
    Relation,
    MorphRelation,
    Position,
    Address,
    RawJson,
    RichText,
    #[graphql(name = "RICH_TEXT_V2")]
    RichTextV2,
    Actor,
    Array,
    TsVector,
    Files,
}

impl FieldType {
    fn as_str(self) -> &'static str {
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
            Self::RichTextV2 => "RICH_TEXT_V2",
            Self::Actor => "ACTOR",
            Self::Array => "ARRAY",
            Self::TsVector => "TS_VECTOR",
            Self::Files => "FILES",
        }
    }

    fn parse(s: &str) -> Self {
        const ALL: [FieldType; 26] = [
            FieldType::Uuid,
            FieldType::Text,
            FieldType::Phones,
            FieldType::Emails,
            FieldType::DateTime,
            FieldType::Date,
            FieldType::Boolean,
            FieldType::Number,
            FieldType::Numeric,
            FieldType::Links,
            FieldType::Currency,
            FieldType::FullName,
            FieldType::Rating,
            FieldType::Select,
            FieldType::MultiSelect,
            FieldType::Relation,
            FieldType::MorphRelation,
            FieldType::Position,
            FieldType::Address,
            FieldType::RawJson,
            FieldType::RichText,
            FieldType::RichTextV2,
            FieldType::Actor,
            FieldType::Array,
            FieldType::TsVector,
            FieldType::Files,
        ];
        ALL.into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(Self::Text)
    }
}

/// `RelationType`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum RelationType {
    ManyToOne,
    OneToMany,
}

/// A short object reference inside a relation.
#[derive(SimpleObject, Clone)]
#[graphql(name = "RelationObjectRef")]
pub struct ObjectRef {
    id: ID,
    name_singular: String,
    name_plural: String,
}

/// A short field reference inside a relation.
#[derive(SimpleObject, Clone)]
#[graphql(name = "RelationFieldRef")]
pub struct FieldRef {
    id: ID,
    name: String,
}

/// A relation end (`RelationDTO`).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Relation")]
pub struct RelationDto {
    #[graphql(name = "type")]
    kind: RelationType,
    source_object_metadata: ObjectRef,
    target_object_metadata: ObjectRef,
    source_field_metadata: FieldRef,
    target_field_metadata: FieldRef,
}

/// A field (`FieldMetadataDTO`).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Field")]
pub struct FieldDto {
    id: ID,
    universal_identifier: ID,
    name: String,
    label: String,
    description: Option<String>,
    icon: Option<String>,
    #[graphql(name = "type")]
    field_type: FieldType,
    is_nullable: bool,
    is_unique: bool,
    is_active: bool,
    is_system: bool,
    is_ui_read_only: bool,
    is_label_synced_with_name: bool,
    default_value: Option<Json<Value>>,
    options: Option<Json<Value>>,
    settings: Option<Json<Value>>,
    morph_id: Option<ID>,
    object_metadata_id: ID,
    application_id: ID,
    relation: Option<RelationDto>,
    morph_relations: Option<Vec<RelationDto>>,
    created_at: String,
    updated_at: String,
}

/// An index field.
#[derive(SimpleObject, Clone)]
#[graphql(name = "IndexField")]
pub struct IndexFieldDto {
    id: ID,
    field_metadata_id: ID,
    order: i32,
}

/// An index (`IndexMetadataDTO`).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Index")]
pub struct IndexDto {
    id: ID,
    name: String,
    is_unique: bool,
    is_custom: bool,
    index_where_clause: Option<String>,
    index_type: String,
    index_field_metadata_list: Vec<IndexFieldDto>,
}

/// An object (`ObjectMetadataDTO`).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Object", complex)]
pub struct ObjectDto {
    id: ID,
    universal_identifier: ID,
    name_singular: String,
    name_plural: String,
    label_singular: String,
    label_plural: String,
    description: Option<String>,
    icon: Option<String>,
    is_active: bool,
    is_system: bool,
    is_remote: bool,
    is_searchable: bool,
    is_label_synced_with_name: bool,
    application_id: ID,
    label_identifier_field_metadata_id: Option<ID>,
    image_identifier_field_metadata_id: Option<ID>,
    fields_list: Vec<FieldDto>,
    index_metadata_list: Vec<IndexDto>,
    created_at: String,
    updated_at: String,
}

/// Cursor paging (nestjs-query `CursorPaging`).
#[derive(InputObject, Default)]
pub struct CursorPaging {
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
}

/// Page info of a connection.
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

/// An edge of fields.
#[derive(SimpleObject, Clone)]
pub struct FieldEdge {
    node: FieldDto,
    cursor: String,
}

/// A connection of fields (older clients read `fields { edges { node } }`).
#[derive(SimpleObject, Clone)]
pub struct FieldConnection {
    edges: Vec<FieldEdge>,
    page_info: PageInfo,
    total_count: i32,
}

/// An edge of objects.
#[derive(SimpleObject, Clone)]
pub struct ObjectEdge {
    node: ObjectDto,
    cursor: String,
}

/// A connection of objects.
#[derive(SimpleObject, Clone)]
pub struct ObjectConnection {
    edges: Vec<ObjectEdge>,
    page_info: PageInfo,
    total_count: i32,
}

fn page<T: Clone, E>(
    items: Vec<T>,
    paging: Option<CursorPaging>,
    id_of: impl Fn(&T) -> String,
    edge: impl Fn(T, String) -> E,
) -> (Vec<E>, PageInfo, i32) {
    let paging = paging.unwrap_or_default();
    let total = items.len() as i32;
    let start = paging
        .after
        .as_ref()
        .and_then(|a| items.iter().position(|i| &id_of(i) == a).map(|p| p + 1))
        .unwrap_or(0);
    let rest = &items[start.min(items.len())..];
    let take = paging
        .first
        .or(paging.last)
        .map_or(rest.len(), |n| (n.max(0) as usize).min(rest.len()));
    let chosen: Vec<T> = rest[..take].to_vec();
    let info = PageInfo {
        has_next_page: take < rest.len(),
        has_previous_page: start > 0,
        start_cursor: chosen.first().map(&id_of),
        end_cursor: chosen.last().map(&id_of),
    };
    let edges = chosen
        .into_iter()
        .map(|i| {
            let c = id_of(&i);
            edge(i, c)
        })
        .collect();
    (edges, info, total)
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl ObjectDto {
    /// The fields as a connection.
    async fn fields(
        &self,
        paging: Option<CursorPaging>,
        #[graphql(name = "filter")] _filter: Option<Json<Value>>,
    ) -> FieldConnection {
        let (edges, page_info, total_count) = page(
            self.fields_list.clone(),
            paging,
            |f| f.id.to_string(),
            |node, cursor| FieldEdge { node, cursor },
        );
        FieldConnection {
            edges,
            page_info,
            total_count,
        }
    }
}

fn object_ref(o: &ObjectMeta) -> ObjectRef {
    ObjectRef {
        id: ID(o.id.to_string()),
        name_singular: o.name_singular.clone(),
        name_plural: o.name_plural.clone(),
    }
}

fn relation_dto(model: &Model, object: &ObjectMeta, field: &FieldMeta) -> Option<RelationDto> {
    let relation = field.relation.as_ref()?;
    let target = model.by_singular(&relation.target_object)?;
    let target_field = target.field(&relation.target_field);
    Some(RelationDto {
        kind: match relation.kind {
            RelationKind::ManyToOne => RelationType::ManyToOne,
            RelationKind::OneToMany => RelationType::OneToMany,
        },
        source_object_metadata: object_ref(object),
        target_object_metadata: object_ref(target),
        source_field_metadata: FieldRef {
            id: ID(field.id.to_string()),
            name: field.name.clone(),
        },
        target_field_metadata: FieldRef {
            id: ID(target_field.map(|f| f.id.to_string()).unwrap_or_default()),
            name: relation.target_field.clone(),
        },
    })
}

/// The application an object or field belongs to: 2.x has no `isCustom` on `Object`/`Field`
/// (`object-metadata.dto.ts`, `field-metadata.dto.ts`); standard items belong to the workspace's
/// standard application, user-made ones to its custom application.
fn application_id(custom: bool) -> ID {
    let name = if custom { "custom" } else { "standard" };
    ID(super::schema::stable_id("application", name).to_string())
}

fn field_dto(model: &Model, object: &ObjectMeta, field: &FieldMeta) -> FieldDto {
    let relation = relation_dto(model, object, field);
    let morph = field.field_type == "MORPH_RELATION";
    FieldDto {
        id: ID(field.id.to_string()),
        universal_identifier: ID(field.id.to_string()),
        name: field.name.clone(),
        label: field.label.clone(),
        description: field.description.clone(),
        icon: field.icon.clone(),
        field_type: FieldType::parse(&field.field_type),
        is_nullable: field.is_nullable,
        is_unique: field.is_unique,
        is_active: true,
        is_system: field.is_system,
        is_ui_read_only: field.is_system,
        is_label_synced_with_name: false,
        default_value: field.default_value.clone().map(Json),
        options: field.options.clone().map(Json),
        settings: field.settings.clone().map(Json),
        morph_id: morph.then(|| {
            ID(super::schema::stable_id(
                "morph",
                &format!("{}.{}", object.name_singular, field.name),
            )
            .to_string())
        }),
        object_metadata_id: ID(object.id.to_string()),
        application_id: application_id(field.is_custom),
        morph_relations: morph.then(|| relation.clone().into_iter().collect()),
        relation: if morph { None } else { relation },
        created_at: iso(Utc::now()),
        updated_at: iso(Utc::now()),
    }
}

/// The name of the morph group a morph field belongs to: its name without the target's
/// capitalised singular (plural for ONE_TO_MANY), replaced at its last occurrence
/// (`get-morph-name-from-morph-field-metadata-name.util.ts`, `search-and-replace-last.util.ts`).
fn morph_name(model: &Model, field: &FieldMeta) -> String {
    let Some(relation) = field.relation.as_ref() else {
        return field.name.clone();
    };
    let suffix = model
        .by_singular(&relation.target_object)
        .map(|t| match relation.kind {
            RelationKind::ManyToOne => t.name_singular.clone(),
            RelationKind::OneToMany => t.name_plural.clone(),
        })
        .unwrap_or_else(|| relation.target_object.clone());
    let mut chars = suffix.chars();
    let capitalised: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    match field.name.rfind(&capitalised) {
        Some(at) if !capitalised.is_empty() => {
            format!(
                "{}{}",
                &field.name[..at],
                &field.name[at + capitalised.len()..]
            )
        }
        _ => field.name.clone(),
    }
}

/// The fields as the metadata API lists them: every field once, except that the fields of one
/// morph relation (one per target, sharing a morph id) are listed as one, named after the
/// morph group, with every target in `morphRelations` (`filter-morph-relation-duplicate-fields.util.ts`
/// in `engine/dataloaders/`, `resolve-morph-relations-from-flat-field-metadata.util.ts`).
fn listed_fields(model: &Model, object: &ObjectMeta) -> Vec<FieldDto> {
    let mut out: Vec<FieldDto> = Vec::with_capacity(object.fields.len());
    let mut groups: Vec<(String, usize)> = Vec::new();
    for f in &object.fields {
        let mut dto = field_dto(model, object, f);
        if f.field_type != "MORPH_RELATION" {
            out.push(dto);
            continue;
        }
        let group = morph_name(model, f);
        match groups.iter().find(|(name, _)| *name == group) {
            Some((_, at)) => {
                let survivor = &mut out[*at];
                let mut targets = dto.morph_relations.take().unwrap_or_default();
                // Each target keeps its own field's id, named after the group (LIVE).
                for t in &mut targets {
                    t.source_field_metadata.name = group.clone();
                }
                survivor
                    .morph_relations
                    .get_or_insert_with(Vec::new)
                    .extend(targets);
            }
            None => {
                dto.morph_id = Some(ID(super::schema::stable_id(
                    "morph",
                    &format!("{}.{group}", object.name_singular),
                )
                .to_string()));
                dto.name = group.clone();
                for t in dto.morph_relations.iter_mut().flatten() {
                    t.source_field_metadata.name = group.clone();
                }
                groups.push((group, out.len()));
                out.push(dto);
            }
        }
    }
    out
}

fn object_dto(model: &Model, object: &ObjectMeta) -> ObjectDto {
    let fields_list: Vec<FieldDto> = listed_fields(model, object);
    let index_metadata_list = object
        .fields
        .iter()
        .filter(|f| f.is_unique && f.name != "id")
        .map(|f| IndexDto {
            id: ID(super::schema::stable_id(
                "index",
                &format!("{}.{}", object.name_singular, f.name),
            )
            .to_string()),
            name: format!("IDX_UNIQUE_{}_{}", object.name_singular, f.name),
            is_unique: true,
            is_custom: f.is_custom,
            // Partial since 2.42 (make-standard-unique-indexes-partial command).
            index_where_clause: Some("\"deletedAt\" IS NULL".into()),
            index_type: "BTREE".into(),
            index_field_metadata_list: vec![IndexFieldDto {
                id: ID(super::schema::stable_id("indexField", &f.id.to_string()).to_string()),
                field_metadata_id: ID(f.id.to_string()),
                order: 0,
            }],
        })
        .collect();
    ObjectDto {
        id: ID(object.id.to_string()),
        universal_identifier: ID(object.universal_identifier.to_string()),
        name_singular: object.name_singular.clone(),
        name_plural: object.name_plural.clone(),
        label_singular: object.label_singular.clone(),
        label_plural: object.label_plural.clone(),
        description: object.description.clone(),
        icon: object.icon.clone(),
        is_active: true,
        is_system: object.is_system,
        is_remote: false,
        is_searchable: !object.is_system,
        application_id: application_id(object.is_custom),
        is_label_synced_with_name: false,
        label_identifier_field_metadata_id: object
            .label_identifier
            .as_deref()
            .and_then(|n| object.field(n))
            .map(|f| ID(f.id.to_string())),
        image_identifier_field_metadata_id: None,
        fields_list,
        index_metadata_list,
        created_at: iso(Utc::now()),
        updated_at: iso(Utc::now()),
    }
}

/// Queries.
pub struct Query;

// async-graphql wants every resolver with arguments to be async, even without an await.
#[allow(clippy::unused_async)]
#[Object]
impl Query {
    /// Objects with their fields.
    async fn objects(
        &self,
        ctx: &Context<'_>,
        paging: Option<CursorPaging>,
        #[graphql(name = "filter")] _filter: Option<Json<Value>>,
    ) -> async_graphql::Result<ObjectConnection> {
        let s = shared(ctx)?;
        let db = lock(&s.db);
        let all: Vec<ObjectDto> = db
            .model
            .objects
            .iter()
            .map(|o| object_dto(&db.model, o))
            .collect();
        drop(db);
        let (edges, page_info, total_count) = page(
            all,
            paging,
            |o| o.id.to_string(),
            |node, cursor| ObjectEdge { node, cursor },
        );
        Ok(ObjectConnection {
            edges,
            page_info,
            total_count,
        })
    }

    /// One object by id.
    async fn object(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ObjectDto> {
        let s = shared(ctx)?;
        let db = lock(&s.db);
        let object = Uuid::parse_str(&id)
            .ok()
            .and_then(|id| db.model.by_id(id))
            .ok_or_else(|| user_error("Object does not exist", "OBJECT_METADATA_NOT_FOUND"))?;
        Ok(object_dto(&db.model, object))
    }
}

/// `CreateObjectInput`. Inputs the twin does not use are accepted (and ignored) so that
/// clients sending them are not refused.
#[derive(InputObject)]
#[allow(dead_code)]
pub struct CreateObjectInput {
    name_singular: String,
    name_plural: String,
    label_singular: String,
    label_plural: String,
    description: Option<String>,
    icon: Option<String>,
    shortcut: Option<String>,
    is_label_synced_with_name: Option<bool>,
    is_remote: Option<bool>,
    primary_key_column_type: Option<String>,
    primary_key_field_metadata_settings: Option<Json<Value>>,
}

/// `CreateOneObjectInput`.
#[derive(InputObject)]
pub struct CreateOneObjectInput {
    object: CreateObjectInput,
}

/// `CreateFieldInput` (create-field.input.ts). Inputs the twin does not use are accepted (and
/// ignored) so that clients sending them are not refused.
#[derive(InputObject)]
#[allow(dead_code)]
pub struct CreateFieldInput {
    #[graphql(name = "type")]
    field_type: FieldType,
    name: String,
    label: String,
    description: Option<String>,
    icon: Option<String>,
    is_custom: Option<bool>,
    is_active: Option<bool>,
    is_system: Option<bool>,
    is_nullable: Option<bool>,
    is_unique: Option<bool>,
    default_value: Option<Json<Value>>,
    options: Option<Json<Value>>,
    settings: Option<Json<Value>>,
    object_metadata_id: ID,
    is_label_synced_with_name: Option<bool>,
    is_remote_creation: Option<bool>,
    relation_creation_payload: Option<Json<Value>>,
    morph_relations_creation_payload: Option<Json<Value>>,
    universal_identifier: Option<String>,
}

/// `CreateOneFieldMetadataInput`.
#[derive(InputObject)]
pub struct CreateOneFieldMetadataInput {
    field: CreateFieldInput,
}

/// `UpdateFieldInput` (`field-metadata/dtos/update-field.input.ts`): the parts the twin applies.
#[derive(InputObject)]
pub struct UpdateFieldInput {
    label: Option<String>,
    description: Option<String>,
    icon: Option<String>,
    options: Option<Json<Value>>,
    is_active: Option<bool>,
}

/// `UpdateOneFieldMetadataInput { id, update }`.
#[derive(InputObject)]
pub struct UpdateOneFieldMetadataInput {
    id: ID,
    update: UpdateFieldInput,
}

/// `FileWithSignedUrlDTO`.
#[derive(SimpleObject)]
#[graphql(name = "FileWithSignedUrl")]
pub struct FileDto {
    id: ID,
    path: String,
    size: f64,
    created_at: String,
    url: String,
}

impl FileDto {
    /// The answer for a stored file.
    pub(super) fn new(id: Uuid, path: String, size: u64, created_at: String, url: String) -> Self {
        Self {
            id: ID(id.to_string()),
            path,
            size: size as f64,
            created_at,
            url,
        }
    }
}

/// Mutations.
pub struct Mutation;

fn valid_name(name: &str) -> bool {
    // Metadata names are camelCase (IsValidMetadataName / validate-metadata-name).
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z][a-zA-Z0-9]{0,62}$").expect("static regex"))
        .is_match(name)
}

/// Refused as object and field names (`validate-flat-object-metadata-names.util.ts`).
use crate::model::names::RESERVED_METADATA_NAMES as RESERVED_NAMES;

fn camel_from_label(label: &str) -> String {
    let mut out = String::new();
    for (i, word) in label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(chars.as_str());
        }
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn new_field(name: &str, label: &str, field_type: &str) -> FieldMeta {
    FieldMeta {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        label: label.to_owned(),
        field_type: field_type.to_owned(),
        is_nullable: true,
        is_system: false,
        is_unique: false,
        is_custom: true,
        default_value: None,
        options: None,
        settings: None,
        relation: None,
        description: None,
        icon: None,
    }
}

fn relation_field(
    name: &str,
    label: &str,
    field_type: &str,
    kind: RelationKind,
    target: &str,
    target_field: &str,
) -> FieldMeta {
    let mut field = new_field(name, label, field_type);
    let join_column = (kind == RelationKind::ManyToOne).then(|| format!("{name}Id"));
    let mut settings = json!({"relationType": kind.as_str()});
    if let Some(column) = &join_column {
        settings["onDelete"] = json!("SET_NULL");
        settings["joinColumnName"] = json!(column);
    }
    field.settings = Some(settings);
    field.relation = Some(RelationMeta {
        kind,
        target_object: target.to_owned(),
        target_field: target_field.to_owned(),
        join_column,
    });
    field
}

fn push_field(model: &mut Model, object: &str, field: FieldMeta) {
    if let Some(o) = model.objects.iter_mut().find(|o| o.name_singular == object) {
        o.fields.push(field);
    }
}

/// Option values must be UPPER_CASE snake_case starting with a letter
/// (`flat-field-metadata/validators/utils/validate-enum-flat-field-metadata.util.ts` with
/// `src/utils/is-snake-case-string.ts`: `^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`).
fn check_options(options: Option<&Value>) -> async_graphql::Result<()> {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$").expect("static regex"));
    let Some(list) = options.and_then(Value::as_array) else {
        return Err(user_error(
            "Options are required for select fields",
            "INVALID_FIELD_INPUT",
        ));
    };
    for option in list {
        let value = option.get("value").and_then(Value::as_str).unwrap_or("");
        if !re.is_match(value) {
            return Err(user_error(
                format!("Value must be in UPPER_CASE and follow snake_case \"{value}\""),
                "INVALID_FIELD_INPUT",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::unused_async)]
#[Object]
impl Mutation {
    /// Creates a custom object with the system fields, a `name` field, and the morph target
    /// fields activity objects get for every custom object (`target{Object}` on noteTarget,
    /// taskTarget, attachment and timelineActivity).
    async fn create_one_object(
        &self,
        ctx: &Context<'_>,
        input: CreateOneObjectInput,
    ) -> async_graphql::Result<ObjectDto> {
        let s = shared(ctx)?;
        let o = input.object;
        if !valid_name(&o.name_singular) || !valid_name(&o.name_plural) {
            return Err(user_error(
                "Name should be in camelCase",
                "INVALID_OBJECT_INPUT",
            ));
        }
        // validate-flat-object-metadata-names.util.ts: reserved keywords check.
        if RESERVED_NAMES.contains(&o.name_singular.as_str())
            || RESERVED_NAMES.contains(&o.name_plural.as_str())
        {
            return Err(user_error(
                "This name is reserved. Use a different name or the system will add \"Custom\" suffix.",
                "INVALID_OBJECT_INPUT",
            ));
        }
        if o.name_singular == o.name_plural {
            return Err(user_error(
                "The singular and plural name cannot be the same for an object",
                "INVALID_OBJECT_INPUT",
            ));
        }
        let mut db = lock(&s.db);
        let taken = db.model.objects.iter().any(|x| {
            [&x.name_singular, &x.name_plural]
                .iter()
                .any(|n| **n == o.name_singular || **n == o.name_plural)
        });
        if taken {
            return Err(user_error("Object already exists", "OBJECT_ALREADY_EXISTS"));
        }
        let singular = o.name_singular.clone();
        let (description, icon) = (o.description.clone(), o.icon.clone());
        let created = db
            .model
            .add_custom_object(NewObject {
                name_singular: o.name_singular,
                name_plural: o.name_plural,
                label_singular: o.label_singular.clone(),
                label_plural: o.label_plural,
            })
            .clone();
        // Kept as given (create-object.input.ts: description, icon).
        if let Some(new) = db
            .model
            .objects
            .iter_mut()
            .find(|x| x.name_singular == singular)
        {
            new.description = description;
            new.icon = icon;
        }
        // Morph targets on the activity objects, with their inverse one-to-many fields.
        let target_name = format!("target{}", capitalize(&singular));
        // The inverse labels a 2.21 server gives a new object's fields (recorded:
        // `tests/conformance/twenty-2.21/metadata-objects-listing-custom.json`).
        for (activity, inverse, inverse_label) in [
            ("noteTarget", "noteTargets", "Notes"),
            ("taskTarget", "taskTargets", "Tasks"),
            ("attachment", "attachments", "Attachments"),
            (
                "timelineActivity",
                "timelineActivities",
                "Timeline Activities",
            ),
        ] {
            if db.model.by_singular(activity).is_none() {
                continue;
            }
            let morph = relation_field(
                &target_name,
                &o.label_singular,
                "MORPH_RELATION",
                RelationKind::ManyToOne,
                &singular,
                inverse,
            );
            push_field(&mut db.model, activity, morph);
            let back = relation_field(
                inverse,
                inverse_label,
                "RELATION",
                RelationKind::OneToMany,
                activity,
                &target_name,
            );
            push_field(&mut db.model, &singular, back);
        }
        // favorite gets a plain relation named after the object (not a morph target).
        if db.model.by_singular("favorite").is_some() {
            let to_object = relation_field(
                &singular,
                &o.label_singular,
                "RELATION",
                RelationKind::ManyToOne,
                &singular,
                "favorites",
            );
            push_field(&mut db.model, "favorite", to_object);
            let back = relation_field(
                "favorites",
                "Favorites",
                "RELATION",
                RelationKind::OneToMany,
                "favorite",
                &singular,
            );
            push_field(&mut db.model, &singular, back);
        }
        db.tables
            .insert(singular.clone(), Table::new(created.unique_groups()));
        let object = db.model.by_singular(&singular).cloned().unwrap_or(created);
        // object-metadata.service.ts:500-660: its views and a workspace-level menu item.
        super::config::on_object_created(s, &object);
        Ok(object_dto(&db.model, &object))
    }

    /// Creates a field; a RELATION with `relationCreationPayload` also creates its inverse.
    async fn create_one_field(
        &self,
        ctx: &Context<'_>,
        input: CreateOneFieldMetadataInput,
    ) -> async_graphql::Result<FieldDto> {
        let s = shared(ctx)?;
        let f = input.field;
        if !valid_name(&f.name) {
            return Err(user_error(
                "Name should be in camelCase",
                "INVALID_FIELD_INPUT",
            ));
        }
        // validate-metadata-name-is-not-reserved-keyword (RESERVED_KEYWORD).
        if RESERVED_NAMES.contains(&f.name.as_str()) {
            return Err(user_error(
                format!("The name \"{}\" is not available", f.name),
                "RESERVED_KEYWORD",
            ));
        }
        let mut db = lock(&s.db);
        let object = Uuid::parse_str(&f.object_metadata_id)
            .ok()
            .and_then(|id| db.model.by_id(id))
            .cloned()
            .ok_or_else(|| {
                user_error(
                    "Object metadata does not exist",
                    "OBJECT_METADATA_NOT_FOUND",
                )
            })?;
        let name_taken = |o: &ObjectMeta, name: &str| {
            o.field(name).is_some() || o.field_by_join_column(name).is_some()
        };
        if name_taken(&object, &f.name) {
            return Err(user_error(
                format!("Name \"{}\" is not available", f.name),
                "NOT_AVAILABLE",
            ));
        }
        // FILES fields arrived with Files v2 (PR #17707, 1.18); an older server's
        // `FieldMetadataType` enum has no such value.
        if f.field_type == FieldType::Files
            && s.config.files_generation != super::FilesGeneration::V2
        {
            return Err(Error::new(
                "Value \"FILES\" does not exist in \"FieldMetadataType\" enum.",
            )
            .extend_with(|_, e| e.set("code", "GRAPHQL_VALIDATION_FAILED")));
        }
        // The same refusal for a type the emulated version lacks (`TwinConfig::lacking_field_type`).
        let type_name = f.field_type.as_str();
        if s.config.lacking_field_types.iter().any(|t| t == type_name) {
            return Err(Error::new(format!(
                "Value \"{type_name}\" does not exist in \"FieldMetadataType\" enum."
            ))
            .extend_with(|_, e| e.set("code", "GRAPHQL_VALIDATION_FAILED")));
        }
        let type_name = f.field_type.as_str();
        let mut field = new_field(&f.name, &f.label, type_name);
        field.is_nullable = f.is_nullable.unwrap_or(true);
        field.is_unique = f.is_unique.unwrap_or(false);
        field.default_value = f.default_value.map(|j| j.0);
        field.settings = f.settings.map(|j| j.0);
        field.options = f.options.map(|j| j.0);
        // The server generates a RATING field's five options
        // (`from-create-field-input-to-flat-field-metadatas-to-create.util.ts`, `generateRatingOptions`).
        if f.field_type == FieldType::Rating && field.options.is_none() {
            field.options = Some(Value::Array(
                (1..=5)
                    .map(|i| json!({"value": format!("RATING_{i}"), "label": i.to_string(), "position": i - 1}))
                    .collect(),
            ));
        }
        field.description = f.description.clone();
        field.icon = f.icon.clone();
        match f.field_type {
            FieldType::Select | FieldType::MultiSelect => check_options(field.options.as_ref())?,
            FieldType::Links => {
                // FIELD_LINKS_VARIANTS (links flat-field validator).
                let variant = field
                    .settings
                    .as_ref()
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str);
                if variant.is_some_and(|v| v != "url" && v != "domain") {
                    return Err(user_error(
                        "Links field type must be one of url, domain",
                        "INVALID_FIELD_INPUT",
                    ));
                }
            }
            _ => {}
        }
        if f.field_type == FieldType::MorphRelation {
            return Err(user_error(
                "MORPH_RELATION fields cannot be created in the twin",
                "INVALID_FIELD_INPUT",
            ));
        }
        if f.field_type == FieldType::Relation {
            let payload = f.relation_creation_payload.map(|j| j.0).ok_or_else(|| {
                user_error(
                    "Relation creation payload is required",
                    "INVALID_FIELD_INPUT",
                )
            })?;
            // class-validator on the payload: label and icon are required strings
            // (`validate-relation-creation-payload-or-throw.util.ts`).
            for key in ["targetFieldLabel", "targetFieldIcon"] {
                if !payload.get(key).is_some_and(Value::is_string) {
                    return Err(field_validation_error(
                        &format!("Relation creation payload is invalid: {key} must be a string"),
                        "FIELD_METADATA_RELATION_MALFORMED",
                        Some(&payload),
                    ));
                }
            }
            let target = payload
                .get("targetObjectMetadataId")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
                .and_then(|id| db.model.by_id(id))
                .cloned()
                .ok_or_else(|| {
                    user_error(
                        "Target object metadata does not exist",
                        "OBJECT_METADATA_NOT_FOUND",
                    )
                })?;
            let kind = match payload.get("type").and_then(Value::as_str) {
                Some("MANY_TO_ONE") => RelationKind::ManyToOne,
                Some("ONE_TO_MANY") => RelationKind::OneToMany,
                _ => {
                    return Err(user_error(
                        "Relation type must be MANY_TO_ONE or ONE_TO_MANY",
                        "INVALID_FIELD_INPUT",
                    ))
                }
            };
            let target_label = payload
                .get("targetFieldLabel")
                .and_then(Value::as_str)
                .unwrap_or(&object.label_plural)
                .to_owned();
            let target_name = payload
                .get("targetFieldName")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| camel_from_label(&target_label));
            if !valid_name(&target_name) || name_taken(&target, &target_name) {
                return Err(user_error(
                    format!("Name \"{target_name}\" is not available"),
                    "NOT_AVAILABLE",
                ));
            }
            let inverse_kind = match kind {
                RelationKind::ManyToOne => RelationKind::OneToMany,
                RelationKind::OneToMany => RelationKind::ManyToOne,
            };
            let mut source = relation_field(
                &f.name,
                &f.label,
                "RELATION",
                kind,
                &target.name_singular,
                &target_name,
            );
            source.id = field.id;
            source.description = field.description.clone();
            source.icon = field.icon.clone();
            let mut inverse = relation_field(
                &target_name,
                &target_label,
                "RELATION",
                inverse_kind,
                &object.name_singular,
                &f.name,
            );
            inverse.icon = payload
                .get("targetFieldIcon")
                .and_then(Value::as_str)
                .map(str::to_owned);
            push_field(&mut db.model, &object.name_singular, source.clone());
            push_field(&mut db.model, &target.name_singular, inverse);
            let object = db
                .model
                .by_singular(&object.name_singular)
                .cloned()
                .unwrap_or(object);
            return Ok(field_dto(&db.model, &object, &source));
        }
        push_field(&mut db.model, &object.name_singular, field.clone());
        let updated = db
            .model
            .by_singular(&object.name_singular)
            .cloned()
            .unwrap_or(object);
        if field.is_unique {
            if let Some(table) = db.tables.get_mut(&updated.name_singular) {
                table.set_groups(updated.unique_groups());
            }
        }
        Ok(field_dto(&db.model, &updated, &field))
    }

    /// Updates a field's label or options. Options replace the field's list, as in Twenty
    /// (`from-update-field-input-to-flat-field-metadata.util.ts`); values are validated like
    /// on create.
    async fn update_one_field(
        &self,
        ctx: &Context<'_>,
        input: UpdateOneFieldMetadataInput,
    ) -> async_graphql::Result<FieldDto> {
        let s = shared(ctx)?;
        let u = input.update;
        let _ = u.is_active;
        let id = Uuid::parse_str(&input.id)
            .map_err(|_| user_error("Field metadata id is not a valid UUID", "INVALID_INPUT"))?;
        let mut db = lock(&s.db);
        let (object_name, field_type) = db
            .model
            .field_by_id(id)
            .map(|(o, f)| (o.name_singular.clone(), f.field_type.clone()))
            .ok_or_else(|| user_error("Field metadata not found", "FIELD_METADATA_NOT_FOUND"))?;
        let options = u.options.map(|j| j.0);
        if options.is_some() {
            if !matches!(field_type.as_str(), "SELECT" | "MULTI_SELECT") {
                return Err(user_error(
                    "Options can only be set on select fields",
                    "INVALID_FIELD_INPUT",
                ));
            }
            check_options(options.as_ref())?;
        }
        let object = db
            .model
            .objects
            .iter_mut()
            .find(|o| o.name_singular == object_name)
            .ok_or_else(|| {
                user_error(
                    "Object metadata does not exist",
                    "OBJECT_METADATA_NOT_FOUND",
                )
            })?;
        let field = object
            .fields
            .iter_mut()
            .find(|f| f.id == id)
            .ok_or_else(|| user_error("Field metadata not found", "FIELD_METADATA_NOT_FOUND"))?;
        if u.description.is_some() {
            field.description = u.description;
        }
        if u.icon.is_some() {
            field.icon = u.icon;
        }
        if let Some(label) = u.label {
            field.label = label;
        }
        if options.is_some() {
            field.options = options;
        }
        let field = field.clone();
        let object = db.model.by_singular(&object_name).cloned().ok_or_else(|| {
            user_error(
                "Object metadata does not exist",
                "OBJECT_METADATA_NOT_FOUND",
            )
        })?;
        Ok(field_dto(&db.model, &object, &field))
    }

    /// Uploads a file for a FILES field (Files v2). The bytes are kept in memory or under the
    /// files dir and served at `url`. Absent from the newest generation (direct upload).
    #[graphql(visible = "direct_upload::offers_multipart")]
    async fn upload_files_field_file(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        field_metadata_id: String,
    ) -> async_graphql::Result<FileDto> {
        if !direct_upload::offers_multipart(ctx) {
            return Err(direct_upload::absent("uploadFilesFieldFile"));
        }
        store_upload(ctx, file, &field_metadata_id).await
    }

    /// The same upload, naming the field by its universal identifier (the twin's fields use
    /// their id as universal identifier).
    async fn upload_files_field_file_by_universal_identifier(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        field_metadata_universal_identifier: String,
    ) -> async_graphql::Result<FileDto> {
        store_upload(ctx, file, &field_metadata_universal_identifier).await
    }
}

/// Checks the target field and keeps the uploaded bytes.
async fn store_upload(
    ctx: &Context<'_>,
    file: Upload,
    field_metadata_id: &str,
) -> async_graphql::Result<FileDto> {
    let s = shared(ctx)?;
    let field_id = Uuid::parse_str(field_metadata_id)
        .map_err(|_| user_error("Field metadata id is not a valid UUID", "INVALID_INPUT"))?;
    {
        let db = lock(&s.db);
        match db.model.field_by_id(field_id) {
            Some((_, f)) if f.field_type == "FILES" => {}
            Some(_) => return Err(user_error("Field is not a FILES field", "INVALID_INPUT")),
            None => {
                return Err(user_error(
                    "Field metadata not found",
                    "FIELD_METADATA_NOT_FOUND",
                ))
            }
        }
    }
    let value = file.value(ctx)?;
    let name = value.filename.clone();
    let mime = value.content_type.clone();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut value.into_read(), &mut bytes)?;
    if let Some(message) = super::sniff::refusal(&name, &bytes) {
        return Err(user_error(message, "INVALID_EXTENSION"));
    }
    let file = keep_file(s, name, mime, bytes, field_id).await?;
    let id = file.id;
    Ok(FileDto {
        id: ID(id.to_string()),
        url: format!("{}/file/files-field/{id}?token=twin", s.base_url),
        path: file.path,
        size: file.size as f64,
        created_at: file.created_at,
    })
}

/// Keeps an uploaded file's bytes under a new id (in `files_dir`, or in memory) and records it
/// in the twin's files; `field_metadata_id` is nil for a file of no field (a member picture).
pub(super) async fn keep_file(
    s: &Shared,
    name: String,
    mime: Option<String>,
    bytes: Vec<u8>,
    field_metadata_id: Uuid,
) -> async_graphql::Result<StoredFile> {
    let id = Uuid::new_v4();
    let ext = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let path = format!("{id}{ext}");
    let size = bytes.len() as u64;
    let kept = match &s.config.files_dir {
        Some(dir) => {
            tokio::fs::write(dir.join(&path), &bytes).await?;
            None
        }
        None => Some(bytes),
    };
    let file = StoredFile {
        id,
        name,
        path,
        mime,
        size,
        created_at: iso(Utc::now()),
        field_metadata_id,
        bytes: kept,
    };
    lock(&s.files).insert(id, file.clone());
    Ok(file)
}
