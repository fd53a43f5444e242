//! Keeps `docs/compatibility.md` true: every row of its tables is checked against
//! [`crate::routes::operations`], the list the router is built from. A **served** or
//! **differs** row must be an operation, a **not served** row must not be, and every operation
//! but the operator's `/admin` ones must have a row.

use std::collections::HashSet;

const TABLE: &str = include_str!("../../../docs/compatibility.md");

/// A route pattern with its parameters' names dropped: `/instances/{}`.
fn pattern(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// `(method, pattern, status)` of every table row.
fn rows() -> Vec<(String, String, String)> {
    TABLE
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            let method = *cells.first()?;
            let valid = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method);
            valid.then(|| {
                (
                    method.to_string(),
                    pattern(cells.get(1).copied().unwrap_or_default()),
                    cells.get(2).copied().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

#[test]
fn the_compatibility_table_matches_the_router() {
    let served: HashSet<(String, String)> = crate::routes::operations()
        .iter()
        .map(|o| (o.method.to_string(), pattern(o.path)))
        .collect();
    let rows = rows();
    assert!(rows.len() > 40, "the table was read ({} rows)", rows.len());
    let mut listed = HashSet::new();
    for (method, path, status) in &rows {
        let is_served = served.contains(&(method.clone(), path.clone()));
        match status.as_str() {
            "served" | "differs" => assert!(
                is_served,
                "{method} {path} is marked {status} but not served"
            ),
            "not served" => assert!(!is_served, "{method} {path} is marked not served but is"),
            other => panic!("{method} {path}: unknown status {other:?}"),
        }
        assert!(
            listed.insert((method.clone(), path.clone())),
            "{method} {path} listed twice"
        );
    }
    for (method, path) in &served {
        if !path.starts_with("/admin/") {
            assert!(
                listed.contains(&(method.clone(), path.clone())),
                "{method} {path} is served but not in docs/compatibility.md"
            );
        }
    }
}
