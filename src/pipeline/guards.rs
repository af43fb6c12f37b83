//! Guards on the records stage: references to rows that will not exist in the target
//! ([`NullRefs`]) and unique values the target would merge ([`UniqueGuard`]).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use super::{DeletedPolicy, MigrateError, Prepared};
use crate::model::{Field, Object};
use crate::plan::{ObjectPlan, WritePass};
use crate::record::ApiRecord;
use crate::source::parents::SoftDeletedParents;
use crate::source::records::{Cell, ReadColumn, RecordReader, RowFilter, SourceRow};
use crate::source::snapshot::{Pages, SnapshotPool};
use crate::transform::Reference;

/// The objects whose soft-deleted rows are not migrated (`--deleted skip`), by name, with their
/// table: references to those rows must not reach the target. The objects the configuration
/// stage creates (dashboards) are among them whatever the policy: it moves live ones only.
pub(crate) fn absent_objects(p: &Prepared, deleted: DeletedPolicy) -> HashMap<String, String> {
    let mut absent: HashMap<String, String> = match deleted {
        DeletedPolicy::Keep => HashMap::new(),
        DeletedPolicy::Skip => p
            .plan
            .objects
            .iter()
            .filter(|o| o.deleted > 0)
            .filter_map(|o| Some((o.object.clone(), p.model.object(&o.object)?.table.clone())))
            .collect(),
    };
    for o in &p.plan.objects {
        let Some(object) = p.model.object(&o.object) else {
            continue;
        };
        for d in o.fields.iter().filter(|d| d.after_config) {
            let parent = object
                .field(&d.source)
                .and_then(|f| f.relation.as_ref())
                .and_then(|r| p.model.object(&r.target_object))
                .filter(|parent| parent.table_exists);
            if let Some(parent) = parent {
                absent.insert(parent.name_singular.clone(), parent.table.clone());
            }
        }
    }
    absent
}

/// References to records that are not migrated (soft-deleted rows, skipped): a row whose
/// parent relation deletes with its parent (`onDelete: CASCADE`, e.g. a noteTarget of a
/// deleted note) is skipped, as Twenty would have removed it with the parent; any other such
/// reference (`SET_NULL`) is written as null.
///
/// Which referenced rows are soft-deleted is asked per page ([`NullRefs::load`]): one query
/// for every parent table at once, over the distinct ids the page names, so no set of deleted
/// ids is held in memory. (A correlated `EXISTS` column in the page query cost 3–5× the read
/// time: one index probe per row and reference instead of per distinct id.)
pub(crate) struct NullRefs<'a> {
    keys: Vec<AbsentRef<'a>>,
    /// The parent tables with soft-deleted rows that the object references, asked together.
    lookup: SoftDeletedParents,
    /// Source ids of the soft-deleted rows the current page references.
    page: HashSet<Uuid>,
}

/// One reference that may point at a row that is not migrated.
struct AbsentRef<'a> {
    /// API key of the reference in the record.
    key: &'a str,
    /// The source column holding the reference.
    column: String,
    /// Its cell index in the reader's rows, once located.
    index: Option<usize>,
    /// Index of the parent table in the lookup.
    parent: usize,
    /// The referring row is skipped rather than the reference nulled.
    cascade: bool,
    /// The report line when references are nulled.
    note: String,
    /// The line is in the report already: one line per reference, not one per row.
    noted: std::cell::Cell<bool>,
}

/// Opens `object`'s keyset reader in the source `schema` with the guard of its references to
/// the `absent` objects, located among the reader's columns: what every pass over an object's
/// rows (records, deferred links, verify) starts with.
pub(crate) async fn open_guarded<'a>(
    client: &tokio_postgres::Client,
    schema: &str,
    object: &Object,
    plan: &'a ObjectPlan,
    absent: &HashMap<String, String>,
    filter: RowFilter,
    page_size: usize,
) -> Result<(RecordReader, NullRefs<'a>), MigrateError> {
    let mut nulled = NullRefs::new(schema, object, plan, absent);
    let reader = RecordReader::new(client, schema, object, filter, page_size).await?;
    nulled.locate(reader.columns());
    Ok((reader, nulled))
}

