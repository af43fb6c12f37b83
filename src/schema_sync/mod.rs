//! Data model sync: recreate the source's custom objects, fields and select options in the
//! target through the metadata API, before the records move.
//!
//! [`diff`] compares the two models (pure); [`SchemaDiff::plan_view`] shows the planner the
//! target as it will be once the diff is applied; [`apply`] creates what is missing, objects
//! first, then scalar and composite fields, then relations, and re-reads the target before each
//! step so that a rerun creates nothing twice.
//!
//! Only custom things are created, with one exception that keeps data: a standard field the
//! target lacks (newer Twenty dropped `company.employees`, `xLink`, `annualRecurringRevenue`,
//! `idealCustomerProfile` and `person.city`, `xLink` from its standard model —
//! `packages/twenty-shared/src/metadata/constants/standard-object-fields.constant.ts`) is
//! recreated as a custom field of the same name and type, so that its values move. Twenty's
//! create path makes it `isCustom: true`
//! (`get-default-flat-field-metadata-from-create-field-input.util.ts`); the plan says so.
//! `--no-standard-fields` turns this off (the fields are then not written).

pub(crate) mod apply;
mod compare;
pub mod names;
mod options;
mod relations;
mod render;
mod standard;
mod view;

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{Field, FieldType, Model, Object, RelationKind};

pub use crate::model::{Presentation, SourceDetails};
pub use apply::{apply, apply_to, SchemaError, SchemaReport};
pub use compare::diff;
pub use options::option_value_accepted;
pub use relations::{auto_relation_field, AUTO_RELATION_OBJECTS};

// `apply` reads the options of an existing field as `super::option_values`.
use options::option_values;

/// What the sync may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Create missing custom objects, fields and options before the records (off with
    /// `--no-schema`).
    pub sync: bool,
    /// Also create objects and fields that are inactive in the source (`--include-inactive`).
    pub include_inactive: bool,
    /// Recreate standard fields the target lacks as custom fields (off with
    /// `--no-standard-fields`).
    pub standard_fields: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        Self {
            sync: true,
            include_inactive: false,
            standard_fields: true,
        }
    }
}

/// The source model as the planner should see it: with `--include-inactive`, inactive objects
/// move like active ones (their records too, not only their definition).
pub fn planned_source<'a>(source: &'a Model, opts: &SchemaOptions) -> Cow<'a, Model> {
    if !opts.sync || !opts.include_inactive || source.objects.iter().all(|o| o.is_active) {
        return Cow::Borrowed(source);
    }
    let mut model = source.clone();
    for o in &mut model.objects {
        o.is_active = true;
    }
    Cow::Owned(model)
}

/// A custom object to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewObject {
    /// The source's `nameSingular`.
    pub source: String,
    /// `nameSingular` in the target (the source's, or `<name>Custom` when reserved).
    pub name_singular: String,
    /// `namePlural` in the target.
    pub name_plural: String,
    /// `labelSingular`.
    pub label_singular: String,
    /// `labelPlural`.
    pub label_plural: String,
    /// Description and icon.
    pub presentation: Presentation,
}

/// The relation part of a field to create (always created from its MANY_TO_ONE side, so that
/// the join column is the one this side names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewRelation {
    /// `MANY_TO_ONE`.
    pub kind: RelationKind,
    /// The target's `nameSingular` of the object the relation points at.
    pub target_object: String,
    /// The inverse field's name (`relationCreationPayload.targetFieldName`).
    pub inverse_name: String,
    /// The inverse field's label (`targetFieldLabel`; older servers derive the name from it).
    pub inverse_label: String,
    /// The inverse field's icon (`targetFieldIcon`).
    pub inverse_icon: Option<String>,
}

/// A custom field to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewField {
    /// The target's `nameSingular` of the object that gets the field.
    pub object: String,
    /// The field name in the target.
    pub name: String,
    /// The source's object and field, for messages.
    pub source: String,
    /// The type to create.
    pub field_type: FieldType,
    /// `label`.
    pub label: String,
    /// Description and icon.
    pub presentation: Presentation,
    /// `isNullable`.
    pub is_nullable: bool,
    /// `isUnique`.
    pub is_unique: bool,
    /// `defaultValue` as the source stores it (Twenty's own format).
    pub default_value: Option<Value>,
    /// SELECT/MULTI_SELECT options (`{id, value, label, color, position}`).
    pub options: Option<Value>,
    /// Type settings (NUMBER `dataType`/`decimals`, LINKS variant, …).
    pub settings: Option<Value>,
    /// For RELATION fields.
    pub relation: Option<NewRelation>,
    /// A standard field of the source that the target's standard model no longer has,
    /// recreated as a custom field.
    pub standard: bool,
}

