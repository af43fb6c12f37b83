//! Reads a workspace's data model from Twenty's metadata tables and matches every field to
//! the columns that really exist (the catalogs, as `information_schema.columns` shows them). The database describes
//! itself: nothing here lists a standard object's columns.
//!
//! Metadata columns changed across versions (`source-schema.md` §2 and §11): every optional
//! column is probed before it is read, and missing ones fall back (e.g. `isCustom`, dropped in
//! 2.12 by `2.12.0_DropIsCustomFromObjectAndFieldMetadata`, is derived from `applicationId`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use tokio_postgres::Client;
use uuid::Uuid;

use super::discover::WorkspaceInfo;
use super::{during, legacy, table_columns, SourceError};
use crate::model::{
    composite_column, table_name, Column, Field, FieldType, Model, Object, Relation, RelationKind,
};

/// Reads the model of one workspace.
pub async fn read_model(client: &Client, ws: &WorkspaceInfo) -> Result<Model, SourceError> {
    let ms = &ws.metadata_schema;
    let object_cols = table_columns(client, ms, "objectMetadata").await?;
    let field_cols = table_columns(client, ms, "fieldMetadata").await?;
    let ohas = |c: &str| object_cols.iter().any(|x| x == c);
    let fhas = |c: &str| field_cols.iter().any(|x| x == c);
    let or_null = |present: bool, expr: &str, fallback: &str| {
        if present {
            expr.to_owned()
        } else {
            fallback.to_owned()
        }
    };

    let object_sql = format!(
        "SELECT id, \"nameSingular\", \"namePlural\", \"labelSingular\", \"labelPlural\", \
         {is_custom}, {is_system}, {is_active}, {is_remote}, {app} \
         FROM {ms}.\"objectMetadata\" WHERE \"workspaceId\" = $1 ORDER BY \"nameSingular\"",
        is_custom = or_null(ohas("isCustom"), "\"isCustom\"", "NULL::boolean"),
        is_system = or_null(ohas("isSystem"), "\"isSystem\"", "false"),
        is_active = or_null(ohas("isActive"), "\"isActive\"", "true"),
        is_remote = or_null(ohas("isRemote"), "\"isRemote\"", "false"),
        app = or_null(ohas("applicationId"), "\"applicationId\"", "NULL::uuid"),
    );
    let object_rows = client
        .query(&object_sql, &[&ws.id])
        .await
        .map_err(during("reading objectMetadata"))?;

    let field_sql = format!(
        "SELECT id, \"objectMetadataId\", type::text, name, coalesce(label, name), \
         {is_custom}, {is_system}, {is_active}, {is_nullable}, {is_unique}, \
         {default}, {options}, {settings}, {rel_target}, {app} \
         FROM {ms}.\"fieldMetadata\" WHERE \"workspaceId\" = $1 ORDER BY \"objectMetadataId\", name",
        is_custom = or_null(fhas("isCustom"), "\"isCustom\"", "NULL::boolean"),
        is_system = or_null(fhas("isSystem"), "\"isSystem\"", "false"),
        is_active = or_null(fhas("isActive"), "\"isActive\"", "true"),
        is_nullable = or_null(fhas("isNullable"), "coalesce(\"isNullable\", true)", "true"),
        is_unique = or_null(fhas("isUnique"), "coalesce(\"isUnique\", false)", "false"),
        default = or_null(fhas("defaultValue"), "\"defaultValue\"", "NULL::jsonb"),
        options = or_null(fhas("options"), "\"options\"", "NULL::jsonb"),
        settings = or_null(fhas("settings"), "\"settings\"", "NULL::jsonb"),
        rel_target = or_null(
            fhas("relationTargetObjectMetadataId"),
            "\"relationTargetObjectMetadataId\"",
            "NULL::uuid"
        ),
        app = or_null(fhas("applicationId"), "\"applicationId\"", "NULL::uuid"),
    );
    let field_rows = client
        .query(&field_sql, &[&ws.id])
        .await
        .map_err(during("reading fieldMetadata"))?;

    // What `information_schema.columns` lists (tables, views, foreign and partitioned tables;
    // a domain's base type as udt_name), read from the catalogs: a quarter of the time.
    let column_rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, coalesce(b.typname, t.typname)::text \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'f', 'p') \
               AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY c.relname, a.attnum",
            &[&ws.schema],
        )
        .await
        .map_err(during("listing the workspace's columns"))?;
    let mut table_cols: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in &column_rows {
        table_cols
            .entry(r.get(0))
            .or_default()
            .push((r.get(1), r.get(2)));
    }

    // A custom thing: the isCustom column where it exists, else owned by the workspace's
    // custom application (2.12+).
    let is_custom = |flag: Option<bool>, app: Option<Uuid>| match flag {
        Some(v) => v,
        None => app.is_some() && app == ws.custom_application_id,
    };

    let mut fields_by_object: BTreeMap<Uuid, Vec<RawField>> = BTreeMap::new();
    for r in &field_rows {
        let raw = RawField {
            id: r.get(0),
            type_name: r.get(2),
            name: r.get(3),
            label: r.get(4),
            is_custom: is_custom(r.get(5), r.get(14)),
            is_system: r.get(6),
            is_active: r.get(7),
            is_nullable: r.get(8),
            is_unique: r.get(9),
            default_value: r.get(10),
            options: r.get(11),
            settings: r.get(12),
            relation_target: r.get(13),
        };
        fields_by_object.entry(r.get(1)).or_default().push(raw);
    }

    // Layout A: relations live in relationMetadata (legacy.rs).
    let relation_rows = legacy::relation_rows(client, ms, ws.id).await?;
    legacy::apply_relation_rows(&mut fields_by_object, &relation_rows);

    let names: HashMap<Uuid, String> = object_rows
        .iter()
        .map(|r| (r.get::<_, Uuid>(0), r.get::<_, String>(1)))
        .collect();

    let mut objects = Vec::with_capacity(object_rows.len());
    for r in &object_rows {
        let id: Uuid = r.get(0);
        let name_singular: String = r.get(1);
        let custom_flag: Option<bool> = r.get(5);
        let custom = match custom_flag {
            Some(v) => v,
            None => {
                let app: Option<Uuid> = r.get(9);
                if app.is_some() && ws.custom_application_id.is_some() {
                    app == ws.custom_application_id
                } else {
                    // No flag and no application: the table name tells.
                    table_cols.contains_key(&format!("_{name_singular}"))
                }
            }
        };
        let table = table_name(&name_singular, custom);
        let columns = table_cols.get(&table).cloned().unwrap_or_default();
        let mut raw_fields = fields_by_object.remove(&id).unwrap_or_default();
        legacy::drop_foreign_key_fields(&mut raw_fields);
        // Each activity table by its own columns: a half-finished 1.17 upgrade leaves some
        // tables at the legacy stage.
        let legacy_stage = ws
            .layout
            .tables
            .iter()
            .any(|t| t.table == table && !t.morph_columns);
        if legacy_stage {
            legacy::rename_activity_targets(&table, &mut raw_fields, &names);
        }
        let (mut fields, unmapped) = resolve_fields(raw_fields, &columns, &names);
        if name_singular == "attachment" && !custom {
            legacy::attachment_before_1_10(&mut fields, &ws.schema);
        }
        if let Some(f) = fields.iter().find(|f| {
            matches!(f.field_type, FieldType::Other(_)) && !f.columns.is_empty() && f.is_active
        }) {
            return Err(SourceError::UnknownLayout {
                workspace: ws.label(),
                detail: format!(
                    "field {name_singular}.{} has type {}, which this tool does not know (recorded version {}, structure of {:?} {}); upgrade twenty-migrate or deactivate the field",
                    f.name,
                    f.metadata_type,
                    ws.version.as_deref().unwrap_or("none"),
                    ws.layout.layout,
                    ws.layout.versions
                ),
            });
        }
        if !unmapped.is_empty() && !columns.is_empty() {
            // Extra columns (a newer or patched Twenty) are read around, and said so.
            tracing::warn!(
                object = %name_singular,
                columns = %unmapped.join(", "),
                "ignored columns: no field describes them, they are not migrated"
            );
        }
        objects.push(Object {
            id,
            name_singular,
            name_plural: r.get(2),
            label_singular: r.get(3),
            label_plural: r.get(4),
            is_custom: custom,
            is_system: r.get(6),
            is_active: r.get(7),
            is_remote: r.get(8),
            table_exists: !columns.is_empty(),
            table,
            fields,
            unmapped_columns: unmapped,
        });
    }
    if let Some((orphan, _)) = fields_by_object.into_iter().next() {
        return Err(SourceError::Inconsistent(format!(
            "fieldMetadata rows point at object {orphan}, which has no objectMetadata row"
        )));
    }
    Ok(Model { objects })
}

