//! The target as the planner sees it once the diff is applied, and the record keys of renamed
//! fields.

use std::collections::HashMap;

use uuid::Uuid;

use super::{auto_relation_field, SchemaDiff, AUTO_RELATION_OBJECTS};
use crate::model::{Field, FieldType, Model, Object, Relation, RelationKind};
use crate::plan::Plan;
use crate::transform::Reference;

impl SchemaDiff {
    /// The target model as the planner should see it: the target with this diff applied
    /// (objects and fields it creates, the relations Twenty adds to each new object), and
    /// renamed things under their source names so that the planner's lookups by name match.
    /// Record keys are then put back to the target's names by [`Self::rename_keys`].
    pub fn plan_view(&self, target: &Model, source: &Model) -> Model {
        let mut view = target.clone();
        for o in &self.objects {
            let Some(src) = source.object(&o.source) else {
                continue;
            };
            // The object comes with Twenty's default fields; the source's non-custom fields
            // (id, name, createdAt, …) stand in for them.
            let fields = src
                .fields
                .iter()
                .filter(|f| !f.is_custom)
                .map(|f| Field {
                    columns: Vec::new(),
                    ..f.clone()
                })
                .collect();
            view.objects.push(Object {
                id: Uuid::nil(),
                name_singular: o.name_singular.clone(),
                name_plural: o.name_plural.clone(),
                label_singular: o.label_singular.clone(),
                label_plural: o.label_plural.clone(),
                is_custom: true,
                is_system: false,
                is_active: true,
                is_remote: false,
                table: String::new(),
                table_exists: true,
                fields,
                unmapped_columns: Vec::new(),
            });
            for (activity, morph) in AUTO_RELATION_OBJECTS {
                let name = auto_relation_field(&o.name_singular, *morph);
                if let Some(a) = view
                    .objects
                    .iter_mut()
                    .find(|x| x.name_singular == *activity)
                {
                    if a.field(&name).is_none() {
                        a.fields.push(projected_relation(
                            &name,
                            if *morph {
                                FieldType::MorphRelation
                            } else {
                                FieldType::Relation
                            },
                            &o.name_singular,
                        ));
                    }
                }
            }
        }
        for f in &self.fields {
            let Some(object) = view
                .objects
                .iter_mut()
                .find(|x| x.name_singular == f.object)
            else {
                continue;
            };
            let mut field = match &f.relation {
                Some(r) => projected_relation(&f.name, FieldType::Relation, &r.target_object),
                None => projected_relation(&f.name, f.field_type.clone(), ""),
            };
            if f.relation.is_none() {
                field.relation = None;
            }
            field.is_nullable = f.is_nullable;
            field.is_unique = f.is_unique;
            field.options = f.options.clone();
            object.fields.push(field);
        }
        // Renamed things under their source names.
        for r in &self.renames {
            match &r.field {
                None => {
                    if let Some(o) = view
                        .objects
                        .iter_mut()
                        .find(|o| o.name_singular == r.target)
                    {
                        o.name_singular = r.object.clone();
                    }
                }
                Some(field) => {
                    if let Some(o) = view
                        .objects
                        .iter_mut()
                        .find(|o| o.name_singular == r.object)
                    {
                        if let Some(f) = o.fields.iter_mut().find(|f| f.name == r.target) {
                            f.name = field.clone();
                        }
                    }
                }
            }
        }
        view
    }

    /// Puts the target's field names back into the plan's record keys for renamed fields
    /// (relations already use the target's join column).
    pub fn rename_keys(&self, plan: &mut Plan) {
        let renamed: HashMap<(&str, &str), &str> = self
            .renames
            .iter()
            .filter_map(|r| Some(((r.object.as_str(), r.field.as_deref()?), r.target.as_str())))
            .collect();
        for object in &mut plan.objects {
            for d in &mut object.fields {
                if d.reference != Reference::None {
                    continue;
                }
                if let Some(target) = renamed.get(&(object.object.as_str(), d.source.as_str())) {
                    d.key = (*target).to_owned();
                }
            }
        }
    }
}

/// A field of the projected target: a MANY_TO_ONE relation (join column `<name>Id`, as
/// `compute-morph-or-relation-field-join-column-name.util.ts` names it) or, with an empty
/// target, a plain field of `field_type`.
fn projected_relation(name: &str, field_type: FieldType, target_object: &str) -> Field {
    Field {
        id: Uuid::nil(),
        name: name.to_owned(),
        label: name.to_owned(),
        metadata_type: field_type.api_name().to_owned(),
        relation: Some(Relation {
            kind: RelationKind::ManyToOne,
            target_object_id: Uuid::nil(),
            target_object: target_object.to_owned(),
            join_column: Some(format!("{name}Id")),
        }),
        field_type,
        is_custom: true,
        is_system: false,
        is_active: true,
        is_nullable: true,
        is_unique: false,
        default_value: None,
        options: None,
        settings: None,
        columns: Vec::new(),
    }
}
