//! Maps what older layouts store onto the one workspace model, so that nothing after the
//! source reader needs to know which Twenty version wrote the database. Each rule undoes one
//! upgrade command of twentyhq/twenty
//! (`packages/twenty-server/src/database/commands/upgrade-version-command/`):
//!
//! | layout | stored | model | command |
//! |---|---|---|---|
//! | A | `relationMetadata` rows, RELATION fields without settings | RELATION fields with `relationType`, `joinColumnName`, `onDelete` and target | `0-44`…`0-52` migrate-relations-to-field-metadata |
//! | A | UUID fields `<name>Id` labelled "(foreign key)" | dropped (the relation field owns the column) | `0-53-remove-relation-foreign-key-field-metadata` |
//! | A, B | noteTarget/taskTarget/attachment RELATION `company` on `companyId` | MORPH_RELATION `targetCompany`, column still `companyId` | `1-17-migrate-{note-target,task-target,attachment}-to-morph-relations` |
//! | A | attachment `type` (text labels) | `fileCategory` SELECT, values mapped | `1-10-migrate-attachment-type-to-file-category` |
//! | A | attachment `author` (`authorId`) | `createdBy` filled from the author where it names no member | `1-10-migrate-attachment-author-to-created-by` |
//! | A, B | RICH_TEXT_V2 | RICH_TEXT (see [`crate::model::FieldType::from_metadata`]) | `1-20-migrate-rich-text-to-text` |
//! | A | single-column RICH_TEXT `body` | TEXT (decided in `metadata.rs` by its columns) | `1-20-migrate-rich-text-to-text` |
//!
//! The activity-table rule applies per table, by the columns each one has, so a workspace whose
//! 1.17 upgrade stopped half-way is read correctly.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use tokio_postgres::Client;
use uuid::Uuid;

use super::metadata::RawField;
use super::{during, relation_exists, SourceError};
use crate::model::{quote_ident, Column, Field, FieldType};

/// One `relationMetadata` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRow {
    /// `ONE_TO_MANY`, `ONE_TO_ONE`, `MANY_TO_ONE` or `MANY_TO_MANY`.
    pub relation_type: String,
    /// The object on the "one" side.
    pub from_object: Uuid,
    /// The object that holds the join column.
    pub to_object: Uuid,
    /// The field on the "one" side (no column).
    pub from_field: Uuid,
    /// The field on the side that holds the join column.
    pub to_field: Uuid,
    /// `CASCADE`, `RESTRICT`, `SET_NULL` or `NO_ACTION`.
    pub on_delete: Option<String>,
}

/// Reads `<metadata schema>."relationMetadata"` for the workspace; empty where it does not exist.
/// Entity: `packages/twenty-server/src/engine/metadata-modules/relation-metadata/relation-metadata.entity.ts`.
pub async fn relation_rows(
    client: &Client,
    metadata_schema: &str,
    workspace: Uuid,
) -> Result<Vec<RelationRow>, SourceError> {
    let table = format!("{metadata_schema}.\"relationMetadata\"");
    if !relation_exists(client, &table).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "SELECT \"relationType\"::text, \"fromObjectMetadataId\", \"toObjectMetadataId\", \
                 \"fromFieldMetadataId\", \"toFieldMetadataId\", \"onDeleteAction\"::text \
                 FROM {table} WHERE \"workspaceId\" = $1"
            ),
            &[&workspace],
        )
        .await
        .map_err(during("reading relationMetadata"))?;
    Ok(rows
        .iter()
        .map(|r| RelationRow {
            relation_type: r.get(0),
            from_object: r.get(1),
            to_object: r.get(2),
            from_field: r.get(3),
            to_field: r.get(4),
            on_delete: r.get(5),
        })
        .collect())
}

/// Gives RELATION fields that carry no relation settings of their own what `relationMetadata`
/// says: the "from" field is the ONE_TO_MANY side, the "to" field the MANY_TO_ONE side whose
/// join column is `<to field name>Id` (the column Twenty created for it).
pub(crate) fn apply_relation_rows(
    fields: &mut BTreeMap<Uuid, Vec<RawField>>,
    rows: &[RelationRow],
) {
    for row in rows {
        if row.relation_type == "MANY_TO_MANY" {
            continue;
        }
        if let Some(f) = find(fields, row.from_object, row.from_field) {
            if f.relation_target.is_none() {
                f.relation_target = Some(row.to_object);
                f.settings = Some(json!({ "relationType": "ONE_TO_MANY" }));
            }
        }
        if let Some(f) = find(fields, row.to_object, row.to_field) {
            if f.relation_target.is_none() {
                f.relation_target = Some(row.from_object);
                let mut settings = json!({
                    "relationType": "MANY_TO_ONE",
                    "joinColumnName": format!("{}Id", f.name),
                });
                if let Some(action) = &row.on_delete {
                    settings["onDelete"] = Value::String(action.clone());
                }
                f.settings = Some(settings);
            }
        }
    }
}

