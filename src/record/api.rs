//! [`ApiRecord`]: one record as the destination sends it, its id typed and its fields in the
//! order the transform wrote them.

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use uuid::Uuid;

/// One record as Twenty's API takes it: its id in the target and its fields, in the order they
/// were inserted. It serialises as one JSON object, `{"id": "<uuid>", …fields}`, id first.
///
/// The id is kept apart from the fields, as a [`Uuid`], so that no stage has to read it back
/// from a string; `fields` never holds an `id` key.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRecord {
    id: Uuid,
    // `serde_json::Map` would do, but it sorts its keys (its `preserve_order` feature is off).
    fields: IndexMap<String, Value>,
}

impl ApiRecord {
    /// A record with this id and no fields.
    pub fn new(id: Uuid) -> Self {
        Self::with_capacity(id, 0)
    }

    /// A record with this id and room for `capacity` fields.
    pub fn with_capacity(id: Uuid, capacity: usize) -> Self {
        Self {
            id,
            fields: IndexMap::with_capacity(capacity),
        }
    }

    /// The record's id in the target.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Sets a field; a new key goes last, an existing one keeps its place. Returns the value it
    /// replaced. The key must not be `id` (the id is [`ApiRecord::id`]).
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        debug_assert_ne!(key, "id", "the id of an ApiRecord is not a field");
        self.fields.insert(key, value)
    }

    /// The value of a field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The value of a field, to change it in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.fields.get_mut(key)
    }

    /// Removes a field, keeping the order of the others; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.shift_remove(key)
    }

    /// The fields (not the id), in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The fields (not the id), in order, by value.
    pub fn into_fields(self) -> impl ExactSizeIterator<Item = (String, Value)> {
        self.fields.into_iter()
    }

    /// The number of fields (the id is not one).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the record has no field besides its id.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The record as a JSON object, `id` included.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("id".to_owned(), Value::String(self.id.to_string()));
        for (k, v) in &self.fields {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}

/// Sets each field in turn, as [`ApiRecord::insert`] does.
impl Extend<(String, Value)> for ApiRecord {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// `record["name"]`: the value of a field; panics when the record has no such field, as
/// [`serde_json::Map`] does.
impl std::ops::Index<&str> for ApiRecord {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        match self.fields.get(key) {
            Some(v) => v,
            None => panic!("the record has no field {key:?}"),
        }
    }
}

/// `{"id": "<uuid>", …fields in insertion order}`.
impl Serialize for ApiRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        map.serialize_entry("id", &self.id)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acme() -> ApiRecord {
        let mut r = ApiRecord::new(Uuid::from_u128(0x6f1c_2b9e_3a4d_4e5f_8a7b_1c2d_3e4f_5a6b));
        r.insert("name", json!("Acme"));
        r.insert("employees", json!(10));
        r.insert("domainName", json!({"primaryLinkUrl": "https://acme.com"}));
        r.insert("accountOwnerId", Value::Null);
        r
    }

    #[test]
    fn the_id_comes_first_then_the_fields_in_insertion_order() {
        let text = serde_json::to_string(&acme()).unwrap();
        assert_eq!(
            text,
            r#"{"id":"6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b","name":"Acme","employees":10,"domainName":{"primaryLinkUrl":"https://acme.com"},"accountOwnerId":null}"#
        );
    }

    #[test]
    fn a_replaced_field_keeps_its_place_and_a_removed_one_leaves_the_others_in_order() {
        let mut r = acme();
        assert_eq!(r.insert("name", json!("Acme Inc")), Some(json!("Acme")));
        assert_eq!(r.remove("employees"), Some(json!(10)));
        assert_eq!(r.remove("employees"), None);
        *r.get_mut("accountOwnerId").unwrap() = json!("x");
        let keys: Vec<&str> = r.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["name", "domainName", "accountOwnerId"]);
        assert_eq!((r.len(), r.is_empty()), (3, false));
        assert_eq!(r["name"], "Acme Inc");
        assert!(ApiRecord::new(Uuid::nil()).is_empty());
    }

    /// The bytes a batch sends hold what the record built as a `serde_json::Map` (with `"id"`
    /// as a string field) held, key order aside.
    #[test]
    fn a_record_reads_back_as_the_map_it_replaces() {
        let record = acme();
        let mut old = serde_json::Map::new();
        old.insert("id".into(), Value::String(record.id().to_string()));
        for (k, v) in record.iter() {
            old.insert(k.to_owned(), v.clone());
        }
        let bytes = serde_json::to_vec(&[&record, &record]).unwrap();
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            back,
            Value::Array(vec![Value::Object(old.clone()), Value::Object(old.clone())])
        );
        assert_eq!(record.to_value(), Value::Object(old.clone()));
        assert_eq!(serde_json::to_value(&record).unwrap(), Value::Object(old));
    }

    #[test]
    fn extending_merges_fields_without_touching_the_id() {
        let mut first = acme();
        let mut second = ApiRecord::new(first.id());
        second.insert("parentCompanyId", json!("p"));
        second.insert("name", json!("Acme Inc"));
        first.extend(second.into_fields());
        let keys: Vec<&str> = first.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "name",
                "employees",
                "domainName",
                "accountOwnerId",
                "parentCompanyId"
            ]
        );
        assert_eq!(first["name"], "Acme Inc");
    }
}