/// As [`open_guarded`], but the rows are read ahead by a job of the source's snapshot pool
/// (from `resume_after` on), so the next pages are read while this page is transformed and
/// delivered; the pages come in the same order, from the same snapshot.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_guarded_ahead<'a>(
    pool: &SnapshotPool,
    schema: &str,
    object: &Object,
    plan: &'a ObjectPlan,
    absent: &HashMap<String, String>,
    filter: RowFilter,
    page_size: usize,
    resume_after: Option<uuid::Uuid>,
) -> Result<(Pages, NullRefs<'a>), MigrateError> {
    let mut nulled = NullRefs::new(schema, object, plan, absent);
    let pages = pool
        .pages(schema, object, filter, page_size, resume_after)
        .await?;
    nulled.locate(pages.columns());
    Ok((pages, nulled))
}

/// The rule that skips rows whose cascading parent is not migrated.
pub const PARENT_NOT_MIGRATED: &str = "parent-soft-deleted";

impl<'a> NullRefs<'a> {
    /// The rule for `object`'s record references to the `absent` objects (see
    /// [`absent_objects`]) in the source `schema`.
    pub(crate) fn new(
        schema: &str,
        object: &Object,
        plan: &'a ObjectPlan,
        absent: &HashMap<String, String>,
    ) -> Self {
        let mut parents: Vec<(String, String)> = Vec::new();
        let keys = plan
            .fields
            .iter()
            .filter(|d| d.reference == Reference::Record)
            .filter_map(|d| {
                let field = object.field(&d.source)?;
                let target = &field.relation.as_ref()?.target_object;
                let parent_table = absent.get(target)?;
                let column = field.columns.first()?;
                // A reference written after the configuration stage (to a dashboard) is left
                // out, never its row: the row was migrated before without it, as it always was.
                let cascade = !d.after_config
                    && field
                        .settings
                        .as_ref()
                        .and_then(|s| s.get("onDelete"))
                        .and_then(Value::as_str)
                        == Some("CASCADE");
                let table = (schema.to_owned(), parent_table.clone());
                let parent = match parents.iter().position(|p| *p == table) {
                    Some(i) => i,
                    None => {
                        parents.push(table);
                        parents.len() - 1
                    }
                };
                Some(AbsentRef {
                    key: d.key.as_str(),
                    column: column.name.clone(),
                    index: None,
                    parent,
                    cascade,
                    noted: std::cell::Cell::new(false),
                    note: match d.after_config {
                        true => format!(
                            "{}.{} references to soft-deleted {} rows are not written: the configuration stage moves live ones only",
                            object.name_singular, d.key, target
                        ),
                        false => format!(
                            "{}.{} references to soft-deleted {} rows (not migrated) are written as null",
                            object.name_singular, d.key, target
                        ),
                    },
                })
            })
            .collect();
        Self {
            keys,
            lookup: SoftDeletedParents::new(parents),
            page: HashSet::new(),
        }
    }

    /// Finds the reference columns among the reader's.
    pub(crate) fn locate(&mut self, columns: &[ReadColumn]) {
        for k in &mut self.keys {
            k.index = columns.iter().position(|c| c.name == k.column);
        }
    }

    /// Asks the source which rows referenced by `rows` are soft-deleted (one query, and none
    /// when the object references no object with soft-deleted rows).
    pub(crate) async fn load(
        &mut self,
        client: &tokio_postgres::Client,
        rows: &[SourceRow],
    ) -> Result<(), MigrateError> {
        self.page.clear();
        if self.keys.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Vec<Uuid>> = vec![Vec::new(); self.lookup.len()];
        for k in &self.keys {
            let Some(i) = k.index else { continue };
            ids[k.parent].extend(rows.iter().filter_map(|r| match r.cells.get(i) {
                Some(Cell::Uuid(id)) => Some(*id),
                _ => None,
            }));
        }
        if ids.iter().all(Vec::is_empty) {
            return Ok(());
        }
        for list in &mut ids {
            list.sort_unstable();
            list.dedup();
        }
        let found = self.lookup.soft_deleted(client, &ids).await?;
        self.page.extend(found);
        Ok(())
    }

    /// Applies the rule to one record built from `row` (of the page last [`NullRefs::load`]ed);
    /// false means the row is skipped.
    pub(crate) fn apply(
        &self,
        row: &SourceRow,
        record: &mut ApiRecord,
        notes: &mut Vec<String>,
    ) -> bool {
        for k in &self.keys {
            let flagged = k
                .index
                .and_then(|i| row.cells.get(i))
                .is_some_and(|c| matches!(c, Cell::Uuid(id) if self.page.contains(id)));
            if !flagged {
                continue;
            }
            // A cascading parent removes the row whatever pass writes the reference, so both
            // passes skip it; a nulled reference is written only in the pass that carries it.
            if k.cascade {
                return false;
            }
            if let Some(value) = record.get_mut(k.key).filter(|v| !v.is_null()) {
                *value = Value::Null;
                if !k.noted.replace(true) {
                    notes.push(k.note.clone());
                }
            }
        }
        true
    }
}

