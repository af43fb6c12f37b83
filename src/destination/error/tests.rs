//! Classification of Twenty's answers and their dispositions.

use super::*;

fn classify(status: u16, body: &str) -> TargetError {
    classify_status(
        StatusCode::from_u16(status).unwrap(),
        &HeaderMap::new(),
        body.as_bytes(),
    )
}

#[test]
fn batch_cap_message_yields_the_cap() {
    let e = classify(
        400,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Maximum number of records to upsert is 60."],"code":"TOO_MANY_RECORDS_TO_UPDATE"}"#,
    );
    assert!(
        matches!(e, TargetError::BatchTooLarge { cap: Some(60), .. }),
        "{e:?}"
    );
}

#[test]
fn batch_cap_code_without_a_number_still_means_too_large() {
    let e = classify(
        400,
        r#"{"statusCode":400,"messages":["too many"],"code":"UPSERT_MAX_RECORDS_EXCEEDED"}"#,
    );
    assert!(
        matches!(e, TargetError::BatchTooLarge { cap: None, .. }),
        "{e:?}"
    );
}

#[test]
fn legacy_limit_reached_400_is_a_rate_limit() {
    let e = classify(
        400,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Limit reached (100 tokens per 60000 ms)"]}"#,
    );
    assert!(
        matches!(e, TargetError::RateLimited { retry_after: None }),
        "{e:?}"
    );
}

#[test]
fn retry_after_comes_from_the_header_or_the_body() {
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
    let e = classify_status(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}");
    assert!(
        matches!(e, TargetError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7))
    );
    let e = classify(
        429,
        r#"{"statusCode":429,"error":"RATE_LIMITED","messages":["Rate limit exceeded for apiKey: 100 requests per 60s."],"retryAfterSeconds":12}"#,
    );
    assert!(
        matches!(e, TargetError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(12))
    );
}

#[test]
fn missing_token_403_is_unauthorized_but_permission_denied_is_forbidden() {
    let e = classify(
        403,
        r#"{"statusCode":403,"messages":["Missing authentication token"],"error":"FORBIDDEN_EXCEPTION"}"#,
    );
    assert!(
        matches!(e, TargetError::Unauthorized { status: 403, .. }),
        "{e:?}"
    );
    let e = classify(
        403,
        r#"{"statusCode":403,"messages":["Entity performing the request does not have permission"],"code":"PERMISSION_DENIED"}"#,
    );
    assert!(matches!(e, TargetError::Forbidden { .. }), "{e:?}");
}

