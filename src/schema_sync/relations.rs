//! The relations Twenty gives every new custom object, and the relation part of a field to
//! create.

use super::{names, NewRelation, SourceDetails};
use crate::model::{Field, Model, Object, Relation, RelationKind};

/// The standard objects Twenty gives a relation to every new custom object, and the field
/// each gets: `target<Name>` morph relations on the activity objects and `<name>` on favorite.
///
/// Source: `build-default-relation-flat-field-metadatas-for-custom-object.util.ts`
/// (`DEFAULT_RELATIONS_OBJECTS_STANDARD_IDS`: timelineActivity, favorite, attachment, noteTarget,
/// taskTarget; `target${capitalize(nameSingular)}` once the object is migrated to morph
/// relations, which timelineActivity always is and the others are behind the
/// `IS_*_MIGRATED` flags; join column `${name}Id`).
pub const AUTO_RELATION_OBJECTS: &[(&str, bool)] = &[
    ("noteTarget", true),
    ("taskTarget", true),
    ("attachment", true),
    ("timelineActivity", true),
    ("favorite", false),
];

/// The target's name of a source field that is the default relation of a custom object on one
/// of [`AUTO_RELATION_OBJECTS`] (its MANY_TO_ONE side), or `None` for any other field.
pub(super) fn default_relation(
    source: &Model,
    object: &Object,
    field: &Field,
    mapped: &dyn Fn(&str) -> String,
) -> Option<String> {
    let (_, morph) = AUTO_RELATION_OBJECTS
        .iter()
        .find(|(name, _)| *name == object.name_singular)?;
    let relation = field
        .relation
        .as_ref()
        .filter(|r| r.kind == RelationKind::ManyToOne)?;
    source
        .object(&relation.target_object)
        .filter(|t| t.is_custom)?;
    Some(auto_relation_field(
        &mapped(&relation.target_object),
        *morph,
    ))
}

/// The field Twenty adds on `activity` for a new custom object `name`.
pub fn auto_relation_field(name: &str, morph: bool) -> String {
    if morph {
        format!("target{}", names::capitalize(name))
    } else {
        name.to_owned()
    }
}

/// The relation payload of a MANY_TO_ONE source field: the inverse is the source's own inverse
/// field when known, else one named after this object's plural.
pub(super) fn new_relation(
    source: &Model,
    object: &Object,
    field: &Field,
    relation: &Relation,
    details: &SourceDetails,
    mapped: &dyn Fn(&str) -> String,
) -> NewRelation {
    let target_object = source.object(&relation.target_object);
    let inverse = details
        .inverse
        .get(&field.id)
        .and_then(|id| target_object.and_then(|t| t.fields.iter().find(|f| f.id == *id)))
        .or_else(|| {
            // No inverse id recorded: the only ONE_TO_MANY field pointing back, if unique.
            let back: Vec<&Field> = target_object
                .map(|t| {
                    t.fields
                        .iter()
                        .filter(|g| {
                            g.relation.as_ref().is_some_and(|r| {
                                r.kind == RelationKind::OneToMany
                                    && r.target_object == object.name_singular
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            (back.len() == 1).then(|| back[0])
        });
    let (inverse_name, inverse_label, inverse_icon) = match inverse {
        Some(inv) => (
            names::target_name(&inv.name),
            inv.label.clone(),
            details.field(inv.id).icon,
        ),
        None => (
            names::target_name(&object.name_plural),
            object.label_plural.clone(),
            None,
        ),
    };
    NewRelation {
        kind: RelationKind::ManyToOne,
        target_object: mapped(&relation.target_object),
        inverse_name,
        inverse_label,
        inverse_icon,
    }
}
