//! Pure tests of the order, the estimate, durations and the unmatched-member policy.

use super::render::human_duration;
use super::*;

fn edge(f: &str, t: &str, k: &str) -> (String, String, String, bool) {
    (f.into(), t.into(), k.into(), true)
}

#[test]
fn dependencies_come_first() {
    let objects = BTreeSet::from(["company", "person", "opportunity", "noteTarget", "note"]);
    let edges = vec![
        edge("person", "company", "companyId"),
        edge("opportunity", "person", "pointOfContactId"),
        edge("opportunity", "company", "companyId"),
        edge("noteTarget", "note", "noteId"),
        edge("noteTarget", "person", "targetPersonId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    let pos = |o: &str| order.iter().position(|x| x == o).unwrap();
    assert!(pos("company") < pos("person"));
    assert!(pos("person") < pos("opportunity"));
    assert!(pos("note") < pos("noteTarget"));
    assert!(deferred.is_empty());
}

#[test]
fn a_cycle_is_broken_by_deferring_one_reference_and_self_references_always_wait() {
    let objects = BTreeSet::from(["a", "b"]);
    let edges = vec![
        edge("a", "b", "bId"),
        edge("b", "a", "aId"),
        edge("a", "a", "parentId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    assert_eq!(order.len(), 2);
    assert!(deferred.contains(&("a".into(), "parentId".into())));
    assert_eq!(deferred.len(), 2, "{deferred:?}");
}

fn required(f: &str, t: &str, k: &str) -> (String, String, String, bool) {
    (f.into(), t.into(), k.into(), false)
}

fn pair(o: &str, k: &str) -> (String, String) {
    (o.into(), k.into())
}

#[test]
fn an_edge_into_a_cycle_is_not_deferred_only_one_inside_it_is() {
    let objects = BTreeSet::from(["attachment", "person", "pet"]);
    let edges = vec![
        edge("attachment", "person", "targetPersonId"),
        edge("person", "pet", "favoritePetId"),
        edge("pet", "person", "ownerId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    assert_eq!(
        deferred,
        BTreeSet::from([pair("person", "favoritePetId")]),
        "{order:?}"
    );
    assert_eq!(order, ["person", "attachment", "pet"]);
}

#[test]
fn a_required_edge_into_a_cycle_does_not_block_when_the_cycle_has_a_nullable_edge() {
    // person <-> pet is broken by its nullable edge, but pet also waits on a genuine required
    // cycle (company <-> opportunity): the required attachment edge is still pending when only
    // required edges are left, and it must not be the one deferred (that would block the run).
    let objects = BTreeSet::from(["attachment", "company", "opportunity", "person", "pet"]);
    let edges = vec![
        required("attachment", "person", "targetPersonId"),
        required("person", "pet", "favoritePetId"),
        edge("pet", "person", "ownerId"),
        required("pet", "company", "vetId"),
        required("company", "opportunity", "mainOpportunityId"),
        required("opportunity", "company", "companyId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    assert_eq!(
        deferred,
        BTreeSet::from([pair("company", "mainOpportunityId"), pair("pet", "ownerId")]),
        "{order:?}"
    );
    assert_eq!(
        order,
        ["company", "opportunity", "pet", "person", "attachment"]
    );
}

#[test]
fn a_required_cycle_defers_one_edge_inside_it_and_none_pointing_into_it() {
    let objects = BTreeSet::from(["attachment", "person", "pet"]);
    let edges = vec![
        required("attachment", "person", "targetPersonId"),
        required("person", "pet", "favoritePetId"),
        required("pet", "person", "ownerId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    // The required cycle itself still yields its deferred (blocking) edge.
    assert_eq!(
        deferred,
        BTreeSet::from([pair("person", "favoritePetId")]),
        "{order:?}"
    );
    assert_eq!(order, ["person", "attachment", "pet"]);
}

#[test]
fn two_separate_cycles_defer_one_edge_each() {
    let objects = BTreeSet::from(["attachment", "company", "opportunity", "person", "pet"]);
    let edges = vec![
        edge("attachment", "company", "targetCompanyId"),
        edge("attachment", "person", "targetPersonId"),
        edge("company", "opportunity", "mainOpportunityId"),
        edge("opportunity", "company", "companyId"),
        edge("person", "company", "companyId"),
        edge("person", "pet", "favoritePetId"),
        edge("pet", "person", "ownerId"),
    ];
    let (order, deferred) = order_objects(&objects, &edges);
    assert_eq!(
        deferred,
        BTreeSet::from([
            pair("company", "mainOpportunityId"),
            pair("person", "favoritePetId")
        ]),
        "{order:?}"
    );
    assert_eq!(
        order,
        ["company", "opportunity", "person", "attachment", "pet"]
    );
}

#[test]
fn the_order_and_the_deferred_set_do_not_depend_on_the_edge_order() {
    let objects = BTreeSet::from(["attachment", "company", "opportunity", "person", "pet"]);
    let mut edges = vec![
        edge("attachment", "person", "targetPersonId"),
        edge("company", "opportunity", "mainOpportunityId"),
        edge("opportunity", "company", "companyId"),
        edge("person", "company", "companyId"),
        edge("person", "pet", "favoritePetId"),
        edge("pet", "person", "ownerId"),
    ];
    let first = order_objects(&objects, &edges);
    edges.reverse();
    assert_eq!(order_objects(&objects, &edges), first);
}

fn planned(object: &str, live: u64, deleted: u64, requests: u64) -> ObjectPlan {
    ObjectPlan {
        object: object.into(),
        target_plural: format!("{object}s"),
        fields: Vec::new(),
        dropped: Vec::new(),
        live,
        deleted,
        requests,
    }
}

#[test]
fn the_estimate_counts_three_requests_for_each_attachment_file() {
    let objects = vec![
        planned("company", 400, 10, 2),
        planned("attachment", 50, 5, 1),
    ];
    let e = estimate(&objects, false, 200, 60);
    assert_eq!((e.files, e.file_requests), (50, 150));
    // 3 batches and 150 upload requests at 60 a minute.
    assert!((e.seconds - 153.0).abs() < 1e-9, "{}", e.seconds);
    let kept = estimate(&objects, true, 200, 60);
    assert_eq!(kept.files, 55);
}

#[test]
fn durations_read_naturally() {
    assert_eq!(human_duration(12.4), "12 s");
    assert_eq!(human_duration(245.0), "4 min 05 s");
    assert_eq!(human_duration(11_520.0), "3 h 12 min");
}

#[test]
fn unmatched_member_policy_parses_the_documented_values() {
    assert_eq!(
        "null".parse::<UnmatchedMembers>().unwrap(),
        UnmatchedMembers::Null
    );
    assert_eq!(
        "ACTOR_NAME_ONLY".parse::<UnmatchedMembers>().unwrap(),
        UnmatchedMembers::ActorNameOnly
    );
    assert_eq!(
        "ops@acme.com".parse::<UnmatchedMembers>().unwrap(),
        UnmatchedMembers::Member("ops@acme.com".into())
    );
    assert!("maybe".parse::<UnmatchedMembers>().is_err());
}
