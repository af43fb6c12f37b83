//! Standard fields of the source that the target's standard model no longer has, recreated as
//! custom fields so that their values move.

use super::compare::creatable;
use super::options::creatable_options;
use super::{names, NewField, NotCreated, Rename, SchemaDiff, SourceDetails};
use crate::model::{FieldType, Model};

/// Standard fields whose values another part of the tool moves or that are not data: the
/// attachment's storage path and category (the files phase), the person's picture path (moved
/// into `avatarFile`), and the pre-0.42 single-column `body` of notes and tasks (superseded by
/// `bodyV2`).
const NOT_RECREATED: &[(&str, &str)] = &[
    ("attachment", "*"),
    ("person", "avatarUrl"),
    ("note", "body"),
    ("task", "body"),
];

/// Standard scalar fields of migrated standard objects that the target's object lacks, as
/// custom fields to create (same name unless reserved, same type, label and settings).
pub(super) fn dropped_standard_fields(
    source: &Model,
    target: &Model,
    details: &SourceDetails,
    out: &mut SchemaDiff,
) -> Vec<NewField> {
    let mut fields = Vec::new();
    for o in &source.objects {
        let migrated = !o.is_custom
            && o.is_active
            && !o.is_remote
            && o.table_exists
            && crate::plan::skip_rule(&o.name_singular).is_none();
        let Some(tobject) = target.object(&o.name_singular).filter(|_| migrated) else {
            continue;
        };
        for f in &o.fields {
            let excluded = NOT_RECREATED
                .iter()
                .any(|(obj, name)| *obj == o.name_singular && (*name == "*" || *name == f.name));
            if f.is_custom
                || f.is_system
                || !f.is_active
                || f.relation.is_some()
                || f.columns.is_empty()
                || excluded
                || matches!(f.field_type, FieldType::Relation | FieldType::Position)
                || !creatable(&f.field_type)
                || tobject.field(&f.name).is_some()
            {
                continue;
            }
            let name = names::target_name(&f.name);
            if name != f.name {
                if tobject.field(&name).is_some() {
                    continue;
                }
                out.renames.push(Rename {
                    object: o.name_singular.clone(),
                    field: Some(f.name.clone()),
                    target: name.clone(),
                });
            }
            let Some(options) = creatable_options(o, f, out) else {
                out.not_created.push(NotCreated {
                    object: o.name_singular.clone(),
                    field: Some(f.name.clone()),
                    reason: "none of its options can be created in the target (values must be UPPER_SNAKE_CASE)".into(),
                });
                continue;
            };
            let mut field = NewField::like(o, f, details, o.name_singular.clone(), name, options);
            field.standard = true;
            fields.push(field);
        }
    }
    fields
}
