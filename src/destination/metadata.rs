//! The `/metadata` GraphQL documents this client sends and how their answers are read.
//!
//! Source: the `objects` query of twenty-front's metadata generation script and the
//! integration test `findManyObjectsMetadataItems` (twentyhq/twenty): newest servers serve
//! `fieldsList`, older ones a `fields(paging)` connection.

use crate::model::names::capitalize;
use serde_json::Value;

use super::error::TargetError;
use super::types::{TargetField, TargetObject};

/// How an object's fields are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldsShape {
    /// `fieldsList { … }` (newest).
    List,
    /// `fields(paging: {first: 1000}) { edges { node { … } } }` (older).
    Connection,
}

/// How a field's relation is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelationShape {
    /// `relation { type targetObjectMetadata { nameSingular } }` (newest).
    Relation,
    /// `relationDefinition { direction targetObjectMetadata { nameSingular } }` (older).
    Definition,
    /// Not asked (a server that knows neither).
    Omitted,
}

/// The query variant to send; [`ObjectsQuery::fallback`] names the next one to try when a
/// server refuses a part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectsQuery {
    pub fields: FieldsShape,
    pub relation: RelationShape,
    /// Whether `morphRelations` is asked (servers that group morph fields have it).
    pub morph: bool,
}

impl ObjectsQuery {
    /// The newest form, tried first.
    pub const NEWEST: Self = Self {
        fields: FieldsShape::List,
        relation: RelationShape::Relation,
        morph: true,
    };

    /// The variant to try after a GraphQL validation error naming the part the server does not
    /// know, or `None` when the error is about something else.
    pub fn fallback(self, messages: &[String]) -> Option<Self> {
        let mentions = |name: &str| {
            let quoted = format!("\"{name}\"");
            messages.iter().any(|m| m.contains(&quoted))
        };
        if self.fields == FieldsShape::List && mentions("fieldsList") {
            return Some(Self {
                fields: FieldsShape::Connection,
                ..self
            });
        }
        if self.morph && mentions("morphRelations") {
            return Some(Self {
                morph: false,
                ..self
            });
        }
        match self.relation {
            RelationShape::Relation if mentions("relation") => Some(Self {
                relation: RelationShape::Definition,
                ..self
            }),
            RelationShape::Definition if mentions("relationDefinition") => Some(Self {
                relation: RelationShape::Omitted,
                ..self
            }),
            _ => None,
        }
    }
}

// No `isCustom`: Twenty 2.21 and the newest `object-metadata.dto.ts` / `field-metadata.dto.ts`
// have none (a real 2.21 server answers `Cannot query field "isCustom" on type "Object"`).
const OBJECT_FIELDS: &str =
    "id nameSingular namePlural labelSingular labelPlural isActive isSystem";

const FIELD_FIELDS: &str = "id name label type isNullable isUnique isActive isSystem \
     defaultValue options settings";

const RELATION: &str = "relation { type targetObjectMetadata { nameSingular } }";

const RELATION_DEFINITION: &str =
    "relationDefinition { direction targetObjectMetadata { nameSingular } }";

/// A morph field's targets (`morphRelations` in `field-metadata.resolver.ts`, 2.x), each with
/// the id of its own field (`sourceFieldMetadata`: LIVE, one id per target, all named after
/// the group), which views, filters and permissions name.
const MORPH_RELATIONS: &str = "morphRelations { type sourceFieldMetadata { id } targetObjectMetadata { nameSingular namePlural } }";

fn field_selection(variant: ObjectsQuery) -> String {
    let relation = match variant.relation {
        RelationShape::Relation => format!("{FIELD_FIELDS} {RELATION}"),
        RelationShape::Definition => format!("{FIELD_FIELDS} {RELATION_DEFINITION}"),
        RelationShape::Omitted => FIELD_FIELDS.to_owned(),
    };
    if variant.morph {
        format!("{relation} {MORPH_RELATIONS}")
    } else {
        relation
    }
}

/// `createOneObject`; the variable `input` is `{object: {nameSingular, namePlural, …}}`.
///
/// Source: twenty-front `CREATE_ONE_OBJECT_METADATA_ITEM` (type `CreateOneObjectInput`).
pub(crate) fn create_object_mutation() -> String {
    format!(
        "mutation CreateOneObjectMetadataItem($input: CreateOneObjectInput!) {{ createOneObject(input: $input) {{ {OBJECT_FIELDS} }} }}"
    )
}