/// One `fieldMetadata` row as stored, before it is matched to columns.
pub(crate) struct RawField {
    pub(crate) id: Uuid,
    pub(crate) type_name: String,
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) is_custom: bool,
    pub(crate) is_system: bool,
    pub(crate) is_active: bool,
    pub(crate) is_nullable: bool,
    pub(crate) is_unique: bool,
    pub(crate) default_value: Option<Value>,
    pub(crate) options: Option<Value>,
    pub(crate) settings: Option<Value>,
    pub(crate) relation_target: Option<Uuid>,
}

/// Matches fields to columns. Returns the fields and the table columns no field claims.
fn resolve_fields(
    raw: Vec<RawField>,
    columns: &[(String, String)],
    object_names: &HashMap<Uuid, String>,
) -> (Vec<Field>, Vec<String>) {
    let udt: HashMap<&str, &str> = columns
        .iter()
        .map(|(c, u)| (c.as_str(), u.as_str()))
        .collect();
    let mut claimed: HashSet<String> = HashSet::new();
    let column = |name: &str, sub: Option<&str>| -> Option<Column> {
        udt.get(name).map(|u| Column {
            name: name.to_owned(),
            sub_field: sub.map(str::to_owned),
            udt_name: (*u).to_owned(),
            read_expr: None,
        })
    };

    let mut fields = Vec::with_capacity(raw.len());
    for f in raw {
        let mut field_type = FieldType::from_metadata(&f.type_name);
        // Before 1.20, RICH_TEXT was one text column; after, it is the composite. Decide by
        // the columns (source-schema.md §2.1, `1-20-migrate-rich-text-to-text.command.ts`).
        if field_type == FieldType::RichText
            && !udt.contains_key(composite_column(&f.name, "blocknote").as_str())
            && udt.contains_key(f.name.as_str())
        {
            field_type = FieldType::Text;
        }
        let relation = match field_type {
            FieldType::Relation | FieldType::MorphRelation => {
                let settings = f.settings.as_ref();
                let kind = match settings
                    .and_then(|s| s.get("relationType"))
                    .and_then(Value::as_str)
                {
                    Some("ONE_TO_MANY") => RelationKind::OneToMany,
                    _ => RelationKind::ManyToOne,
                };
                let join_column = (kind == RelationKind::ManyToOne).then(|| {
                    settings
                        .and_then(|s| s.get("joinColumnName"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("{}Id", f.name))
                });
                f.relation_target.map(|target| Relation {
                    kind,
                    target_object_id: target,
                    target_object: object_names.get(&target).cloned().unwrap_or_default(),
                    join_column,
                })
            }
            _ => None,
        };
        let cols: Vec<Column> = if let Some(subs) = field_type.sub_fields() {
            subs.iter()
                .filter_map(|s| column(&s.column(&f.name), Some(s.name)))
                .collect()
        } else if let Some(rel) = &relation {
            rel.join_column
                .as_deref()
                .and_then(|c| column(c, None))
                .into_iter()
                .collect()
        } else if matches!(field_type, FieldType::Relation | FieldType::MorphRelation) {
            // A relation without a target id (older rows): the conventional join column.
            column(&format!("{}Id", f.name), None).into_iter().collect()
        } else {
            column(&f.name, None).into_iter().collect()
        };
        for c in &cols {
            claimed.insert(c.name.clone());
        }
        fields.push(Field {
            id: f.id,
            name: f.name,
            label: f.label,
            field_type,
            metadata_type: f.type_name,
            is_custom: f.is_custom,
            is_system: f.is_system,
            is_active: f.is_active,
            is_nullable: f.is_nullable,
            is_unique: f.is_unique,
            default_value: f.default_value,
            options: f.options,
            settings: f.settings,
            relation,
            columns: cols,
        });
    }
    let unmapped = columns
        .iter()
        .filter(|(c, _)| !claimed.contains(c))
        .map(|(c, _)| c.clone())
        .collect();
    (fields, unmapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, ty: &str, settings: Option<Value>, target: Option<Uuid>) -> RawField {
        RawField {
            id: Uuid::new_v4(),
            type_name: ty.into(),
            name: name.into(),
            label: name.into(),
            is_custom: false,
            is_system: false,
            is_active: true,
            is_nullable: true,
            is_unique: false,
            default_value: None,
            options: None,
            settings,
            relation_target: target,
        }
    }

    fn cols(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), "text".into()))
            .collect()
    }

    #[test]
    fn composite_fields_claim_their_sub_columns_and_leftovers_are_reported() {
        let (fields, unmapped) = resolve_fields(
            vec![raw("emails", "EMAILS", None, None)],
            &cols(&["emailsPrimaryEmail", "emailsAdditionalEmails", "stray"]),
            &HashMap::new(),
        );
        assert_eq!(fields[0].columns.len(), 2);
        assert_eq!(unmapped, vec!["stray".to_string()]);
    }

    #[test]
    fn many_to_one_relations_use_the_join_column_from_settings() {
        let target = Uuid::new_v4();
        let names = HashMap::from([(target, "company".to_string())]);
        let (fields, _) = resolve_fields(
            vec![
                raw(
                    "targetCompany",
                    "MORPH_RELATION",
                    Some(
                        serde_json::json!({"relationType":"MANY_TO_ONE","joinColumnName":"targetCompanyId"}),
                    ),
                    Some(target),
                ),
                raw(
                    "people",
                    "RELATION",
                    Some(serde_json::json!({"relationType":"ONE_TO_MANY"})),
                    Some(target),
                ),
            ],
            &cols(&["targetCompanyId"]),
            &names,
        );
        let rel = fields[0].relation.as_ref().unwrap();
        assert_eq!(rel.join_column.as_deref(), Some("targetCompanyId"));
        assert_eq!(rel.target_object, "company");
        assert_eq!(fields[0].columns[0].name, "targetCompanyId");
        assert!(fields[1].columns.is_empty());
    }

    #[test]
    fn a_single_column_rich_text_field_is_read_as_text() {
        let (fields, _) = resolve_fields(
            vec![raw("body", "RICH_TEXT", None, None)],
            &cols(&["body"]),
            &HashMap::new(),
        );
        assert_eq!(fields[0].field_type, FieldType::Text);
        assert_eq!(fields[0].columns.len(), 1);
    }
}