/// Values of the target's unique fields seen so far in this object, normalised as the target
/// stores them: two source rows that differ only in case (emails) or in a link's origin would
/// otherwise be merged into one record by the upsert, silently. Only the rows the source named
/// as candidates ([`crate::source::duplicates`]) are remembered, so memory follows the
/// duplicates, not the table.
pub(super) struct UniqueGuard {
    keys: Vec<String>,
    /// Rows that share a coarse key with another row; every other row is unique.
    candidates: HashSet<Uuid>,
    seen: HashMap<u64, Uuid>,
}

impl UniqueGuard {
    /// The guard of one object, asking the source which rows may repeat a value.
    pub(super) async fn new(
        client: &tokio_postgres::Client,
        schema: &str,
        object: &Object,
        plan: &ObjectPlan,
        filter: RowFilter,
    ) -> Result<Self, MigrateError> {
        let decisions: Vec<_> = plan
            .fields
            .iter()
            .filter(|d| d.unique && !d.deferred)
            .collect();
        let fields: Vec<&Field> = decisions
            .iter()
            .filter_map(|d| object.field(&d.source))
            .collect();
        let candidates = crate::source::duplicates::candidates(
            client,
            schema,
            object,
            &fields,
            filter == RowFilter::Live,
        )
        .await?;
        Ok(Self {
            keys: decisions.iter().map(|d| d.key.clone()).collect(),
            candidates,
            seen: HashMap::new(),
        })
    }

    /// The earlier row holding the same unique value, as (field, its id); else remembers it.
    pub(super) fn check(&mut self, id: Uuid, record: &ApiRecord) -> Option<(String, Uuid)> {
        if !self.candidates.contains(&id) {
            return None;
        }
        let mut fresh = Vec::new();
        for key in &self.keys {
            let Some(value) = record.get(key).and_then(unique_value) else {
                continue;
            };
            // A 64-bit hash of the exact normalised value; a collision is ~1e-6 at 10M.
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (key, &value).hash(&mut h);
            let hash = h.finish();
            if let Some(first) = self.seen.get(&hash) {
                if *first != id {
                    return Some((key.clone(), *first));
                }
            }
            fresh.push(hash);
        }
        for hash in fresh {
            self.seen.insert(hash, id);
        }
        None
    }
}

/// The value a unique index compares: an email lower-cased, a link with its scheme and host
/// lower-cased and one trailing slash cut (contract C4, D4), plain values as they are.
fn unique_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            if let Some(Value::String(e)) = o.get("primaryEmail") {
                return (!e.is_empty()).then(|| e.to_lowercase());
            }
            if let Some(Value::String(u)) = o.get("primaryLinkUrl") {
                return (!u.is_empty()).then(|| crate::pipeline::verify::normalize_url(u));
            }
            None
        }
        other => Some(other.to_string()),
    }
}