impl NewField {
    /// A field to create on `object` (the target's name) like the source's `field`, under
    /// `name`, with `options`; no relation, not standard.
    fn like(
        source: &Object,
        field: &Field,
        details: &SourceDetails,
        object: String,
        name: String,
        options: Option<Value>,
    ) -> Self {
        Self {
            object,
            name,
            source: format!("{}.{}", source.name_singular, field.name),
            field_type: field.field_type.clone(),
            label: field.label.clone(),
            presentation: details.field(field.id),
            is_nullable: field.is_nullable,
            is_unique: field.is_unique,
            default_value: field.default_value.clone(),
            options,
            settings: field.settings.clone(),
            relation: None,
            standard: false,
        }
    }

    fn with_relation(mut self, relation: Option<NewRelation>) -> Self {
        self.relation = relation;
        self
    }

    /// The `createOneField` input (`create-field.input.ts`), without `objectMetadataId` and
    /// `relationCreationPayload.targetObjectMetadataId`, which only the target knows.
    pub fn input(&self) -> Value {
        // 2.21 creates no NUMERIC field ("Use NUMBER instead", recorded in
        // `tests/conformance/twenty-2.21/metadata-create-field-numeric.json`): a source NUMERIC
        // becomes a float NUMBER, which the planner writes (NUMERIC values fit when a double
        // holds them; others are rejected with the target's reason).
        let numeric = self.field_type == FieldType::Numeric;
        let mut input = json!({
            "type": if numeric { "NUMBER" } else { self.field_type.api_name() },
            "name": self.name,
            "label": self.label,
            "isNullable": self.is_nullable,
        });
        let set = |input: &mut Value, key: &str, value: Option<Value>| {
            if let Some(v) = value.filter(|v| !v.is_null()) {
                input[key] = v;
            }
        };
        set(
            &mut input,
            "description",
            self.presentation.description.clone().map(Value::String),
        );
        set(
            &mut input,
            "icon",
            self.presentation.icon.clone().map(Value::String),
        );
        if self.relation.is_none() {
            // Twenty computes a relation's settings itself (relation type, join column).
            let settings = if numeric {
                Some(json!({"dataType": "float", "type": "number"}))
            } else {
                self.settings.clone()
            };
            set(&mut input, "settings", settings);
            set(&mut input, "defaultValue", self.default_value.clone());
            if self.is_unique {
                input["isUnique"] = Value::Bool(true);
            }
        }
        // RATING options are generated by the server (`generateRatingOptions` in
        // `from-create-field-input-to-flat-field-metadatas-to-create.util.ts`).
        if matches!(self.field_type, FieldType::Select | FieldType::MultiSelect) {
            set(&mut input, "options", self.options.clone());
        }
        input
    }
}

/// SELECT/MULTI_SELECT options to add to a field that exists on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOptions {
    /// The target's object name.
    pub object: String,
    /// The target's field name.
    pub field: String,
    /// The options to append (`{id, value, label, color}`; positions are given at apply time).
    pub options: Vec<Value>,
}

/// A field defined differently on both sides: the run cannot start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The source's object name.
    pub object: String,
    /// The source's field name.
    pub field: String,
    /// What differs and what the user can do, in one sentence.
    pub sentence: String,
}

/// Something of the source the sync does not create, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCreated {
    /// The source's object name.
    pub object: String,
    /// The source's field name (none for a whole object).
    pub field: Option<String>,
    /// Why, in a sentence.
    pub reason: String,
}

/// A source name the target spells differently (a reserved name got `Custom`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    /// The source's object name (for an object rename: the object itself).
    pub object: String,
    /// The source's field name; `None` when the object is renamed.
    pub field: Option<String>,
    /// The name in the target.
    pub target: String,
}

/// Everything the sync would create, and what stops it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SchemaDiff {
    /// Custom objects missing in the target, by name.
    pub objects: Vec<NewObject>,
    /// Custom fields missing in the target: scalars and composites first, then relations.
    pub fields: Vec<NewField>,
    /// Options missing on existing SELECT/MULTI_SELECT fields.
    pub options: Vec<NewOptions>,
    /// Incompatible definitions; each is a blocker.
    pub conflicts: Vec<Conflict>,
    /// Differences that do not stop the run (e.g. uniqueness the target does not enforce).
    pub warnings: Vec<String>,
    /// Source objects and fields not created, with reasons.
    pub not_created: Vec<NotCreated>,
    /// Names the target spells differently; the mapping follows them.
    pub renames: Vec<Rename>,
}

impl SchemaDiff {
    /// Whether applying the diff would create anything.
    pub fn has_changes(&self) -> bool {
        !self.objects.is_empty() || !self.fields.is_empty() || !self.options.is_empty()
    }

    /// One blocker sentence per conflict.
    pub fn blockers(&self) -> Vec<String> {
        self.conflicts.iter().map(|c| c.sentence.clone()).collect()
    }
}

#[cfg(test)]
mod tests;
