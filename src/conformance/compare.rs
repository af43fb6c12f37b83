//! Compares a replayed exchange with its golden, path by path, and holds the list of known
//! differences the replay accepts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One place where the replay and the golden disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// JSON pointer into the exchange document (`/steps/1/body/data/…`).
    pub path: String,
    /// The golden's value there (`None`: absent).
    pub golden: Option<Value>,
    /// The replay's value there (`None`: absent).
    pub actual: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| match v {
            Some(v) => v.to_string(),
            None => "(absent)".to_owned(),
        };
        write!(
            f,
            "{}: golden {} / replay {}",
            self.path,
            show(&self.golden),
            show(&self.actual)
        )
    }
}

/// Every difference between `golden` and `actual`, in document order.
pub fn compare(golden: &Value, actual: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff(golden, actual, String::new(), &mut out);
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn diff(golden: &Value, actual: &Value, path: String, out: &mut Vec<Difference>) {
    match (golden, actual) {
        (Value::Object(g), Value::Object(a)) => {
            for (k, gv) in g {
                let p = format!("{path}/{}", escape(k));
                match a.get(k) {
                    Some(av) => diff(gv, av, p, out),
                    None => out.push(Difference {
                        path: p,
                        golden: Some(gv.clone()),
                        actual: None,
                    }),
                }
            }
            for (k, av) in a {
                if !g.contains_key(k) {
                    out.push(Difference {
                        path: format!("{path}/{}", escape(k)),
                        golden: None,
                        actual: Some(av.clone()),
                    });
                }
            }
        }
        (Value::Array(g), Value::Array(a)) => {
            for i in 0..g.len().max(a.len()) {
                let p = format!("{path}/{i}");
                match (g.get(i), a.get(i)) {
                    (Some(gv), Some(av)) => diff(gv, av, p, out),
                    (gv, av) => out.push(Difference {
                        path: p,
                        golden: gv.cloned(),
                        actual: av.cloned(),
                    }),
                }
            }
        }
        (g, a) if g == a => {}
        (g, a) => out.push(Difference {
            path,
            golden: Some(g.clone()),
            actual: Some(a.clone()),
        }),
    }
}

/// A difference between the twin and the recorded server that is known and accepted for now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KnownDifference {
    /// The exchange.
    pub exchange: String,
    /// A JSON pointer; the entry covers this path and everything under it. A segment `*`
    /// matches any one segment, `**` any number of them; the exchange `*` matches every
    /// exchange.
    pub path: String,
    /// Why the twin differs.
    pub reason: String,
    /// The test that pins the twin's current behaviour.
    pub pinned_by: String,
}

impl KnownDifference {
    /// Whether this entry covers `d` of `exchange`.
    pub fn covers(&self, exchange: &str, d: &Difference) -> bool {
        let pattern: Vec<&str> = self.path.split('/').skip(1).collect();
        let path: Vec<&str> = d.path.split('/').skip(1).collect();
        (self.exchange == "*" || self.exchange == exchange) && prefix_matches(&pattern, &path)
    }
}

/// Whether `pattern` matches a prefix of `path` (segments; `*` one, `**` any number).
fn prefix_matches(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => true,
        Some((&"**", rest)) => (0..=path.len()).any(|skip| prefix_matches(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((seg, tail)) if *first == "*" || first == seg => prefix_matches(rest, tail),
            _ => false,
        },
    }
}

/// The committed list (`known-differences.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KnownDifferences {
    /// The entries.
    pub differences: Vec<KnownDifference>,
}

impl KnownDifferences {
    /// The first entry covering `d` of `exchange`.
    pub fn covering(&self, exchange: &str, d: &Difference) -> Option<usize> {
        self.differences.iter().position(|k| k.covers(exchange, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_path_and_both_values_including_absent_keys_and_items() {
        let golden = json!({"a": {"b": 1, "gone": true}, "l": [1, 2]});
        let actual = json!({"a": {"b": 2, "new": null}, "l": [1]});
        let d = compare(&golden, &actual);
        let shown: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "/a/b: golden 1 / replay 2",
                "/a/gone: golden true / replay (absent)",
                "/a/new: golden (absent) / replay null",
                "/l/1: golden 2 / replay (absent)",
            ]
        );
    }

    #[test]
    fn a_known_difference_covers_its_path_and_below_but_not_a_sibling_prefix() {
        let k = KnownDifference {
            exchange: "x".into(),
            path: "/steps/0/body".into(),
            reason: "r".into(),
            pinned_by: "t".into(),
        };
        let at = |p: &str| Difference {
            path: p.into(),
            golden: None,
            actual: None,
        };
        assert!(k.covers("x", &at("/steps/0/body")));
        assert!(k.covers("x", &at("/steps/0/body/data")));
        assert!(!k.covers("x", &at("/steps/0/bodyX")));
        assert!(!k.covers("y", &at("/steps/0/body")));
        let glob = KnownDifference {
            exchange: "*".into(),
            path: "/steps/*/body/**/tagline".into(),
            ..k
        };
        assert!(glob.covers("y", &at("/steps/3/body/data/createCompanies/0/tagline")));
        assert!(glob.covers("y", &at("/steps/3/body/tagline")));
        assert!(!glob.covers("y", &at("/steps/3/request/tagline")));
    }
}
