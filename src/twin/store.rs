//! The in-memory workspace: records per object, unique indexes, foreign keys, and the write
//! paths (create, upsert, update, delete) with Twenty's semantics.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::api_error::ApiError;
use super::input::{iso, process_record};
use super::schema::{stable_id, FieldMeta, Model, ObjectMeta, RelationKind};

/// A stored record: storage key → value.
pub type Record = Map<String, Value>;

/// A workspace member given at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Email (`userEmail`).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

impl Member {
    /// The member's record id: derived from the lower-cased email, uuid v4-shaped.
    pub fn id(&self) -> Uuid {
        stable_id("workspaceMember", &self.email.to_lowercase())
    }

    /// Parses `email[,first[,last]]`.
    pub fn parse(line: &str) -> Option<Self> {
        let mut parts = line.split(',').map(str::trim);
        let email = parts.next().filter(|e| e.contains('@'))?.to_owned();
        Some(Self {
            email,
            first_name: parts.next().unwrap_or("").to_owned(),
            last_name: parts.next().unwrap_or("").to_owned(),
        })
    }
}

/// A unique group: a field and, for composites, the sub-field the index covers.
pub type Group = (String, Option<&'static str>);

/// Records of one object.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Rows by id. Id order is also the read order: with no `order_by`, Twenty's find-many
    /// orders by id alone (`common-find-many-query-runner.service.ts` appends
    /// `{id: AscNullsFirst}` to an empty order).
    pub rows: BTreeMap<Uuid, Record>,
    /// Positions, to backfill `position` after the current maximum.
    positions: BTreeSet<(OrderKey, Uuid)>,
    /// The object's unique groups, with an index per group: value → ids (soft-deleted rows
    /// included; the partial-index rule is applied when checking).
    groups: Vec<(Group, HashMap<String, BTreeSet<Uuid>>)>,
    /// Rows not soft-deleted, so an unfiltered totalCount needs no scan.
    live: usize,
}

/// A total order on f64 positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey(i64);

impl OrderKey {
    /// The key of a position.
    pub fn of(position: f64) -> Self {
        let bits = position.to_bits() as i64;
        Self(bits ^ (((bits >> 63) as u64) >> 1) as i64)
    }
}

fn position_of(record: &Record) -> f64 {
    record
        .get("position")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

fn id_of(record: &Record) -> Option<Uuid> {
    record
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Whether a record is soft-deleted.
pub fn is_deleted(record: &Record) -> bool {
    record.get("deletedAt").is_some_and(|v| !v.is_null())
}

impl Table {
    /// An empty table with these unique groups.
    pub fn new(groups: Vec<Group>) -> Self {
        Self {
            groups: groups.into_iter().map(|g| (g, HashMap::new())).collect(),
            ..Self::default()
        }
    }

    /// Replaces the unique groups (a unique field was added) and rebuilds their indexes.
    pub fn set_groups(&mut self, groups: Vec<Group>) {
        self.groups = groups.into_iter().map(|g| (g, HashMap::new())).collect();
        let rows: Vec<(Uuid, Record)> = self.rows.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (id, record) in &rows {
            self.index(*id, record, true);
        }
    }

    fn index(&mut self, id: Uuid, record: &Record, add: bool) {
        for ((field, sub), index) in &mut self.groups {
            if let Some(value) = unique_value(record, field, *sub) {
                if add {
                    index.entry(value).or_default().insert(id);
                } else if let Some(ids) = index.get_mut(&value) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        index.remove(&value);
                    }
                }
            }
        }
    }

    /// Ids of rows whose group value is `value`, soft-deleted included, in id order.
    fn lookup(&self, group: usize, value: &str) -> Vec<Uuid> {
        self.groups
            .get(group)
            .and_then(|(_, ix)| ix.get(value))
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many rows are not soft-deleted.
    pub fn live(&self) -> usize {
        self.live
    }

    fn put(&mut self, id: Uuid, record: Record) -> Option<Record> {
        let old = self.remove(id);
        if !is_deleted(&record) {
            self.live += 1;
        }
        self.positions
            .insert((OrderKey::of(position_of(&record)), id));
        self.index(id, &record, true);
        self.rows.insert(id, record);
        old
    }

    fn remove(&mut self, id: Uuid) -> Option<Record> {
        let old = self.rows.remove(&id)?;
        if !is_deleted(&old) {
            self.live -= 1;
        }
        self.positions
            .remove(&(OrderKey::of(position_of(&old)), id));
        self.index(id, &old, false);
        Some(old)
    }

    /// Undoes writes, newest first.
    fn roll_back(&mut self, undo: Vec<(Uuid, Option<Record>)>) {
        for (id, previous) in undo.into_iter().rev() {
            match previous {
                Some(record) => {
                    self.put(id, record);
                }
                None => {
                    self.remove(id);
                }
            }
        }
    }

    fn max_position(&self) -> f64 {
        self.positions
            .iter()
            .next_back()
            .and_then(|(_, id)| self.rows.get(id))
            .map(position_of)
            .unwrap_or(0.0)
    }
}

/// The outcome of a create-many call.
#[derive(Debug)]
pub struct Written {
    /// Records in input order.
    pub records: Vec<Record>,
    /// How many were inserted.
    pub created: usize,
    /// How many were updated (upsert matches).
    pub updated: usize,
}

/// Who is writing: fills `createdBy`/`updatedBy`.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The API key's name.
    pub key_name: String,
}