#[test]
fn status_table_sorts_5xx_501_and_other_4xx() {
    assert!(matches!(classify(503, ""), TargetError::Transient { .. }));
    assert!(matches!(classify(408, ""), TargetError::Transient { .. }));
    assert!(matches!(
        classify(501, ""),
        TargetError::Rejected { status: 501, .. }
    ));
    assert!(matches!(
        classify(413, "<html>"),
        TargetError::PayloadTooLarge
    ));
    assert!(matches!(
        classify(402, "{}"),
        TargetError::QuotaExhausted { .. }
    ));
    let e = classify(
        400,
        r#"{"statusCode":400,"error":"BadRequestException","messages":["Object company doesn't have any \"foo\" field."],"code":"INVALID_ARGS_DATA"}"#,
    );
    match e {
        TargetError::Rejected {
            status,
            messages,
            code,
        } => {
            assert_eq!(status, 400);
            assert_eq!(
                messages,
                vec![r#"Object company doesn't have any "foo" field."#]
            );
            assert_eq!(code.as_deref(), Some("INVALID_ARGS_DATA"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn a_permission_refusal_is_told_from_a_refused_key_by_its_error_member_without_a_code() {
    // An older server renders no `code`: the Nest name marks the custom exception.
    let e = classify(
        403,
        r#"{"statusCode":403,"error":"ForbiddenException","messages":["Entity performing the request does not have permission"]}"#,
    );
    assert!(matches!(e, TargetError::Forbidden { .. }), "{e:?}");
    // The same words from the auth middleware would still be a refused key.
    let e = classify(
        403,
        r#"{"statusCode":403,"error":"FORBIDDEN_EXCEPTION","messages":["does not have permission"]}"#,
    );
    assert!(matches!(e, TargetError::Unauthorized { .. }), "{e:?}");
}

#[test]
fn the_disposition_follows_statuses_and_codes() {
    use Disposition::*;
    let cases = [
        (classify(503, "Service Unavailable"), RetryLater),
        (classify(502, ""), RetryLater),
        (classify(408, ""), RetryLater),
        (classify(429, "{}"), RetryLater),
        (
            classify(
                400,
                r#"{"messages":["Limit reached (100 tokens per 60000 ms)"]}"#,
            ),
            RetryLater,
        ),
        (
            classify(
                400,
                r#"{"messages":["Maximum number of records to upsert is 60."]}"#,
            ),
            Shrink,
        ),
        (classify(413, ""), Shrink),
        (
            classify(
                400,
                r#"{"statusCode":400,"error":"BadRequestException","messages":["Invalid value"]}"#,
            ),
            RejectRecords,
        ),
        (
            classify(409, r#"{"messages":["duplicate"]}"#),
            RejectRecords,
        ),
        (classify(501, ""), Stop),
        (classify(405, ""), Stop),
        (classify(401, r#"{"messages":["Token invalid."]}"#), Stop),
        (
            classify(403, r#"{"code":"PERMISSION_DENIED","messages":["no"]}"#),
            Stop,
        ),
        (classify(402, "{}"), Stop),
        (TargetError::Protocol("unreadable".into()), Stop),
        (TargetError::Config("bad".into()), Stop),
        (
            TargetError::UploadUrlRefused {
                status: 403,
                file_id: "f".into(),
            },
            Stop,
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.disposition(), want, "{err:?}");
    }
    let local = TargetError::LocalFile {
        path: "x".into(),
        source: std::io::Error::other("gone"),
    };
    assert_eq!(local.disposition(), RejectRecords);
}

#[test]
fn a_graphql_error_shaped_as_a_validation_failure_gets_its_code() {
    // 2.21 answers an unknown field with `locations` and no `extensions`.
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"locations":[{"column":84,"line":1}],"message":"Cannot query field \"isCustom\" on type \"Object\"."}]"#,
    )
    .unwrap();
    let e = classify_graphql_errors(200, &errs);
    assert!(e.is_graphql_validation(), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Stop);
    // A resolver's error without a code is a refusal of the content.
    let errs: Vec<Value> =
        serde_json::from_str(r#"[{"message":"File not found","path":["completeFileUpload"]}]"#)
            .unwrap();
    let e = classify_graphql_errors(200, &errs);
    assert!(!e.is_graphql_validation(), "{e:?}");
    assert_eq!(e.disposition(), Disposition::RejectRecords);
    // The legacy throttler, and a GraphQL timeout, are waited out.
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"message":"Limit reached (100 tokens per 60000 ms)","extensions":{"code":"BAD_USER_INPUT"}}]"#,
    )
    .unwrap();
    assert_eq!(
        classify_graphql_errors(200, &errs).disposition(),
        Disposition::RetryLater
    );
    let errs: Vec<Value> =
        serde_json::from_str(r#"[{"message":"slow","extensions":{"code":"TIMEOUT"}}]"#).unwrap();
    assert_eq!(
        classify_graphql_errors(200, &errs).disposition(),
        Disposition::RetryLater
    );
}

#[test]
fn a_non_json_error_body_becomes_a_short_message() {
    let long = "x".repeat(1000);
    match classify(400, &long) {
        TargetError::Rejected { messages, .. } => assert!(messages[0].chars().count() <= 301),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

// The shape of a real 2.21 refusal of createOneField.
#[test]
fn a_metadata_validation_failure_names_each_reason() {
    let errs = vec![serde_json::json!({
        "message": "Multiple validation errors occurred while creating field",
        "extensions": {"code": "METADATA_VALIDATION_FAILED", "errors": {"fieldMetadata": [
            {"errors": [{"code": "FIELD_METADATA_RELATION_MALFORMED",
                         "message": "Relation creation payload is invalid: targetFieldIcon must be a string"}],
             "type": "create", "metadataName": "fieldMetadata"}]}}
    })];
    match classify_graphql_errors(200, &errs) {
        TargetError::Rejected { messages, code, .. } => {
            assert_eq!(
                messages,
                ["Multiple validation errors occurred while creating field: Relation creation payload is invalid: targetFieldIcon must be a string"]
            );
            assert_eq!(code.as_deref(), Some("METADATA_VALIDATION_FAILED"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn graphql_codes_map_to_variants() {
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"message":"Rate limit exceeded","extensions":{"code":"RATE_LIMITED","retryAfterMs":1500}}]"#,
    )
    .unwrap();
    assert!(matches!(
        classify_graphql_errors(200, &errs),
        TargetError::RateLimited { retry_after: Some(d) } if d == Duration::from_millis(1500)
    ));
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"message":"Field name is reserved","extensions":{"code":"BAD_USER_INPUT"}}]"#,
    )
    .unwrap();
    match classify_graphql_errors(200, &errs) {
        TargetError::Rejected {
            status: 200,
            messages,
            code,
        } => {
            assert_eq!(messages, vec!["Field name is reserved"]);
            assert_eq!(code.as_deref(), Some("BAD_USER_INPUT"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn a_graphql_permission_refusal_keeps_its_sub_code_as_its_code() {
    // Recorded from a real 2.21 without an enterprise key (golden
    // config-row-level-permission-predicates-without-the-enterprise-feature).
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"message":"Row level permission predicate feature is disabled","extensions":{"code":"FORBIDDEN","subCode":"ROW_LEVEL_PERMISSION_FEATURE_DISABLED","userFriendlyMessage":"Row level permission predicate feature is disabled."}}]"#,
    )
    .unwrap();
    let e = classify_graphql_errors(200, &errs);
    assert_eq!(
        e.forbidden_code(),
        Some("ROW_LEVEL_PERMISSION_FEATURE_DISABLED")
    );
    assert_eq!(e.disposition(), Disposition::Stop);
    // Without a sub-code, the code.
    let errs: Vec<Value> = serde_json::from_str(
        r#"[{"message":"Forbidden resource","extensions":{"code":"FORBIDDEN"}}]"#,
    )
    .unwrap();
    assert_eq!(
        classify_graphql_errors(200, &errs).forbidden_code(),
        Some("FORBIDDEN")
    );
}