/// (API key, source field, target object) of the record references written in the first pass.
pub(super) fn record_references<'a>(
    object: &'a Object,
    plan: &'a ObjectPlan,
) -> Vec<(&'a str, &'a str, &'a str)> {
    plan.fields
        .iter()
        .filter(|d| d.reference == Reference::Record && d.pass() == WritePass::First)
        .filter_map(|d| {
            let target = object
                .field(&d.source)?
                .relation
                .as_ref()?
                .target_object
                .as_str();
            Some((d.key.as_str(), d.source.as_str(), target))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldType, Relation, RelationKind};
    use crate::pipeline::links::deferred_record;
    use crate::transform::{FieldMap, MemberMap, ObjectTransform};

    fn text_field(name: &str, field_type: FieldType, column: &str) -> Field {
        Field {
            id: Uuid::new_v4(),
            name: name.into(),
            label: name.into(),
            metadata_type: field_type.api_name().into(),
            field_type,
            is_custom: false,
            is_system: false,
            is_active: true,
            is_nullable: true,
            is_unique: true,
            default_value: None,
            options: None,
            settings: None,
            relation: None,
            columns: vec![crate::model::Column {
                name: column.into(),
                sub_field: None,
                udt_name: "text".into(),
                read_expr: None,
            }],
        }
    }

    /// Every pair of values the pipeline's exact rule finds equal is in one SQL group, so no
    /// duplicate escapes the candidates; rows alone in their group are never candidates.
    #[tokio::test]
    async fn the_sql_candidates_hold_every_pair_the_exact_rule_finds_equal() {
        let db = crate::local_pg::test_database().await.unwrap();
        let c = db.connect().await.unwrap();
        c.batch_execute(
            "CREATE TABLE t (id uuid PRIMARY KEY, \"emailsPrimaryEmail\" text, \
             \"domainNamePrimaryLinkUrl\" text, code text, \"deletedAt\" timestamptz)",
        )
        .await
        .unwrap();
        let emails = [
            "Ann@Example.com",
            "ann@example.com",
            "ANN@EXAMPLE.COM",
            " ann@example.com",
            "Élodie@Exemple.fr",
            "élodie@exemple.fr",
            "bob@example.com",
            "",
            "   ",
            "  ",
        ];
        let links = [
            "HTTPS://Example.COM/Path/",
            "https://example.com/Path",
            "https://example.com/path",
            "example.com",
            "Example.com",
            "  https://EXAMPLE.com/Path  ",
            "http://example.com",
            "",
            " ",
            "https://other.example/?q=A",
        ];
        let codes = ["A", "a", "A ", "x", "", "y", "A", "z", "é", "É"];
        let mut rows = Vec::new();
        for i in 0..emails.len() {
            let id = Uuid::from_u128(i as u128 + 1);
            c.execute(
                "INSERT INTO t VALUES ($1, $2, $3, $4, NULL)",
                &[&id, &emails[i], &links[i], &codes[i]],
            )
            .await
            .unwrap();
            rows.push(id);
        }
        // A null and a soft-deleted row are never candidates.
        c.batch_execute(
            "INSERT INTO t VALUES ('00000000-0000-0000-0000-0000000000aa', NULL, NULL, NULL, NULL), \
             ('00000000-0000-0000-0000-0000000000bb', 'ann@example.com', 'example.com', 'A', now())",
        )
        .await
        .unwrap();
        let object = Object {
            id: Uuid::new_v4(),
            name_singular: "thing".into(),
            name_plural: "things".into(),
            label_singular: String::new(),
            label_plural: String::new(),
            is_custom: false,
            is_system: false,
            is_active: true,
            is_remote: false,
            table: "t".into(),
            table_exists: true,
            fields: vec![text_field("deletedAt", FieldType::DateTime, "deletedAt")],
            unmapped_columns: Vec::new(),
        };
        type Case<'a> = (Field, &'a [&'a str], fn(&str) -> Value);
        let cases: [Case<'_>; 3] = [
            (
                text_field("emails", FieldType::Emails, "emailsPrimaryEmail"),
                &emails,
                |v| serde_json::json!({"primaryEmail": v}),
            ),
            (
                text_field("domainName", FieldType::Links, "domainNamePrimaryLinkUrl"),
                &links,
                |v| serde_json::json!({"primaryLinkUrl": v}),
            ),
            (text_field("code", FieldType::Text, "code"), &codes, |v| {
                Value::String(v.to_owned())
            }),
        ];
        for (field, values, as_api) in cases {
            let found =
                crate::source::duplicates::candidates(&c, "public", &object, &[&field], true)
                    .await
                    .unwrap();
            let exact: Vec<Option<String>> =
                values.iter().map(|v| unique_value(&as_api(v))).collect();
            let mut must = HashSet::new();
            for i in 0..values.len() {
                for j in 0..values.len() {
                    if i != j && exact[i].is_some() && exact[i] == exact[j] {
                        must.insert(rows[i]);
                    }
                }
            }
            assert!(
                must.len() >= 2,
                "{}: the values hold duplicates",
                field.name
            );
            let missed: Vec<_> = must.difference(&found).collect();
            assert!(missed.is_empty(), "{}: missed {missed:?}", field.name);
            for (i, v) in values.iter().enumerate() {
                if v.is_empty() {
                    assert!(!found.contains(&rows[i]), "{}: empty {i}", field.name);
                }
            }
            assert!(!found.contains(&Uuid::from_u128(0xaa)));
            assert!(!found.contains(&Uuid::from_u128(0xbb)), "soft-deleted row");
            // Only the coarse key's extra matches join: same letters up to case, space, '/'.
            let coarse = |v: &str| v.trim().to_lowercase().trim_end_matches('/').to_owned();
            for (i, v) in values.iter().enumerate() {
                let alone = !values
                    .iter()
                    .enumerate()
                    .any(|(j, w)| j != i && !w.is_empty() && coarse(w) == coarse(v));
                if alone {
                    assert!(!found.contains(&rows[i]), "{}: {v:?} is alone", field.name);
                }
            }
        }
    }

    /// Rows alternating between two nulled references leave two report lines, not one per
    /// row (the report is held in memory until the end of the run).
    #[test]
    fn nulled_references_are_reported_once_per_reference_not_per_row() {
        let absent = |key: &'static str, index: usize| AbsentRef {
            key,
            column: key.to_owned(),
            index: Some(index),
            parent: 0,
            cascade: false,
            note: format!("{key} nulled"),
            noted: std::cell::Cell::new(false),
        };
        // Both references point at soft-deleted rows of the page.
        let (gone_a, gone_b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
        let nulled = NullRefs {
            keys: vec![absent("aId", 1), absent("bId", 2)],
            lookup: SoftDeletedParents::new(vec![("s".into(), "parent".into())]),
            page: HashSet::from([gone_a, gone_b]),
        };
        let mut notes = Vec::new();
        for i in 0..100u128 {
            let a = i % 2 == 0;
            let row = SourceRow {
                id: Uuid::from_u128(i + 1),
                cells: if a {
                    vec![Cell::Null, Cell::Uuid(gone_a), Cell::Null]
                } else {
                    vec![Cell::Null, Cell::Null, Cell::Uuid(gone_b)]
                },
            };
            let mut record = ApiRecord::new(crate::transform::target_id(row.id));
            record.insert("aId", Value::String("x".into()));
            record.insert("bId", Value::String("y".into()));
            assert!(nulled.apply(&row, &mut record, &mut notes));
            let nulled_key = if a { "aId" } else { "bId" };
            assert_eq!(record[nulled_key], Value::Null);
        }
        assert_eq!(notes, ["aId nulled", "bId nulled"]);
    }

    /// A deferred reference the transform refuses leaves a report line naming the row, field
    /// and reason; a good one is written; an empty one sends nothing.
    #[test]
    fn a_deferred_reference_that_cannot_be_transformed_is_reported_not_dropped() {
        let field = Field {
            field_type: FieldType::Relation,
            relation: Some(Relation {
                kind: RelationKind::ManyToOne,
                target_object_id: Uuid::nil(),
                target_object: "company".into(),
                join_column: Some("parentId".into()),
            }),
            columns: vec![crate::model::Column {
                name: "parentId".into(),
                sub_field: None,
                udt_name: "uuid".into(),
                read_expr: None,
            }],
            ..text_field("parent", FieldType::Relation, "parentId")
        };
        let columns = vec![
            ReadColumn::new("id", "uuid"),
            ReadColumn::new("parentId", "uuid"),
        ];
        let transform = ObjectTransform {
            fields: vec![FieldMap::new(
                &field,
                "parentId",
                &columns,
                Reference::Record,
            )],
        };
        let nulled = NullRefs {
            keys: Vec::new(),
            lookup: SoftDeletedParents::new(Vec::new()),
            page: HashSet::new(),
        };
        let members = MemberMap::default();
        let id = Uuid::from_u128(7);
        let row = |cell: Cell| SourceRow {
            id,
            cells: vec![Cell::Uuid(id), cell],
        };
        let mut notes = Vec::new();

        let bad = row(Cell::Invalid("unreadable value in column parentId".into()));
        assert!(
            deferred_record("company", &transform, &nulled, &bad, &members, &mut notes).is_none()
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains(&id.to_string())
                && notes[0].contains("parent")
                && notes[0].contains("unreadable value"),
            "{}",
            notes[0]
        );

        let parent = Uuid::new_v4();
        let good = row(Cell::Uuid(parent));
        let record = deferred_record("company", &transform, &nulled, &good, &members, &mut notes)
            .expect("a good reference is written");
        assert_eq!(record["parentId"], parent.to_string());
        assert!(deferred_record(
            "company",
            &transform,
            &nulled,
            &row(Cell::Null),
            &members,
            &mut notes
        )
        .is_none());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
