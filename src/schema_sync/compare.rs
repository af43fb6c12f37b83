//! The diff of the two models: the custom objects and fields the target lacks, and the fields
//! both sides define differently.

use std::collections::HashMap;

use serde_json::Value;

use super::options::{creatable_options, option_values, refused_warning, split_options};
use super::relations::{
    auto_relation_field, default_relation, new_relation, AUTO_RELATION_OBJECTS,
};
use super::standard::dropped_standard_fields;
use super::{
    names, Conflict, NewField, NewObject, NewOptions, NotCreated, Rename, SchemaDiff,
    SchemaOptions, SourceDetails,
};
use crate::model::{Field, FieldType, Model, Object, RelationKind};

/// Compares the source model with the target's and lists what the sync creates.
///
/// `target` is the target's model as read from `/metadata`. The comparison looks at custom
/// objects and at custom, non-system fields only: system fields (`id`, `createdAt`, the
/// relations Twenty adds for activities) come with the objects.
pub fn diff(
    source: &Model,
    target: &Model,
    details: &SourceDetails,
    opts: &SchemaOptions,
) -> SchemaDiff {
    let mut out = SchemaDiff::default();

    // Object names in the target: the same, or `<name>Custom` for a reserved one.
    let mut object_name: HashMap<&str, String> = HashMap::new();
    for o in &source.objects {
        let name = if target.object(&o.name_singular).is_some() || !o.is_custom {
            o.name_singular.clone()
        } else {
            names::target_name(&o.name_singular)
        };
        object_name.insert(o.name_singular.as_str(), name);
    }
    let mapped = |name: &str| -> String {
        object_name
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    };

    // Objects.
    let mut created: Vec<&str> = Vec::new();
    for o in source
        .objects
        .iter()
        .filter(|o| o.is_custom && !o.is_remote)
    {
        let name = mapped(&o.name_singular);
        if name != o.name_singular {
            out.renames.push(Rename {
                object: o.name_singular.clone(),
                field: None,
                target: name.clone(),
            });
            for (activity, morph) in AUTO_RELATION_OBJECTS {
                out.renames.push(Rename {
                    object: (*activity).to_owned(),
                    field: Some(auto_relation_field(&o.name_singular, *morph)),
                    target: auto_relation_field(&name, *morph),
                });
            }
        }
        if target.object(&name).is_some() {
            continue;
        }
        if !o.is_active && !opts.include_inactive {
            out.not_created.push(NotCreated {
                object: o.name_singular.clone(),
                field: None,
                reason:
                    "the object is inactive in the source; pass --include-inactive to create it"
                        .into(),
            });
            continue;
        }
        let plural = if name == o.name_singular {
            o.name_plural.clone()
        } else {
            names::target_name(&o.name_plural)
        };
        out.objects.push(NewObject {
            source: o.name_singular.clone(),
            name_singular: name,
            name_plural: plural,
            label_singular: o.label_singular.clone(),
            label_plural: o.label_plural.clone(),
            presentation: details.object(o.id),
        });
        created.push(o.name_singular.as_str());
    }
    let will_exist = |source_name: &str| -> bool {
        target.object(&mapped(source_name)).is_some() || created.contains(&source_name)
    };

    // Fields.
    let mut scalars = Vec::new();
    let mut relations = Vec::new();
    for o in &source.objects {
        let object_target = mapped(&o.name_singular);
        let tobject = target.object(&object_target);
        for f in o.fields.iter().filter(|f| f.is_custom && !f.is_system) {
            // The relation Twenty gives every custom object on the activity objects (noteTarget,
            // taskTarget, attachment, timelineActivity, favorite) comes with the object; a 1.x
            // source still names it after the object (`timelineActivity.pet`). Creating it
            // again is refused ("Name \"timelineActivities\" is not available"), so it is
            // mapped onto the one the target makes.
            if let Some(name) = default_relation(source, o, f, &mapped) {
                if name != f.name {
                    out.renames.push(Rename {
                        object: o.name_singular.clone(),
                        field: Some(f.name.clone()),
                        target: name,
                    });
                }
                continue;
            }
            let not_created = |reason: String| NotCreated {
                object: o.name_singular.clone(),
                field: Some(f.name.clone()),
                reason,
            };
            // The name in the target: an existing exact match wins, else Twenty's rename.
            let existing_exact = tobject.and_then(|t| t.field(&f.name));
            let name = if existing_exact.is_some() {
                f.name.clone()
            } else {
                names::target_name(&f.name)
            };
            if name != f.name {
                out.renames.push(Rename {
                    object: o.name_singular.clone(),
                    field: Some(f.name.clone()),
                    target: name.clone(),
                });
            }
            if let Some(tfield) = tobject.and_then(|t| t.field(&name)) {
                compare(o, f, tfield, &mapped, &mut out);
                continue;
            }
            // The field is missing in the target.
            if !will_exist(&o.name_singular) {
                if o.is_custom && !o.is_active && !opts.include_inactive {
                    continue; // reported with its object
                }
                out.not_created.push(not_created(format!(
                    "the target has no object {object_target}"
                )));
                continue;
            }
            if !f.is_active && !opts.include_inactive {
                out.not_created.push(not_created(
                    "the field is inactive in the source; pass --include-inactive to create it"
                        .into(),
                ));
                continue;
            }
            if !creatable(&f.field_type) {
                out.not_created.push(not_created(format!(
                    "fields of type {} cannot be created through the metadata API by this tool",
                    f.metadata_type
                )));
                continue;
            }
            let relation = match &f.relation {
                // Created as the inverse of its MANY_TO_ONE side.
                Some(r) if r.kind == RelationKind::OneToMany => continue,
                Some(r) => {
                    if !will_exist(&r.target_object) {
                        out.not_created.push(not_created(format!(
                            "it points at {}, which the target does not have and the sync does not create",
                            r.target_object
                        )));
                        continue;
                    }
                    Some(new_relation(source, o, f, r, details, &mapped))
                }
                None if f.field_type == FieldType::Relation => {
                    out.not_created.push(not_created(
                        "the source does not say which object the relation points at".into(),
                    ));
                    continue;
                }
                None => None,
            };
            let Some(options) = creatable_options(o, f, &mut out) else {
                out.not_created.push(not_created(
                    "none of its options can be created in the target (values must be UPPER_SNAKE_CASE)".into(),
                ));
                continue;
            };
            let field = NewField::like(o, f, details, object_target.clone(), name, options)
                .with_relation(relation);
            if field.relation.is_some() {
                relations.push(field);
            } else {
                scalars.push(field);
            }
        }
    }
    if opts.standard_fields {
        scalars.extend(dropped_standard_fields(source, target, details, &mut out));
    }
    out.fields = scalars;
    out.fields.extend(relations);
    out
}

