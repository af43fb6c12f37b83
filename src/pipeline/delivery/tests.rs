//! Delivery: settling in order, merged records, values the target did not keep.

use serde_json::Value;

use super::*;

#[test]
fn batches_finishing_out_of_order_settle_in_order_and_the_cursor_only_moves_forward() {
    let mut in_order = InOrder::default();
    let mut report = ObjectReport::new("company");
    let cursor = |n: u128| Some(Uuid::from_u128(n));
    let read = |n: u64| ObjectReport {
        read: n,
        ..ObjectReport::new("company")
    };
    let a = in_order.submit(cursor(10), read(10));
    let b = in_order.submit(cursor(20), read(10));
    let c = in_order.submit(cursor(30), read(10));
    // The last batch finishes first: nothing settles, nothing is counted.
    assert!(in_order.finish(c, 9, 0, 1, &mut report).is_empty());
    assert_eq!(report.read, 0);
    // The first: it settles alone.
    assert_eq!(in_order.finish(a, 10, 0, 0, &mut report), vec![cursor(10)]);
    assert_eq!((report.read, report.written), (10, 10));
    // The middle one settles itself and the last, in order.
    assert_eq!(
        in_order.finish(b, 10, 0, 0, &mut report),
        vec![cursor(20), cursor(30)]
    );
    assert_eq!((report.read, report.written, report.rejected), (30, 29, 1));
    assert!(report.balances());
}

fn outgoing(n: u128, fields: &[(&str, Value)]) -> Outgoing {
    let source_id = Uuid::from_u128(n);
    let mut record = ApiRecord::new(target_id(source_id));
    for (k, v) in fields {
        record.insert(*k, v.clone());
    }
    Outgoing::new(source_id, record)
}

/// The returned ids are compared with each record's own id as UUIDs (the case of the
/// answer's text does not matter); one returned under another id was merged into it.
#[test]
fn a_record_returned_under_another_id_is_merged_into_it() {
    let sent = [outgoing(1, &[]), outgoing(2, &[]), outgoing(3, &[])];
    let other = Uuid::from_u128(99).to_string();
    let returned = [
        ReturnedId(Some(sent[0].record.id().to_string())),
        ReturnedId(Some(other.clone())),
        ReturnedId(Some(sent[2].record.id().to_string().to_uppercase())),
    ];
    assert_eq!(merged_into(&sent, &returned), [(1, other)]);
    // An answer of another length is read by id.
    let short = [ReturnedId(Some(sent[2].record.id().to_string()))];
    assert_eq!(
        merged_into(&sent, &short),
        [
            (0, "of unknown id".to_owned()),
            (1, "of unknown id".to_owned())
        ]
    );
    assert!(merged_into(&sent, &[ReturnedId(None)]).is_empty());
}

#[test]
fn system_values_the_target_did_not_keep_are_named() {
    let sent = [outgoing(
        1,
        &[
            ("createdAt", serde_json::json!("2024-01-02T03:04:05.000Z")),
            ("position", serde_json::json!(3)),
        ],
    )];
    let id = sent[0].record.id().to_string();
    let kept =
        [serde_json::json!({"id": id, "createdAt": "2024-01-02T03:04:05.000Z", "position": 3})];
    assert!(not_kept("company", &sent, &kept).is_empty());
    let stamped =
        [serde_json::json!({"id": id, "createdAt": "2025-06-01T00:00:00.000Z", "position": 3})];
    let notes = not_kept("company", &sent, &stamped);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("company.createdAt"), "{}", notes[0]);
    // Another record's answer says nothing.
    let elsewhere = [serde_json::json!({"id": Uuid::from_u128(9).to_string(), "position": 0})];
    assert!(not_kept("company", &sent, &elsewhere).is_empty());
}

#[test]
fn the_field_is_read_from_twentys_messages() {
    assert_eq!(
        field_in_message("Invalid value 'X' for field \"stage\"").as_deref(),
        Some("stage")
    );
    assert_eq!(
        field_in_message("Invalid string value 'a' for email field \"emails.primaryEmail\"")
            .as_deref(),
        Some("emails")
    );
    assert_eq!(field_in_message("A duplicate entry was detected"), None);
    // The wording of a real 2.21 (the value comes first, and may hold a dash).
    assert_eq!(
        field_in_message(
            "Invalid value \"mid-market\" for field \"tier\". Valid values are: STARTUP, SMB"
        )
        .as_deref(),
        Some("tier")
    );
}

#[test]
fn a_bad_link_is_traced_to_its_field() {
    let mut record = ApiRecord::new(Uuid::new_v4());
    record.insert(
        "domainName",
        serde_json::json!({"primaryLinkUrl": "https://acme.com"}),
    );
    record.insert(
        "linkedinLink",
        serde_json::json!({"primaryLinkUrl": "not a url", "secondaryLinks": null}),
    );
    assert_eq!(
        field_by_shape(Some("INVALID_URL"), &record).as_deref(),
        Some("linkedinLink")
    );
    assert_eq!(field_by_shape(Some("INVALID_ARGS_DATA"), &record), None);
    assert_eq!(field_by_shape(None, &record), None);
}