impl Actor {
    fn value(&self) -> Value {
        json!({"source": "API", "name": self.key_name, "workspaceMemberId": null, "context": {}})
    }
}

/// The workspace: model and data.
#[derive(Debug, Clone)]
pub struct Db {
    /// The data model.
    pub model: Model,
    /// Tables by object `nameSingular`.
    pub tables: HashMap<String, Table>,
}

/// A short stable hex name for a constraint, shaped like TypeORM's generated names.
fn constraint_name(prefix: &str, seed: &str) -> String {
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, seed.as_bytes())
        .simple()
        .to_string();
    format!("{prefix}_{}", &id[..27])
}

/// The value a unique group compares, or None when it does not take part (null or empty).
fn unique_value(record: &Record, field: &str, sub: Option<&str>) -> Option<String> {
    let value = record.get(field)?;
    let value = match sub {
        Some(sub) => value.get(sub)?,
        None => value,
    };
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Db {
    /// A fresh workspace with the standard model and these members.
    pub fn new(members: &[Member]) -> Self {
        let model = Model::standard();
        let tables = model
            .objects
            .iter()
            .map(|o| (o.name_singular.clone(), Table::new(o.unique_groups())))
            .collect();
        let mut db = Self { model, tables };
        let now = iso(Utc::now());
        let Some(object) = db.model.by_singular("workspaceMember").cloned() else {
            return db;
        };
        for (i, member) in members.iter().enumerate() {
            let id = member.id();
            let mut record = Map::new();
            record.insert("id".into(), json!(id));
            record.insert(
                "name".into(),
                json!({"firstName": member.first_name, "lastName": member.last_name}),
            );
            record.insert("userEmail".into(), json!(member.email.to_lowercase()));
            record.insert(
                "userId".into(),
                json!(stable_id("user", &member.email.to_lowercase())),
            );
            record.insert("position".into(), json!(i));
            let full = complete(&object, record, &now);
            if let Some(table) = db.tables.get_mut("workspaceMember") {
                table.put(id, full);
            }
        }
        db
    }

    /// The table of an object.
    pub fn table(&self, object: &str) -> Option<&Table> {
        self.tables.get(object)
    }

    /// Runs a write on one table, all or nothing: the table is taken out of the map, written,
    /// checked, and restored from the undo log when anything fails.
    fn write<T>(
        &mut self,
        object: &ObjectMeta,
        apply: impl FnOnce(
            &mut Table,
            &mut Vec<(Uuid, Option<Record>)>,
        ) -> Result<(T, Vec<Uuid>), ApiError>,
    ) -> Result<T, ApiError> {
        let mut table = self
            .tables
            .remove(&object.name_singular)
            .unwrap_or_else(|| Table::new(object.unique_groups()));
        let mut undo = Vec::new();
        let result = apply(&mut table, &mut undo).and_then(|(value, touched)| {
            self.check_constraints(object, &table, &touched)
                .map(|()| value)
        });
        if result.is_err() {
            table.roll_back(undo);
        }
        self.tables.insert(object.name_singular.clone(), table);
        result
    }

    /// Creates (or upserts) a batch, all or nothing.
    pub fn create_many(
        &mut self,
        object: &ObjectMeta,
        inputs: &[Value],
        upsert: bool,
        actor: &Actor,
    ) -> Result<Written, ApiError> {
        let now = iso(Utc::now());
        // Validate every record first: nothing is written when one fails (one INSERT in
        // common-create-many-query-runner.service.ts).
        let mut processed = Vec::with_capacity(inputs.len());
        for input in inputs {
            let mut record = process_record(object, input)?;
            fill_actor(&mut record, "createdBy", actor);
            fill_actor(&mut record, "updatedBy", actor);
            processed.push(record);
        }
        let groups = object.unique_groups();
        self.write(object, |table, undo| {
            // Upsert matching against the rows that existed before the call, soft-deleted
            // included (E2/E3).
            let mut plan: Vec<(Option<Uuid>, Record)> = Vec::with_capacity(processed.len());
            for record in processed {
                let matched = if upsert {
                    match_existing(&groups, table, &record)?
                } else {
                    None
                };
                plan.push((matched, record));
            }
            let mut next_position = table.max_position();
            let mut order = vec![Uuid::nil(); plan.len()];
            let (mut created, mut updated) = (0, 0);
            // Updates run before inserts (E4); the answer keeps input order (E5).
            let (updates, inserts): (Vec<_>, Vec<_>) = plan
                .into_iter()
                .enumerate()
                .partition(|(_, (m, _))| m.is_some());
            for (index, (matched, mut record)) in updates {
                let Some(id) = matched else { continue };
                let Some(mut existing) = table.rows.get(&id).cloned() else {
                    continue;
                };
                // createdBy is a system field on standard objects: never overwritten (E4).
                record.remove("createdBy");
                record.remove("id");
                if !record.contains_key("updatedAt") {
                    record.insert("updatedAt".into(), json!(now));
                }
                for (k, v) in record {
                    merge_value(object, &mut existing, k, v);
                }
                existing.insert("deletedAt".into(), Value::Null);
                undo.push((id, table.put(id, existing)));
                order[index] = id;
                updated += 1;
            }
            for (index, (_, mut record)) in inserts {
                let id = id_of(&record).unwrap_or_else(Uuid::new_v4);
                record.insert("id".into(), json!(id));
                if !record.get("position").is_some_and(Value::is_number) {
                    next_position = next_position.floor() + 1.0;
                    record.insert("position".into(), json!(next_position as i64));
                }
                if table.rows.contains_key(&id) {
                    // The primary key includes soft-deleted rows (D3).
                    return Err(duplicate(object, "PK"));
                }
                let full = complete(object, record, &now);
                undo.push((id, table.put(id, full)));
                order[index] = id;
                created += 1;
            }
            let records = order
                .iter()
                .filter_map(|id| table.rows.get(id).cloned())
                .collect();
            Ok((
                Written {
                    records,
                    created,
                    updated,
                },
                order,
            ))
        })
    }

    /// Applies a PATCH to one record.
    pub fn update_one(
        &mut self,
        object: &ObjectMeta,
        id: Uuid,
        input: &Value,
        actor: &Actor,
    ) -> Result<Record, ApiError> {
        let mut record = process_record(object, input)?;
        record.remove("id");
        fill_actor(&mut record, "updatedBy", actor);
        if !record.contains_key("updatedAt") {
            record.insert("updatedAt".into(), json!(iso(Utc::now())));
        }
        self.write(object, |table, undo| {
            let Some(mut existing) = table.rows.get(&id).filter(|r| !is_deleted(r)).cloned() else {
                return Err(not_found());
            };
            for (k, v) in record {
                merge_value(object, &mut existing, k, v);
            }
            undo.push((id, table.put(id, existing.clone())));
            Ok((existing, vec![id]))
        })
    }

    /// Soft-deletes (sets deletedAt) or destroys one record.
    pub fn delete_one(
        &mut self,
        object: &ObjectMeta,
        id: Uuid,
        soft: bool,
    ) -> Result<Record, ApiError> {
        let table = self
            .tables
            .get_mut(&object.name_singular)
            .ok_or_else(not_found)?;
        let Some(existing) = table.rows.get(&id).cloned() else {
            return Err(not_found());
        };
        if soft {
            if is_deleted(&existing) {
                return Err(not_found());
            }
            let now = iso(Utc::now());
            let mut record = existing;
            // A soft delete is an update: updatedAt moves too (seen on a real 2.21).
            record.insert("deletedAt".into(), json!(now));
            record.insert("updatedAt".into(), json!(now));
            table.put(id, record.clone());
            self.on_soft_delete(&object.name_singular, id, &now);
            Ok(record)
        } else {
            table.remove(id);
            // Rows pointing at it: SET NULL or CASCADE per the relation's onDelete.
            self.on_destroy(&object.name_singular, id);
            Ok(existing)
        }
    }

    /// Soft-deletes a batch of matched rows, already soft-deleted ones included (2.21 answers
    /// them again: `tests/conformance/twenty-2.21/delete-many-soft-and-deleted-at-filter.json`);
    /// a live row gets `deletedAt` and its cascade.
    pub fn soft_delete_rows(&mut self, object: &ObjectMeta, ids: &[Uuid]) -> Vec<Record> {
        let now = iso(Utc::now());
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(table) = self.tables.get_mut(&object.name_singular) else {
                break;
            };
            let Some(mut record) = table.rows.get(id).cloned() else {
                continue;
            };
            if !is_deleted(&record) {
                record.insert("deletedAt".into(), json!(now));
                record.insert("updatedAt".into(), json!(now));
                table.put(*id, record.clone());
                self.on_soft_delete(&object.name_singular, *id, &now);
            }
            out.push(record);
        }
        out
    }

    /// A soft delete follows the RELATION fields whose `onDelete` is CASCADE: a note's
    /// noteTargets, a task's taskTargets are soft-deleted with it (recorded:
    /// `tests/conformance/twenty-2.21/note-soft-delete-cascades-to-note-targets-and-restore.json`;
    /// `twenty-orm/entity-manager/workspace-entity-manager.ts` soft-deletes along cascade
    /// relations). Restoring the parent restores none of them.
    fn on_soft_delete(&mut self, target: &str, id: Uuid, now: &str) {
        let id_value = json!(id);
        let dependants: Vec<(String, String)> = self
            .model
            .objects
            .iter()
            .flat_map(|o| {
                o.fields.iter().filter_map(move |f| {
                    let r = f.relation.as_ref()?;
                    let cascade = f
                        .settings
                        .as_ref()
                        .and_then(|s| s.get("onDelete"))
                        .and_then(Value::as_str)
                        == Some("CASCADE");
                    (f.field_type == "RELATION"
                        && r.kind == RelationKind::ManyToOne
                        && r.target_object == target
                        && cascade)
                        .then(|| Some((o.name_singular.clone(), r.join_column.clone()?)))
                        .flatten()
                })
            })
            .collect();
        for (object, column) in dependants {
            let Some(table) = self.tables.get_mut(&object) else {
                continue;
            };
            let hits: Vec<Uuid> = table
                .rows
                .iter()
                .filter(|(_, r)| r.get(&column) == Some(&id_value) && !is_deleted(r))
                .map(|(k, _)| *k)
                .collect();
            for hit in &hits {
                if let Some(mut r) = table.rows.get(hit).cloned() {
                    r.insert("deletedAt".into(), json!(now));
                    table.put(*hit, r);
                }
            }
            for hit in hits {
                self.on_soft_delete(&object, hit, now);
            }
        }
    }

    fn on_destroy(&mut self, target: &str, id: Uuid) {
        let id_value = json!(id);
        let dependants: Vec<(String, String, bool)> = self
            .model
            .objects
            .iter()
            .flat_map(|o| {
                o.fields.iter().filter_map(move |f| {
                    let r = f.relation.as_ref()?;
                    if r.kind != RelationKind::ManyToOne || r.target_object != target {
                        return None;
                    }
                    let cascade = f
                        .settings
                        .as_ref()
                        .and_then(|s| s.get("onDelete"))
                        .and_then(Value::as_str)
                        == Some("CASCADE");
                    Some((o.name_singular.clone(), r.join_column.clone()?, cascade))
                })
            })
            .collect();
        for (object, column, cascade) in dependants {
            let Some(table) = self.tables.get_mut(&object) else {
                continue;
            };
            let hits: Vec<Uuid> = table
                .rows
                .iter()
                .filter(|(_, r)| r.get(&column) == Some(&id_value))
                .map(|(k, _)| *k)
                .collect();
            for hit in hits {
                if cascade {
                    table.remove(hit);
                } else if let Some(mut r) = table.rows.get(&hit).cloned() {
                    r.insert(column.clone(), Value::Null);
                    table.put(hit, r);
                }
            }
        }
    }

    /// Unique indexes and foreign keys for the touched rows of a written table.
    fn check_constraints(
        &self,
        object: &ObjectMeta,
        table: &Table,
        touched: &[Uuid],
    ) -> Result<(), ApiError> {
        // D1–D3: unique groups are partial indexes (deletedAt IS NULL) since 2.42
        // (`upgrade-version-command/2-42/…make-standard-unique-indexes-partial…`).
        for (group, ((field, sub), _)) in table.groups.iter().enumerate() {
            for id in touched {
                let Some(record) = table.rows.get(id).filter(|r| !is_deleted(r)) else {
                    continue;
                };
                let Some(value) = unique_value(record, field, *sub) else {
                    continue;
                };
                let live = table
                    .lookup(group, &value)
                    .into_iter()
                    .filter(|other| table.rows.get(other).is_some_and(|r| !is_deleted(r)))
                    .count();
                if live > 1 {
                    return Err(duplicate(object, field));
                }
            }
        }
        // C8: join columns must reference an existing row of the target object
        // (compute-twenty-orm-exception.util.ts maps FOREIGN_KEY_VIOLATION to a 400).
        for field in &object.fields {
            let (Some(column), Some(relation)) = (field.join_column(), field.relation.as_ref())
            else {
                continue;
            };
            for id in touched {
                let Some(target_id) = table
                    .rows
                    .get(id)
                    .and_then(|r| r.get(column))
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    continue;
                };
                let exists = if relation.target_object == object.name_singular {
                    table.rows.contains_key(&target_id)
                } else {
                    self.tables
                        .get(&relation.target_object)
                        .is_some_and(|t| t.rows.contains_key(&target_id))
                };
                if !exists {
                    return Err(ApiError::orm(
                        "INVALID_INPUT",
                        format!(
                        "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                        table_name(object),
                        constraint_name("FK", &format!("{}.{column}", object.name_singular))
                    ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Writes one updated value: a composite update sets only the sub-fields it names, as each
/// sub-field is its own column.
fn merge_value(object: &ObjectMeta, record: &mut Record, key: String, value: Value) {
    let composite = object
        .field(&key)
        .is_some_and(|f| !composite_subs(&f.field_type).is_empty());
    match (composite, value, record.get_mut(&key)) {
        (true, Value::Object(new), Some(Value::Object(old))) => {
            for (sub, v) in new {
                old.insert(sub, v);
            }
        }
        (true, Value::Null, _) => {
            if let Some(field) = object.field(&key) {
                record.insert(key, shape(field, Value::Null));
            }
        }
        (_, value, _) => {
            record.insert(key, value);
        }
    }
}

/// The Postgres table of an object (`_name` for a custom one).
pub(super) fn table_name(object: &ObjectMeta) -> String {
    if object.is_custom {
        format!("_{}", object.name_singular)
    } else {
        object.name_singular.clone()
    }
}

/// D2: the duplicate message with `{table}.{constraint}`.
fn duplicate(object: &ObjectMeta, what: &str) -> ApiError {
    let prefix = if what == "PK" { "PK" } else { "IDX_UNIQUE" };
    // A repeated id within one 2.21 insert: the driver names no constraint.
    if what == "PK" {
        return ApiError::orm("DUPLICATE_ENTRY_DETECTED", "A duplicate entry was detected");
    }
    ApiError::orm(
        "DUPLICATE_ENTRY_DETECTED",
        format!(
            "A duplicate entry was detected: unique constraint {}.{} was violated",
            table_name(object),
            constraint_name(prefix, &format!("{}.{what}", object.name_singular))
        ),
    )
}

/// RECORD_NOT_FOUND → 404 (common-query-runner.exception.ts).
pub fn not_found() -> ApiError {
    ApiError::engine(404, "RECORD_NOT_FOUND", "Record not found")
}

/// createdBy: filled from the API key when absent or without a name (null or `""`, both falsy
/// to `!existingValue.name`), a given source kept; updatedBy: always the API key, whatever the
/// client sent (`injectActorToRecord` in
/// `packages/twenty-server/src/engine/core-modules/actor/services/actor-from-auth-context.service.ts`).
fn fill_actor(record: &mut Record, key: &str, actor: &Actor) {
    if key == "updatedBy" {
        record.insert(key.to_owned(), actor.value());
        return;
    }
    match record.get_mut(key) {
        Some(Value::Object(given))
            if given
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty()) => {}
        Some(Value::Object(given)) => {
            let source = given.get("source").cloned().unwrap_or(json!("API"));
            let mut filled = actor.value();
            filled["source"] = source;
            record.insert(key.to_owned(), filled);
        }
        _ => {
            record.insert(key.to_owned(), actor.value());
        }
    }
}

/// Upsert matching (E1–E3): id plus every unique group; 0 matches insert, 1 updates, more is
/// UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT.
fn match_existing(
    groups: &[Group],
    table: &Table,
    record: &Record,
) -> Result<Option<Uuid>, ApiError> {
    let mut matched: Vec<(Uuid, String, String)> = Vec::new();
    if let Some(id) = id_of(record) {
        if table.rows.contains_key(&id) {
            matched.push((id, "id".into(), id.to_string()));
        }
    }
    for (group, (field, sub)) in groups.iter().enumerate() {
        let Some(value) = unique_value(record, field, *sub) else {
            continue;
        };
        // The first existing row with the same value, soft-deleted included.
        if let Some(id) = table.lookup(group, &value).first() {
            let path = match sub {
                Some(sub) => format!("{field}.{sub}"),
                None => field.clone(),
            };
            matched.push((*id, path, value));
        }
    }
    let mut distinct: Vec<Uuid> = matched.iter().map(|(id, _, _)| *id).collect();
    distinct.sort();
    distinct.dedup();
    match distinct.len() {
        0 => Ok(None),
        1 => Ok(Some(distinct[0])),
        _ => {
            let fields: Vec<String> = matched.iter().map(|(_, p, _)| p.clone()).collect();
            let values: Vec<String> = matched
                .iter()
                .map(|(_, p, v)| format!("{p}: {v}"))
                .collect();
            Err(ApiError::bad_input(
                "UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT",
                format!(
                    "Multiple records found with the same unique field values for {} ({}). Cannot determine which record to update.",
                    fields.join(", "),
                    values.join(", ")
                ),
            ))
        }
    }
}

/// Fills every readable field a new record lacks: defaults, nulls, composite shapes, system
/// timestamps.
fn complete(object: &ObjectMeta, mut record: Record, now: &str) -> Record {
    for field in &object.fields {
        if let Some(relation) = &field.relation {
            if let (RelationKind::ManyToOne, Some(column)) = (relation.kind, &relation.join_column)
            {
                record.entry(column.clone()).or_insert(Value::Null);
            }
            continue;
        }
        if field.field_type == "TS_VECTOR" {
            let vector = ts_vector(&record);
            record.insert(field.name.clone(), json!(vector));
            continue;
        }
        let value = record.remove(&field.name);
        let filled = match (field.name.as_str(), value) {
            ("createdAt" | "updatedAt", None) => json!(now),
            (_, Some(v)) => shape_with(field, v, true),
            (_, None) => default_of(field),
        };
        record.insert(field.name.clone(), filled);
    }
    record
}

/// The sub-fields a composite reads back with.
fn composite_subs(field_type: &str) -> &'static [&'static str] {
    match field_type {
        "EMAILS" => &["primaryEmail", "additionalEmails"],
        "LINKS" => &["primaryLinkUrl", "primaryLinkLabel", "secondaryLinks"],
        "CURRENCY" => &["amountMicros", "currencyCode"],
        "FULL_NAME" => &["firstName", "lastName"],
        "ADDRESS" => &[
            "addressStreet1",
            "addressStreet2",
            "addressCity",
            "addressPostcode",
            "addressState",
            "addressCountry",
            "addressLat",
            "addressLng",
        ],
        "PHONES" => &[
            "primaryPhoneNumber",
            "primaryPhoneCountryCode",
            "primaryPhoneCallingCode",
            "additionalPhones",
        ],
        "ACTOR" => &["source", "workspaceMemberId", "name", "context"],
        "RICH_TEXT" | "RICH_TEXT_V2" => &["blocknote", "markdown"],
        _ => &[],
    }
}

/// A stand-in for Postgres's `to_tsvector` over the record's name or title (the generated
/// column of `packages/twenty-server/src/engine/workspace-manager/utils/get-ts-vector-column-expression.util.ts`):
/// 2.21 returns `searchVector` with every record (recorded: `tests/conformance/twenty-2.21/company-create-one.json`),
/// and clients only need the key and a string.
fn ts_vector(record: &Record) -> String {
    let mut words = Vec::new();
    for key in ["name", "title"] {
        match record.get(key) {
            Some(Value::String(s)) => words.extend(s.split_whitespace().map(str::to_lowercase)),
            Some(Value::Object(m)) => {
                for v in m.values().filter_map(Value::as_str) {
                    words.extend(v.split_whitespace().map(str::to_lowercase));
                }
            }
            _ => {}
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| format!("'{w}':{}", i + 1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a column reads back as when an insert left it out: Twenty 2.21 gives text columns
/// (TEXT and the text sub-fields of composites) the default `''` and list columns (ARRAY,
/// MULTI_SELECT, `additionalEmails`, `secondaryLinks`, `additionalPhones`) `[]`, whatever the
/// field metadata's `defaultValue` says. Recorded from a real 2.21 server
/// (`tests/conformance/twenty-2.21/custom-actor-on-create-client-given.json`); the columns
/// come from `packages/twenty-server/src/engine/metadata-modules/field-metadata/composite-types/*.composite-type.ts`.
fn column_default(field_type: &str, sub: Option<&str>) -> Value {
    match (field_type, sub) {
        ("TEXT", None) => json!(""),
        ("ARRAY" | "MULTI_SELECT", None) => json!([]),
        (_, Some("additionalEmails" | "secondaryLinks" | "additionalPhones")) => json!([]),
        ("RICH_TEXT" | "RICH_TEXT_V2", Some("markdown")) => json!(""),
        ("EMAILS" | "LINKS" | "FULL_NAME" | "PHONES", Some(_)) => json!(""),
        ("ADDRESS", Some(s)) if s != "addressLat" && s != "addressLng" => json!(""),
        _ => Value::Null,
    }
}

/// A composite value with every sub-field present; `fill` gives the missing ones their
/// column default (an insert) rather than null.
fn shape_with(field: &FieldMeta, value: Value, fill: bool) -> Value {
    let subs = composite_subs(&field.field_type);
    if subs.is_empty() {
        return value;
    }
    let mut map = match value {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for sub in subs {
        map.entry(*sub).or_insert_with(|| {
            if fill {
                column_default(&field.field_type, Some(sub))
            } else {
                Value::Null
            }
        });
    }
    Value::Object(map)
}

/// A composite value with every sub-field present (missing ones null).
fn shape(field: &FieldMeta, value: Value) -> Value {
    shape_with(field, value, false)
}

/// The value a field takes when a create omits it. Metadata stores SQL-quoted literals
/// (`'NEW'`), which read back unquoted; without a literal, the column default.
fn default_of(field: &FieldMeta) -> Value {
    let value = match &field.default_value {
        None => column_default(&field.field_type, None),
        Some(Value::String(s)) if s == "uuid" || s == "now" => Value::Null,
        // The column's SQL default, `''` included: a field left out reads back as "" (a real
        // 2.21 answers `"fullPath": ""` and `"tagline": ""`), unlike a "" sent, which the
        // data-arg processor turns into null.
        Some(Value::String(s)) if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') => {
            json!(&s[1..s.len() - 1])
        }
        Some(Value::Object(m)) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if s.len() >= 2 && s.starts_with('\'') => {
                            json!(s.trim_matches('\''))
                        }
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Some(Value::Null) => column_default(&field.field_type, None),
        Some(other) => other.clone(),
    };
    shape_with(field, value, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_with_optional_names() {
        let m = Member::parse("Ada@Example.com, Ada, Lovelace").expect("member");
        assert_eq!(m.first_name, "Ada");
        assert_eq!(
            m.id(),
            Member::parse("ada@example.com").expect("member").id()
        );
        assert!(Member::parse("# not an email").is_none());
    }

    #[test]
    fn order_keys_sort_like_the_numbers() {
        let mut v = [3.5, -1.0, 0.0, 2.0, -7.25];
        v.sort_by_key(|p| OrderKey::of(*p));
        assert_eq!(v, [-7.25, -1.0, 0.0, 2.0, 3.5]);
    }
}