/// Field id → its inverse field id, as `relationMetadata` pairs them (both directions); the
/// layout A counterpart of `fieldMetadata.relationTargetFieldMetadataId`.
pub fn relation_inverses(rows: &[RelationRow]) -> HashMap<Uuid, Uuid> {
    rows.iter()
        .filter(|r| r.relation_type != "MANY_TO_MANY")
        .flat_map(|r| [(r.from_field, r.to_field), (r.to_field, r.from_field)])
        .collect()
}

fn find(
    fields: &mut BTreeMap<Uuid, Vec<RawField>>,
    object: Uuid,
    field: Uuid,
) -> Option<&mut RawField> {
    fields.get_mut(&object)?.iter_mut().find(|f| f.id == field)
}

/// The join column of a MANY_TO_ONE relation field, if it is one.
fn join_column(f: &RawField) -> Option<String> {
    if !matches!(f.type_name.as_str(), "RELATION" | "MORPH_RELATION") {
        return None;
    }
    let settings = f.settings.as_ref()?;
    if settings.get("relationType").and_then(Value::as_str) != Some("MANY_TO_ONE") {
        return None;
    }
    Some(
        settings
            .get("joinColumnName")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}Id", f.name)),
    )
}

/// Drops the UUID foreign-key fields of the relation era before 0.53: a UUID field whose name is
/// the join column of a relation on the same object (Twenty's 0.53 command deleted exactly these,
/// selected by type UUID and the "(foreign key)" label). The relation field keeps the column.
pub(crate) fn drop_foreign_key_fields(fields: &mut Vec<RawField>) {
    let joins: Vec<String> = fields.iter().filter_map(join_column).collect();
    fields.retain(|f| !(f.type_name == "UUID" && joins.contains(&f.name)));
}

/// Renames the activity-target relations of a table still at its pre-1.17 stage as the 1.17
/// command does (`target` + capitalised name, type MORPH_RELATION) while keeping the column the
/// table really has. The parent link (`noteTarget.note`, `taskTarget.task`) and member links
/// (`attachment.author`) are not targets and stay as they are.
pub(crate) fn rename_activity_targets(
    table: &str,
    fields: &mut [RawField],
    object_names: &HashMap<Uuid, String>,
) {
    let parent = match table {
        "noteTarget" => "note",
        "taskTarget" => "task",
        _ => "",
    };
    for f in fields.iter_mut() {
        if f.type_name != "RELATION" || f.name == parent {
            continue;
        }
        let Some(column) = join_column(f) else {
            continue;
        };
        let target = f.relation_target.and_then(|t| object_names.get(&t));
        if target.is_none_or(|t| t == "workspaceMember") {
            continue;
        }
        let mut chars = f.name.chars();
        let Some(first) = chars.next() else {
            continue;
        };
        f.name = format!("target{}{}", first.to_uppercase(), chars.as_str());
        f.type_name = "MORPH_RELATION".to_owned();
        if let Some(settings) = f.settings.as_mut() {
            settings["joinColumnName"] = Value::String(column);
        }
    }
}

/// `type` label → `fileCategory` value, as `1-10-migrate-attachment-type-to-file-category`
/// maps them (anything else becomes OTHER).
pub const FILE_CATEGORIES: [(&str, &str); 8] = [
    ("Archive", "ARCHIVE"),
    ("Audio", "AUDIO"),
    ("Image", "IMAGE"),
    ("Presentation", "PRESENTATION"),
    ("Spreadsheet", "SPREADSHEET"),
    ("TextDocument", "TEXT_DOCUMENT"),
    ("Video", "VIDEO"),
    ("Other", "OTHER"),
];

