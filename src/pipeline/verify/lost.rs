//! What `verify` reads beyond the records `migrate` wrote: fields the plan did not write
//! (lost or left for a reason) and values the target writes by its own rules.

use serde_json::Value;
use uuid::Uuid;

use super::compare::equal;
use super::*;
use crate::record::ApiRecord;

/// The source fields the plan did not write (by a rule that loses their values), read from
/// the same rows, and what the comparison found of them.
pub(super) struct LostFields(Vec<LostField>);

/// One dropped field and the records whose value the target lacks.
struct LostField {
    /// That field alone; its API key is where the target would hold it.
    transform: crate::transform::ObjectTransform,
    rule: &'static str,
    reason: String,
    /// The rule of the skipped object the field points at, if that is why.
    object_rule: Option<&'static str>,
    records: u64,
    first_ids: Vec<Uuid>,
}

impl LostFields {
    pub(super) fn new(
        object: &crate::model::Object,
        plan: &crate::plan::ObjectPlan,
        columns: &[crate::source::records::ReadColumn],
    ) -> Self {
        let fields = plan
            .dropped
            .iter()
            .filter(|d| d.rule.loses_values())
            .filter_map(|d| {
                let field = object.field(&d.field)?;
                // A relation is held under its join column (`targetCompanyId`), a value under
                // its name.
                let key = field
                    .relation
                    .as_ref()
                    .and_then(|r| r.join_column.clone())
                    .unwrap_or_else(|| field.name.clone());
                let map = crate::transform::FieldMap::new(
                    field,
                    &key,
                    columns,
                    crate::transform::Reference::None,
                );
                // Only the objects the tool never moves, by design (`plan::skip_rule`): an object
                // missing in the target or inactive is a loss like any other.
                let object_rule = field
                    .relation
                    .as_ref()
                    .filter(|_| d.rule == crate::plan::DropRule::TargetNotMigrated)
                    .and_then(|r| crate::plan::skip_rule(&r.target_object));
                Some(LostField {
                    transform: crate::transform::ObjectTransform { fields: vec![map] },
                    rule: d.rule.name(),
                    reason: d.reason.clone(),
                    object_rule,
                    records: 0,
                    first_ids: Vec::new(),
                })
            })
            .collect();
        Self(fields)
    }

    /// The row's values of the dropped fields (null where unreadable).
    pub(super) fn values(&self, row: &crate::source::records::SourceRow) -> Vec<Value> {
        let members = crate::transform::MemberMap::default();
        self.0
            .iter()
            .map(|f| {
                let key = &f.transform.fields[0].key;
                f.transform
                    .apply(row, &members)
                    .ok()
                    .and_then(|mut r| r.remove(key))
                    .unwrap_or(Value::Null)
            })
            .collect()
    }

    /// Counts each non-empty source value that the target's record does not hold.
    pub(super) fn compare(&mut self, id: Uuid, values: &[Value], got: &Value) {
        for (f, want) in self.0.iter_mut().zip(values) {
            let map = &f.transform.fields[0];
            if equal(Some(&map.field_type), want, &Value::Null) {
                continue;
            }
            let held = got.get(&map.key).unwrap_or(&Value::Null);
            if !equal(Some(&map.field_type), want, held) {
                f.records += 1;
                if f.first_ids.len() < 3 {
                    f.first_ids.push(id);
                }
            }
        }
    }

    pub(super) fn finish(self, object: &str) -> Vec<NotMigrated> {
        self.0
            .into_iter()
            .filter(|f| f.records > 0)
            .map(|mut f| NotMigrated {
                object: object.to_owned(),
                field: f.transform.fields.swap_remove(0).source,
                rule: f.rule.to_owned(),
                reason: f.reason,
                records: f.records,
                first_ids: f.first_ids,
                object_rule: f.object_rule.map(str::to_owned),
            })
            .collect()
    }
}

/// Counts of the fields the target writes itself, taken out of the comparison.
#[derive(Default)]
pub(super) struct ServerRules {
    updated_by: u64,
    created_by: u64,
    /// Kept soft-deleted rows, whose `updatedAt` the soft delete wrote.
    pub(super) soft_deleted: u64,
}

impl ServerRules {
    /// Removes from `want` the actor values the target replaces, counting them.
    pub(super) fn take(
        &mut self,
        want: &mut ApiRecord,
        type_of: &dyn Fn(&str) -> Option<FieldType>,
    ) {
        if type_of("updatedBy") == Some(FieldType::Actor) && want.remove("updatedBy").is_some() {
            self.updated_by += 1;
        }
        let unnamed = want.get("createdBy").is_some_and(|c| {
            c.get("name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        });
        if type_of("createdBy") == Some(FieldType::Actor) && unnamed {
            want.remove("createdBy");
            self.created_by += 1;
        }
    }

    pub(super) fn finish(self, object: &str) -> Vec<ServerRule> {
        [
            ("updatedBy", UPDATED_BY_RULE, self.updated_by),
            ("createdBy", CREATED_BY_RULE, self.created_by),
            ("updatedAt", SOFT_DELETE_RULE, self.soft_deleted),
        ]
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(field, rule, records)| ServerRule {
            object: object.to_owned(),
            field: field.to_owned(),
            rule: rule.to_owned(),
            records,
        })
        .collect()
    }
}
