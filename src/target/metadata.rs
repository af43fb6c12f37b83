//! The `/metadata` GraphQL documents this client sends and how their answers are read.
//!
//! Source: the `objects` query of twenty-front's metadata generation script and the
//! integration test `findManyObjectsMetadataItems` (twentyhq/twenty): newest servers serve
//! `fieldsList`, older ones a `fields(paging)` connection.

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
}

impl ObjectsQuery {
    /// The newest form, tried first.
    pub const NEWEST: Self = Self {
        fields: FieldsShape::List,
        relation: RelationShape::Relation,
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

fn field_selection(relation: RelationShape) -> String {
    match relation {
        RelationShape::Relation => format!("{FIELD_FIELDS} {RELATION}"),
        RelationShape::Definition => format!("{FIELD_FIELDS} {RELATION_DEFINITION}"),
        RelationShape::Omitted => FIELD_FIELDS.to_owned(),
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
    let selection = field_selection(variant.relation);
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
            let parsed: TargetField = serde_json::from_value(field).map_err(|e| {
                TargetError::Protocol(format!(
                    "cannot read a field of `{}`: {e}",
                    object.name_singular
                ))
            })?;
            object.fields.push(parsed);
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