/// The types a client may create (`from-create-field-input-to-flat-field-metadatas-to-create.util.ts`:
/// every type but TS_VECTOR; POSITION and ACTOR are system fields Twenty adds itself, FILES
/// move with the files phase, MORPH_RELATION needs a morph payload this tool does not build).
pub(super) fn creatable(t: &FieldType) -> bool {
    use FieldType::*;
    matches!(
        t,
        Uuid | Text
            | Phones
            | Emails
            | DateTime
            | Date
            | Boolean
            | Number
            | Numeric
            | Links
            | Currency
            | FullName
            | Rating
            | Select
            | MultiSelect
            | Relation
            | Address
            | RawJson
            | RichText
            | Array
    )
}

/// Source and target types that hold the same values (same rule as the planner).
fn compatible(source: &FieldType, target: &FieldType) -> bool {
    use FieldType::*;
    source == target
        || matches!(
            (source, target),
            (Relation, MorphRelation)
                | (MorphRelation, Relation)
                | (Number, Numeric)
                | (Numeric, Number)
        )
}

/// Compares a custom source field with the same-named target field.
fn compare(
    object: &Object,
    field: &Field,
    tfield: &Field,
    mapped: &dyn Fn(&str) -> String,
    out: &mut SchemaDiff,
) {
    let at = format!("{}.{}", object.name_singular, field.name);
    let conflict = |sentence: String| Conflict {
        object: object.name_singular.clone(),
        field: field.name.clone(),
        sentence,
    };
    let remedy = "rename or delete that field in the target (Settings → Data model) or rename it in the source, then run plan again";
    if !compatible(&field.field_type, &tfield.field_type) {
        out.conflicts.push(conflict(format!(
            "{at} is {} in the source but the target already has a field {} of type {}; {remedy}",
            field.field_type.api_name(),
            tfield.name,
            tfield.metadata_type
        )));
        return;
    }
    if let (Some(sr), Some(tr)) = (&field.relation, &tfield.relation) {
        let expected = mapped(&sr.target_object);
        if tr.target_object != expected || tr.kind != sr.kind {
            out.conflicts.push(conflict(format!(
                "{at} points at {} ({:?}) in the source but the target's {} points at {} ({:?}); {remedy}",
                sr.target_object, sr.kind, tfield.name, tr.target_object, tr.kind
            )));
            return;
        }
    }
    if tfield.is_unique && !field.is_unique {
        out.conflicts.push(conflict(format!(
            "{at} is unique in the target but not in the source, so records sharing a value would be merged or refused; make the target's field non-unique (Settings → Data model), then run plan again"
        )));
        return;
    }
    if field.is_unique && !tfield.is_unique {
        out.warnings.push(format!(
            "{at} is unique in the source but not in the target; values move unchanged and the target will not enforce uniqueness"
        ));
    }
    if matches!(field.field_type, FieldType::Select | FieldType::MultiSelect) {
        let have = option_values(tfield.options.as_ref());
        let list = field.options.as_ref().and_then(Value::as_array);
        let (missing, refused) = split_options(list.into_iter().flatten().filter(|o| {
            o.get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| !have.iter().any(|h| h == v))
        }));
        if !refused.is_empty() {
            out.warnings.push(refused_warning(&at, &refused));
        }
        if !missing.is_empty() {
            out.options.push(NewOptions {
                object: mapped(&object.name_singular),
                field: tfield.name.clone(),
                options: missing,
            });
        }
    }
}