/// `createOneField`; the variable `input` is `{field: {objectMetadataId, type, name, …}}`.
///
/// Source: twenty-front `CREATE_ONE_FIELD_METADATA_ITEM` and the server's integration-test
/// factory `createOneFieldMetadataQueryFactory` (type `CreateOneFieldMetadataInput`).
pub(crate) fn create_field_mutation() -> String {
    format!(
        "mutation CreateOneFieldMetadataItem($input: CreateOneFieldMetadataInput!) {{ createOneField(input: $input) {{ {FIELD_FIELDS} {RELATION} }} }}"
    )
}

/// The `objects` query, one page of 1000 after `after`.
pub(crate) fn objects_query(variant: ObjectsQuery, after: Option<&str>) -> String {
    let paging = match after {
        // A JSON string literal is a valid GraphQL string literal for cursor text.
        Some(cursor) => format!("first: 1000, after: {}", Value::String(cursor.to_owned())),
        None => "first: 1000".to_owned(),
    };
    let selection = field_selection(variant);
    let fields = match variant.fields {
        FieldsShape::List => format!("fieldsList {{ {selection} }}"),
        FieldsShape::Connection => {
            format!("fields(paging: {{ first: 1000 }}) {{ edges {{ node {{ {selection} }} }} }}")
        }
    };
    format!(
        "query TargetModel {{ objects(paging: {{ {paging} }}) {{ edges {{ node {{ {OBJECT_FIELDS} {fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

/// The fields one morph field stands for, one per target.
///
/// Twenty 2.x stores a morph relation as one field per target (`noteTarget.targetCompany`,
/// join column `targetCompanyId`) but its metadata API lists the group once, under the morph
/// name (`target`), with the targets in `morphRelations` (`filter-morph-relation-duplicate-fields.util.ts`,
/// `get-morph-name-from-morph-field-metadata-name.util.ts`). Each target's field is the morph name
/// plus the target's capitalised singular (plural for ONE_TO_MANY), its join column that name plus
/// `Id` (`compute-morph-relation-flat-field-name.util.ts`,
/// `compute-morph-or-relation-field-join-column-name.util.ts`).
fn expand_morph(group: &TargetField, targets: &[Value]) -> Vec<TargetField> {
    targets
        .iter()
        .filter_map(|t| {
            let kind = t.get("type").and_then(Value::as_str)?.to_owned();
            let object = t.get("targetObjectMetadata")?;
            let singular = object.get("nameSingular").and_then(Value::as_str)?;
            let suffix = if kind == "ONE_TO_MANY" {
                object
                    .get("namePlural")
                    .and_then(Value::as_str)
                    .unwrap_or(singular)
            } else {
                singular
            };
            let name = format!("{}{}", group.name, capitalize(suffix));
            let mut settings = group.settings.clone().unwrap_or(Value::Null);
            if kind == "MANY_TO_ONE" {
                if !settings.is_object() {
                    settings = Value::Object(Default::default());
                }
                settings["joinColumnName"] = Value::String(format!("{name}Id"));
            }
            // The target's own field; a server that does not say keeps the group's id.
            let id = t
                .pointer("/sourceFieldMetadata/id")
                .and_then(Value::as_str)
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .unwrap_or(group.id);
            Some(TargetField {
                id,
                name,
                settings: Some(settings),
                relation: Some(super::types::TargetRelation {
                    relation_type: kind,
                    target_object_metadata: Some(super::types::RelationTarget {
                        name_singular: singular.to_owned(),
                    }),
                }),
                ..group.clone()
            })
        })
        .collect()
}

/// One page of objects and the cursor of the next, if any.
pub(crate) struct ObjectsPage {
    pub objects: Vec<TargetObject>,
    pub next_cursor: Option<String>,
}

/// Reads the `data` of an `objects` answer.
pub(crate) fn parse_objects_page(data: &Value) -> Result<ObjectsPage, TargetError> {
    let objects = data
        .get("objects")
        .ok_or_else(|| TargetError::Protocol("the metadata answer has no `objects`".into()))?;
    let edges = objects
        .get("edges")
        .and_then(Value::as_array)
        .ok_or_else(|| TargetError::Protocol("the metadata answer has no object edges".into()))?;
    let mut out = Vec::with_capacity(edges.len());
    for edge in edges {
        let node = edge
            .get("node")
            .ok_or_else(|| TargetError::Protocol("an object edge has no node".into()))?;
        let mut object: TargetObject = serde_json::from_value(node.clone())
            .map_err(|e| TargetError::Protocol(format!("cannot read an object: {e}")))?;
        let field_nodes: Vec<&Value> = if let Some(list) = node.get("fieldsList") {
            list.as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        } else {
            node.pointer("/fields/edges")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|e| e.get("node")).collect())
                .unwrap_or_default()
        };
        for field in field_nodes {
            let mut field = field.clone();
            // Older servers describe the relation as `relationDefinition { direction … }`.
            if matches!(field.get("relation"), None | Some(Value::Null)) {
                if let Some(def) = field.get("relationDefinition").filter(|d| !d.is_null()) {
                    let relation = serde_json::json!({
                        "type": def.get("direction").cloned().unwrap_or(Value::Null),
                        "targetObjectMetadata": def.get("targetObjectMetadata").cloned().unwrap_or(Value::Null),
                    });
                    field["relation"] = relation;
                }
            }
            let morphs = field.get("morphRelations").cloned();
            let parsed: TargetField = serde_json::from_value(field).map_err(|e| {
                TargetError::Protocol(format!(
                    "cannot read a field of `{}`: {e}",
                    object.name_singular
                ))
            })?;
            match morphs.as_ref().and_then(Value::as_array) {
                Some(targets) if parsed.field_type == "MORPH_RELATION" && !targets.is_empty() => {
                    object.fields.extend(expand_morph(&parsed, targets));
                }
                _ => object.fields.push(parsed),
            }
        }
        out.push(object);
    }
    let page_info = objects.get("pageInfo");
    let has_next = page_info
        .and_then(|p| p.get("hasNextPage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let next_cursor = if has_next {
        page_info
            .and_then(|p| p.get("endCursor"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else {
        None
    };
    Ok(ObjectsPage {
        objects: out,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, ty: &str) -> Value {
        json!({"id": "20202020-0000-4000-8000-000000000001", "name": name, "label": name, "type": ty,
               "isNullable": true, "isUnique": false, "isCustom": false, "isActive": true,
               "isSystem": false, "defaultValue": null, "options": null, "settings": null,
               "relation": null})
    }

    #[test]
    fn objects_with_a_fields_list_are_read() {
        let mut rel = field("company", "RELATION");
        rel["relation"] =
            json!({"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "company"}});
        let data = json!({"objects": {"edges": [{"node": {
            "id": "20202020-0000-4000-8000-0000000000aa", "nameSingular": "person", "namePlural": "people",
            "labelSingular": "Person", "labelPlural": "People", "isCustom": false, "isActive": true, "isSystem": false,
            "fieldsList": [field("emails", "EMAILS"), rel]}}],
            "pageInfo": {"hasNextPage": false, "endCursor": "abc"}}});
        let page = parse_objects_page(&data).unwrap();
        assert!(page.next_cursor.is_none());
        let person = &page.objects[0];
        assert_eq!(person.name_plural, "people");
        assert_eq!(person.fields.len(), 2);
        let company = person.field("company").unwrap();
        let relation = company.relation.as_ref().unwrap();
        assert_eq!(relation.relation_type, "MANY_TO_ONE");
        assert_eq!(
            relation
                .target_object_metadata
                .as_ref()
                .unwrap()
                .name_singular,
            "company"
        );
    }

    // As a real Twenty 2.21 lists noteTarget: one `target` field for the whole morph group.
    #[test]
    fn a_grouped_morph_field_is_read_as_one_field_per_target() {
        let mut morph = field("target", "MORPH_RELATION");
        morph["settings"] = json!({"onDelete": "CASCADE", "relationType": "MANY_TO_ONE",
                                   "joinColumnName": "targetOpportunityId"});
        morph["morphRelations"] = json!([
            {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "opportunity", "namePlural": "opportunities"}},
            {"type": "MANY_TO_ONE", "sourceFieldMetadata": {"id": "20202020-0000-4000-8000-0000000000cc", "name": "target"},
             "targetObjectMetadata": {"nameSingular": "company", "namePlural": "companies"}},
            {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "petCareAgreement", "namePlural": "petCareAgreements"}}]);
        let mut helper = field("polymorphicHelper", "MORPH_RELATION");
        helper["morphRelations"] = json!([
            {"type": "ONE_TO_MANY", "targetObjectMetadata": {"nameSingular": "rocket", "namePlural": "rockets"}}]);
        let data = json!({"objects": {"edges": [{"node": {
            "id": "20202020-0000-4000-8000-0000000000aa", "nameSingular": "noteTarget", "namePlural": "noteTargets",
            "isActive": true, "isSystem": true, "fieldsList": [morph, helper]}}],
            "pageInfo": {"hasNextPage": false}}});
        let page = parse_objects_page(&data).unwrap();
        let nt = &page.objects[0];
        let names: Vec<&str> = nt.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "targetOpportunity",
                "targetCompany",
                "targetPetCareAgreement",
                "polymorphicHelperRockets"
            ]
        );
        let company = nt.field("targetCompany").unwrap();
        // Views and permissions name each target's own field (LIVE: morphRelations' ids).
        assert_eq!(
            company.id.to_string(),
            "20202020-0000-4000-8000-0000000000cc"
        );
        assert_ne!(
            nt.field("targetOpportunity").unwrap().id,
            company.id,
            "without sourceFieldMetadata: the group's id"
        );
        assert_eq!(
            company.settings.as_ref().unwrap()["joinColumnName"],
            "targetCompanyId"
        );
        let relation = company.relation.as_ref().unwrap();
        assert_eq!(relation.relation_type, "MANY_TO_ONE");
        assert_eq!(
            relation
                .target_object_metadata
                .as_ref()
                .unwrap()
                .name_singular,
            "company"
        );
        assert_eq!(
            nt.field("polymorphicHelperRockets")
                .unwrap()
                .relation
                .as_ref()
                .unwrap()
                .relation_type,
            "ONE_TO_MANY"
        );
        assert!(objects_query(ObjectsQuery::NEWEST, None).contains("morphRelations"));
    }

    #[test]
    fn objects_with_a_fields_connection_are_read() {
        let data = json!({"objects": {"edges": [{"node": {
            "id": "20202020-0000-4000-8000-0000000000aa", "nameSingular": "company", "namePlural": "companies",
            "isCustom": false, "isActive": true, "isSystem": false,
            "fields": {"edges": [{"node": field("domainName", "LINKS")}]}}}],
            "pageInfo": {"hasNextPage": true, "endCursor": "c1"}}});
        let page = parse_objects_page(&data).unwrap();
        assert_eq!(page.next_cursor.as_deref(), Some("c1"));
        assert_eq!(page.objects[0].fields[0].field_type, "LINKS");
    }

    #[test]
    fn the_query_asks_for_the_next_page_by_cursor() {
        let q = objects_query(ObjectsQuery::NEWEST, Some("YXJyYXk6MA=="));
        assert!(q.contains(r#"after: "YXJyYXk6MA==""#), "{q}");
        assert!(q.contains("fieldsList"));
        let q = objects_query(
            ObjectsQuery {
                fields: FieldsShape::Connection,
                relation: RelationShape::Definition,
                morph: false,
            },
            None,
        );
        assert!(q.contains("fields(paging: { first: 1000 })"), "{q}");
        assert!(q.contains("relationDefinition { direction"), "{q}");
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fallbacks_follow_the_part_the_server_does_not_know() {
        let msg = |m: &str| vec![m.to_owned()];
        let q = ObjectsQuery::NEWEST;
        let q2 = q
            .fallback(&msg(r#"Cannot query field "fieldsList" on type "Object"."#))
            .unwrap();
        assert_eq!(q2.fields, FieldsShape::Connection);
        let q3 = q2
            .fallback(&msg(r#"Cannot query field "relation" on type "Field"."#))
            .unwrap();
        assert_eq!(q3.relation, RelationShape::Definition);
        let q4 = q3
            .fallback(&msg(
                r#"Cannot query field "relationDefinition" on type "Field"."#,
            ))
            .unwrap();
        assert_eq!(q4.relation, RelationShape::Omitted);
        assert_eq!(q4.fallback(&msg("Forbidden resource")), None);
        assert_eq!(q.fallback(&msg("Forbidden resource")), None);
    }

    #[test]
    fn an_older_relation_definition_is_read_as_the_relation() {
        let data = json!({"objects": {"edges": [{"node": {
            "id": "20202020-0000-4000-8000-0000000000aa", "nameSingular": "person", "namePlural": "people",
            "isCustom": false, "isActive": true, "isSystem": false,
            "fields": {"edges": [{"node": {
                "id": "20202020-0000-4000-8000-000000000002", "name": "company", "type": "RELATION",
                "isCustom": false, "isActive": true, "isSystem": false,
                "relationDefinition": {"direction": "MANY_TO_ONE",
                                       "targetObjectMetadata": {"nameSingular": "company"}}}}]}}}]}});
        let page = parse_objects_page(&data).unwrap();
        let rel = page.objects[0].fields[0].relation.as_ref().unwrap();
        assert_eq!(rel.relation_type, "MANY_TO_ONE");
        assert_eq!(
            rel.target_object_metadata.as_ref().unwrap().name_singular,
            "company"
        );
    }
}
