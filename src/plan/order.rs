//! The dependency order of the objects and the references that wait for the second pass.

use std::collections::BTreeSet;

/// Topological order (dependencies first, ties by name) and the (object, key) references
/// deferred to the second pass: every self-reference, plus, while some objects wait on each
/// other, one edge inside a cycle (both ends in the same strongly connected component of the
/// remaining objects), nullable first, then by (from, to, key).
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
                // Stuck: defer one edge that lies on a cycle (nullable preferred). An edge that
                // only points into a cycle waits for it instead, so it is never chosen.
                let pick = live
                    .iter()
                    .filter(|(f, t, _, _)| remaining.contains(f) && remaining.contains(t))
                    .filter(|(f, t, _, _)| reaches(&live, &remaining, t, f))
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

/// Whether `to` can be reached from `from` along live edges between remaining objects: for an
/// edge `to -> from`, that puts both ends in the same strongly connected component.
fn reaches(
    live: &[&(String, String, String, bool)],
    remaining: &BTreeSet<String>,
    from: &str,
    to: &str,
) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        if node == to {
            return true;
        }
        for (f, t, _, _) in live {
            if f == node && remaining.contains(t) && seen.insert(t.as_str()) {
                stack.push(t);
            }
        }
    }
    false
}
