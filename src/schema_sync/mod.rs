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
pub mod names;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::model::{Field, FieldType, Model, Object, Relation, RelationKind};
use crate::plan::Plan;
use crate::transform::Reference;

pub use crate::model::{Presentation, SourceDetails};
pub use apply::{apply, apply_to, SchemaError, SchemaReport};

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
fn default_relation(
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

/// The types a client may create (`from-create-field-input-to-flat-field-metadatas-to-create.util.ts`:
/// every type but TS_VECTOR; POSITION and ACTOR are system fields Twenty adds itself, FILES
/// move with the files phase, MORPH_RELATION needs a morph payload this tool does not build).
fn creatable(t: &FieldType) -> bool {
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

/// Option values of a SELECT/MULTI_SELECT field's `options`.
fn option_values(options: Option<&Value>) -> Vec<String> {
    options
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether Twenty accepts `value` as an option value: 1–63 characters, SCREAMING_SNAKE_CASE
/// starting with a letter (`validate-enum-flat-field-metadata.util.ts` with
/// `src/utils/is-snake-case-string.ts`: `^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`).
pub fn option_value_accepted(value: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| regex::Regex::new(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$").expect("static regex"));
    value.len() <= 63 && re.is_match(value)
}

/// Splits source options into those the target accepts (cleaned, positions from 0) and the
/// values it would refuse. A refused value is not dropped: records carrying it are sent as they
/// are and the target rejects them, so each lands in the rejects file.
fn split_options<'a>(options: impl Iterator<Item = &'a Value>) -> (Vec<Value>, Vec<String>) {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for o in options {
        let value = o.get("value").and_then(Value::as_str).unwrap_or("");
        if option_value_accepted(value) {
            accepted.push(clean_option(o, accepted.len()));
        } else {
            refused.push(value.to_owned());
        }
    }
    (accepted, refused)
}

/// The warning for option values the target refuses.
fn refused_warning(at: &str, refused: &[String]) -> String {
    format!(
        "{at}: option value(s) {} cannot be created in the target (values must be UPPER_SNAKE_CASE, at most 63 characters); records carrying them will be rejected by the target and listed in the rejects file",
        refused
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A source option as Twenty accepts it: `{id, value, label, color, position}`, with an unknown
/// colour replaced by `gray` (the server refuses colours outside `TagColor`) and an id kept
/// only when it is a UUID (`validate-enum-flat-field-metadata.util.ts`: "Option id is invalid").
fn clean_option(option: &Value, position: usize) -> Value {
    let value = option.get("value").and_then(Value::as_str).unwrap_or("");
    // Labels must be 1–63 characters without a comma (validate-enum-flat-field-metadata.util.ts).
    let label: String = option
        .get("label")
        .and_then(Value::as_str)
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(value)
        .replace(',', " ")
        .chars()
        .take(63)
        .collect();
    let color = option
        .get("color")
        .and_then(Value::as_str)
        .filter(|c| names::OPTION_COLORS.contains(c))
        .unwrap_or("gray");
    let id = option
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(Uuid::new_v4);
    json!({"id": id, "value": value, "label": label, "color": color, "position": position})
}

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

/// The options to create with a field: `Some(None)` for a type without options, `None` when
/// it has options but Twenty would refuse every one (the refused ones are warned about).
fn creatable_options(
    object: &Object,
    field: &Field,
    out: &mut SchemaDiff,
) -> Option<Option<Value>> {
    if !matches!(field.field_type, FieldType::Select | FieldType::MultiSelect) {
        return Some(None);
    }
    let list = field.options.as_ref().and_then(Value::as_array);
    let (accepted, refused) = split_options(list.into_iter().flatten());
    if !refused.is_empty() {
        out.warnings.push(refused_warning(
            &format!("{}.{}", object.name_singular, field.name),
            &refused,
        ));
    }
    (!accepted.is_empty()).then_some(Some(Value::Array(accepted)))
}

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
fn dropped_standard_fields(
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

/// The relation payload of a MANY_TO_ONE source field: the inverse is the source's own inverse
/// field when known, else one named after this object's plural.
fn new_relation(
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

impl SchemaDiff {
    /// Whether applying the diff would create anything.
    pub fn has_changes(&self) -> bool {
        !self.objects.is_empty() || !self.fields.is_empty() || !self.options.is_empty()
    }

    /// One blocker sentence per conflict.
    pub fn blockers(&self) -> Vec<String> {
        self.conflicts.iter().map(|c| c.sentence.clone()).collect()
    }

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

    /// The diff as text, for `plan`.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "data model sync");
        if !self.has_changes()
            && self.conflicts.is_empty()
            && self.not_created.is_empty()
            && self.renames.is_empty()
        {
            let _ = writeln!(
                out,
                "  the target already has every custom object and field"
            );
        }
        for o in &self.objects {
            let _ = writeln!(
                out,
                "  create object {} ({} / {})",
                o.name_singular, o.label_singular, o.label_plural
            );
        }
        let mut by_object: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for f in &self.fields {
            let what = match &f.relation {
                Some(r) => format!(
                    "{} RELATION → {} (inverse {})",
                    f.name, r.target_object, r.inverse_name
                ),
                None => match f.options.as_ref().and_then(Value::as_array) {
                    Some(options) => format!(
                        "{} {} ({} options)",
                        f.name,
                        f.field_type.api_name(),
                        options.len()
                    ),
                    None => format!("{} {}", f.name, f.field_type.api_name()),
                },
            };
            let what = if f.standard {
                format!("{what} (standard in the source, not in the target's model)")
            } else {
                what
            };
            by_object.entry(f.object.as_str()).or_default().push(what);
        }
        for (object, fields) in by_object {
            let _ = writeln!(out, "  create fields on {object}: {}", fields.join(", "));
        }
        for o in &self.options {
            let values: Vec<&str> = o
                .options
                .iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str))
                .collect();
            let _ = writeln!(
                out,
                "  add options to {}.{}: {}",
                o.object,
                o.field,
                values.join(", ")
            );
        }
        for r in &self.renames {
            let _ = match &r.field {
                Some(f) => writeln!(
                    out,
                    "  {}.{f} is {} in the target (reserved name)",
                    r.object, r.target
                ),
                None => writeln!(
                    out,
                    "  object {} is {} in the target (reserved name)",
                    r.object, r.target
                ),
            };
        }
        for n in &self.not_created {
            let at = match &n.field {
                Some(f) => format!("{}.{f}", n.object),
                None => n.object.clone(),
            };
            let _ = writeln!(out, "  not created: {at}: {}", n.reason);
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  note: {w}");
        }
        for c in &self.conflicts {
            let _ = writeln!(out, "  INCOMPATIBLE: {}", c.sentence);
        }
        out
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

#[cfg(test)]
mod tests;