/// Pre-1.10 attachments: `type` becomes `fileCategory` and `author` feeds `createdBy`, as the
/// two 1.10 commands do, so the model shows the current fields. `schema` is the workspace schema
/// (the author's display name comes from its `workspaceMember` row).
pub fn attachment_before_1_10(fields: &mut Vec<Field>, schema: &str) {
    let has = |fields: &[Field], name: &str| fields.iter().any(|f| f.name == name);
    if has(fields, "type") && !has(fields, "fileCategory") {
        if let Some(f) = fields.iter_mut().find(|f| f.name == "type") {
            let cases: String = FILE_CATEGORIES
                .iter()
                .map(|(label, value)| format!(" WHEN '{label}' THEN '{value}'"))
                .collect();
            if let Some(c) = f.columns.first_mut() {
                c.read_expr = Some(format!(
                    "CASE {}::text{cases} ELSE 'OTHER' END",
                    quote_ident(&c.name)
                ));
            }
            f.name = "fileCategory".into();
            f.label = "File category".into();
            f.field_type = FieldType::Select;
            f.options = Some(Value::Array(
                FILE_CATEGORIES
                    .iter()
                    .enumerate()
                    .map(|(i, (label, value))| {
                        json!({"value": value, "label": label, "position": i})
                    })
                    .collect(),
            ));
        }
    }
    let Some(author_at) = fields.iter().position(|f| {
        f.name == "author"
            && f.relation
                .as_ref()
                .is_some_and(|r| r.target_object == "workspaceMember")
    }) else {
        return;
    };
    let Some(author_column) = fields[author_at].columns.first().map(|c| c.name.clone()) else {
        return;
    };
    let Some(created_by) = fields
        .iter_mut()
        .find(|f| f.name == "createdBy" && f.field_type == FieldType::Actor)
    else {
        return;
    };
    let member_col = created_by
        .columns
        .iter()
        .find(|c| c.sub_field.as_deref() == Some("workspaceMemberId"))
        .map(|c| quote_ident(&c.name));
    let Some(member_col) = member_col else {
        return;
    };
    let author = quote_ident(&author_column);
    // The command rewrites createdBy only where it names no member and the author exists.
    let from_author = format!(
        "{member_col} IS NULL AND EXISTS (SELECT 1 FROM {}.\"workspaceMember\" m WHERE m.id = {author})",
        quote_ident(schema)
    );
    let display_name = format!(
        "(SELECT coalesce(nullif(trim(concat(m.\"nameFirstName\", ' ', m.\"nameLastName\")), ''), 'Unknown') \
         FROM {}.\"workspaceMember\" m WHERE m.id = {author})",
        quote_ident(schema)
    );
    for c in created_by.columns.iter_mut() {
        let own = quote_ident(&c.name);
        let replacement = match c.sub_field.as_deref() {
            Some("workspaceMemberId") => author.clone(),
            Some("source") => "'MANUAL'".to_owned(),
            Some("name") => display_name.clone(),
            Some("context") => "'{}'::jsonb".to_owned(),
            _ => continue,
        };
        c.read_expr = Some(format!(
            "CASE WHEN {from_author} THEN {replacement} ELSE {own} END"
        ));
    }
    // The author now feeds createdBy; its column is listed there (as the `author` part, which
    // the transform does not send) so that it is not reported as an ignored column.
    let author_field = fields.remove(author_at);
    if let Some(created_by) = fields.iter_mut().find(|f| f.name == "createdBy") {
        created_by
            .columns
            .extend(author_field.columns.into_iter().map(|c| Column {
                sub_field: Some("author".into()),
                ..c
            }));
    }
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

    #[test]
    fn relation_metadata_rows_give_both_sides_their_direction_and_join_column() {
        let (company, person) = (Uuid::new_v4(), Uuid::new_v4());
        let people = raw("people", "RELATION", None, None);
        let employer = raw("company", "RELATION", None, None);
        let row = RelationRow {
            relation_type: "ONE_TO_MANY".into(),
            from_object: company,
            to_object: person,
            from_field: people.id,
            to_field: employer.id,
            on_delete: Some("SET_NULL".into()),
        };
        let mut fields = BTreeMap::from([
            (company, vec![people]),
            (person, vec![employer, raw("companyId", "UUID", None, None)]),
        ]);
        apply_relation_rows(&mut fields, &[row]);
        let p = &mut fields.get_mut(&person).unwrap();
        drop_foreign_key_fields(p);
        assert_eq!(p.len(), 1, "the foreign-key UUID field is gone");
        assert_eq!(p[0].relation_target, Some(company));
        assert_eq!(
            p[0].settings,
            Some(
                json!({"relationType":"MANY_TO_ONE","joinColumnName":"companyId","onDelete":"SET_NULL"})
            )
        );
        assert_eq!(
            fields[&company][0].settings,
            Some(json!({"relationType":"ONE_TO_MANY"}))
        );
    }

    #[test]
    fn relation_metadata_pairs_each_side_with_its_inverse() {
        let (from, to) = (Uuid::new_v4(), Uuid::new_v4());
        let rows = [RelationRow {
            relation_type: "ONE_TO_MANY".into(),
            from_object: Uuid::new_v4(),
            to_object: Uuid::new_v4(),
            from_field: from,
            to_field: to,
            on_delete: None,
        }];
        let inverses = relation_inverses(&rows);
        assert_eq!((inverses[&from], inverses[&to]), (to, from));
    }

    #[test]
    fn legacy_targets_become_morph_fields_on_their_old_columns_but_the_parent_does_not() {
        let (note, company, member) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let names = HashMap::from([
            (note, "note".to_string()),
            (company, "company".to_string()),
            (member, "workspaceMember".to_string()),
        ]);
        let m2o = |col: &str| Some(json!({"relationType":"MANY_TO_ONE","joinColumnName":col}));
        let mut fields = vec![
            raw("note", "RELATION", m2o("noteId"), Some(note)),
            raw("company", "RELATION", m2o("companyId"), Some(company)),
            raw("author", "RELATION", m2o("authorId"), Some(member)),
        ];
        rename_activity_targets("noteTarget", &mut fields, &names);
        assert_eq!(fields[0].name, "note");
        assert_eq!(fields[1].name, "targetCompany");
        assert_eq!(fields[1].type_name, "MORPH_RELATION");
        assert_eq!(
            fields[1].settings.as_ref().unwrap()["joinColumnName"],
            "companyId"
        );
        assert_eq!(fields[2].name, "author");
    }
}
