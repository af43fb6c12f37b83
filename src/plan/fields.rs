//! The per-field decisions: which source fields are written under which key, and which are
//! dropped by which rule.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Field, FieldType, Object, RelationKind};
use crate::transform::Reference;

/// One source field and its key in the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDecision {
    /// Source field name.
    pub source: String,
    /// API key in the target body (field name, or join column for relations).
    pub key: String,
    /// Reference rewriting.
    pub reference: Reference,
    /// Written in the second pass (breaks a cycle or a self-reference).
    pub deferred: bool,
    /// Written after the configuration stage: a reference to a record that stage creates (a
    /// dashboard, [`super::moved_by_configuration`]), which does not exist in the target before.
    #[serde(default)]
    pub after_config: bool,
    /// The target enforces uniqueness on it (an upsert matches on it).
    pub unique: bool,
    /// Left out of the body when empty: the target is a NOT NULL TEXT field, and Twenty
    /// turns an empty string into null before it writes (`transform-text-field.util.ts`,
    /// `is-null-equivalent-text-field-value.util.ts`), which the column then refuses; left
    /// out, the column's default (`''`) applies.
    #[serde(default)]
    pub omit_empty: bool,
}

/// When a field is written: the pass of the records stage it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePass {
    /// With the record, in the records stage.
    First,
    /// In the links stage, once every record exists (references deferred to break a cycle).
    Deferred,
    /// After the configuration stage, once the records it creates exist (dashboards).
    AfterConfig,
}

impl FieldDecision {
    /// The pass that writes this field.
    pub fn pass(&self) -> WritePass {
        if self.after_config {
            WritePass::AfterConfig
        } else if self.deferred {
            WritePass::Deferred
        } else {
            WritePass::First
        }
    }
}

/// A source field the plan does not write, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedField {
    /// Source field name.
    pub field: String,
    /// Why, in a sentence.
    pub reason: String,
    /// The named rule; `verify` compares the field anyway and reports the values it loses.
    pub rule: DropRule,
}

/// Why a source field is not written, as a name that the plan, report and `verify` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropRule {
    /// Its content moves another way (an attachment's storage path moves as the file).
    MovedAsFile,
    /// A pre-0.42 single-column `body` whose content the source also holds in `bodyV2`, which
    /// moves (`0-42-migrate-rich-text-field.command.ts` filled `bodyV2` from it).
    Superseded,
    /// The target's object has no field of that name.
    MissingInTarget,
    /// The target's field of that name has another type.
    TypeMismatch,
    /// A relation to an object that is not migrated.
    TargetNotMigrated,
}

impl DropRule {
    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MovedAsFile => "moved-as-file",
            Self::Superseded => "superseded-by-body-v2",
            Self::MissingInTarget => "missing-in-target",
            Self::TypeMismatch => "type-mismatch",
            Self::TargetNotMigrated => "target-not-migrated",
        }
    }

    /// Whether the values of such a field are lost (and `verify` must say so).
    pub fn loses_values(self) -> bool {
        !matches!(self, Self::MovedAsFile | Self::Superseded)
    }
}

pub(super) enum FieldOutcome {
    /// Write it; the object name of a MANY_TO_ONE dependency, if any.
    Write(FieldDecision, Option<String>),
    Drop(DropRule, String),
    /// Not data (ONE_TO_MANY sides, generated columns, the id).
    Silent,
}

/// The decision on one field; `config`: the configuration stage runs (so the records it
/// creates can be referenced once it has).
pub(super) fn decide_field(
    object: &Object,
    field: &Field,
    target: &Object,
    chosen: &BTreeSet<&str>,
    config: bool,
) -> FieldOutcome {
    let name = field.name.as_str();
    if name == "id" || name == "deletedAt" || field.field_type == FieldType::TsVector {
        return FieldOutcome::Silent;
    }
    if field
        .relation
        .as_ref()
        .is_some_and(|r| r.kind == RelationKind::OneToMany)
    {
        return FieldOutcome::Silent;
    }
    if field.columns.is_empty() {
        return FieldOutcome::Silent;
    }
    if object.name_singular == "attachment" && name == "fullPath" {
        // A source storage path means nothing in the target: the bytes move through `file`.
        return FieldOutcome::Drop(
            DropRule::MovedAsFile,
            "a path in the source's storage; the file moves through the field file".into(),
        );
    }
    if matches!(object.name_singular.as_str(), "note" | "task")
        && name == "body"
        && object.field("bodyV2").is_some()
        && target.field(name).is_none()
    {
        return FieldOutcome::Drop(
            DropRule::Superseded,
            "the pre-0.42 single-column body; its content moves in bodyV2".into(),
        );
    }
    let Some(tfield) = target.field(name) else {
        return FieldOutcome::Drop(
            DropRule::MissingInTarget,
            format!("the target's {} has no field {name}", object.name_singular),
        );
    };
    if !compatible(&field.field_type, &tfield.field_type) {
        return FieldOutcome::Drop(
            DropRule::TypeMismatch,
            format!(
                "the target's {name} is {} where the source's is {}",
                tfield.field_type.api_name(),
                field.field_type.api_name()
            ),
        );
    }
    match &field.relation {
        Some(rel) => {
            let key = tfield
                .relation
                .as_ref()
                .and_then(|r| r.join_column.clone())
                .unwrap_or_else(|| format!("{name}Id"));
            let decision = |reference| FieldDecision {
                source: name.to_owned(),
                key: key.clone(),
                reference,
                deferred: false,
                after_config: false,
                unique: false,
                omit_empty: false,
            };
            if rel.target_object == "workspaceMember" {
                FieldOutcome::Write(decision(Reference::Member), None)
            } else if chosen.contains(rel.target_object.as_str()) {
                FieldOutcome::Write(decision(Reference::Record), Some(rel.target_object.clone()))
            } else if super::moved_by_configuration(&rel.target_object) && config {
                // No dependency edge: the records stage never waits for these.
                let late = FieldDecision {
                    after_config: true,
                    ..decision(Reference::Record)
                };
                FieldOutcome::Write(late, None)
            } else if super::moved_by_configuration(&rel.target_object) {
                FieldOutcome::Drop(
                    DropRule::TargetNotMigrated,
                    format!(
                        "it points at {}, which only the configuration stage moves (--no-config)",
                        rel.target_object
                    ),
                )
            } else {
                FieldOutcome::Drop(
                    DropRule::TargetNotMigrated,
                    format!("it points at {}, which is not migrated", rel.target_object),
                )
            }
        }
        None => FieldOutcome::Write(
            FieldDecision {
                source: name.to_owned(),
                key: name.to_owned(),
                reference: Reference::None,
                deferred: false,
                after_config: false,
                unique: tfield.is_unique,
                omit_empty: tfield.field_type == FieldType::Text && !tfield.is_nullable,
            },
            None,
        ),
    }
}

/// Source and target types that carry the same value.
fn compatible(source: &FieldType, target: &FieldType) -> bool {
    use FieldType::*;
    source == target
        || matches!(
            (source, target),
            (Relation, MorphRelation)
                | (MorphRelation, Relation)
                | (Number, Numeric)
                | (Numeric, Number)
                | (Position, Number)
                | (Number, Position)
        )
}
