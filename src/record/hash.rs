//! [`content_hash`]: what a record looks like to the target, as one number, so that a later
//! pass can tell a changed record from an unchanged one without asking the target.

use serde_json::Value;

use super::ApiRecord;

/// 64-bit FNV-1a: defined by its constants, so a hash written by one build of the tool is read
/// the same by the next (std's hasher promises no such thing).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl std::io::Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The hash of the fields `records` would write, ignoring their order and the fields that are
/// null: a field the target gains (a new custom field) leaves the hash of the records that
/// have no value in it unchanged, so a delta sends only the records that do.
pub fn content_hash<'a>(records: impl IntoIterator<Item = &'a ApiRecord>) -> u64 {
    let mut fields: Vec<(&str, &Value)> = records
        .into_iter()
        .flat_map(|r| r.iter())
        .filter(|(_, v)| !v.is_null())
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = Fnv::new();
    for (key, value) in fields {
        h.bytes(key.as_bytes());
        h.bytes(&[0]);
        // Writing into the hasher cannot fail.
        let _ = serde_json::to_writer(&mut h, value);
        h.bytes(&[0]);
    }
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn record(fields: &[(&str, Value)]) -> ApiRecord {
        let mut r = ApiRecord::new(Uuid::from_u128(1));
        for (k, v) in fields {
            r.insert(*k, v.clone());
        }
        r
    }

    #[test]
    fn the_hash_ignores_field_order_and_null_fields_but_sees_every_value() {
        let a = record(&[("name", json!("Acme")), ("employees", json!(3))]);
        let b = record(&[
            ("employees", json!(3)),
            ("tagline", Value::Null),
            ("name", json!("Acme")),
        ]);
        assert_eq!(content_hash([&a]), content_hash([&b]));
        let c = record(&[("name", json!("Acme")), ("employees", json!(4))]);
        assert_ne!(content_hash([&a]), content_hash([&c]));
        let d = record(&[("name", json!("Acme"))]);
        assert_ne!(content_hash([&a]), content_hash([&d]));
        // A value moved from one field to another is a change.
        let e = record(&[("name", json!(3)), ("employees", json!("Acme"))]);
        assert_ne!(content_hash([&a]), content_hash([&e]));
        // Stable across builds: FNV-1a of nothing is its offset basis.
        assert_eq!(content_hash([&record(&[])]), 0xcbf2_9ce4_8422_2325);
    }
}
