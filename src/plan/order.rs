//! The dependency order of the objects and the references that wait for the second pass.

use std::collections::BTreeSet;

/// Topological order (dependencies first, ties by name) and the (object, key) references
/// deferred to the second pass: every self-reference, plus one edge per remaining cycle.
pub(super) fn order_objects(
    objects: &BTreeSet<&str>,
    edges: &[(String, String, String, bool)],
) -> (Vec<String>, BTreeSet<(String, String)>) {
    let mut deferred = BTreeSet::new();
    let mut live: Vec<&(String, String, String, bool)> = Vec::new();
    for e in edges {
        if e.0 == e.1 {
            deferred.insert((e.0.clone(), e.2.clone()));
        } else {
            live.push(e);
        }
    }
    let mut remaining: BTreeSet<String> = objects.iter().map(|s| s.to_string()).collect();
    let mut order = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        // An object is ready when everything it depends on is placed.
        let ready = remaining
            .iter()
            .find(|o| {
                !live
                    .iter()
                    .any(|(from, to, _, _)| from == *o && remaining.contains(to))
            })
            .cloned();
        match ready {
            Some(o) => {
                remaining.remove(&o);
                order.push(o);
            }
            None => {
                // A cycle: defer the first edge (nullable preferred) among the remaining objects.
                let pick = live
                    .iter()
                    .filter(|(f, t, _, _)| remaining.contains(f) && remaining.contains(t))
                    .min_by_key(|(f, t, k, nullable)| (!nullable, f.clone(), t.clone(), k.clone()))
                    .map(|e| (*e).clone());
                match pick {
                    Some((from, _, key, _)) => {
                        deferred.insert((from.clone(), key.clone()));
                        live.retain(|(f, _, k, _)| !(f == &from && k == &key));
                    }
                    None => break,
                }
            }
        }
    }
    (order, deferred)
}
