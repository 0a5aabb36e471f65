//! `result_info` must describe the page it comes with.

use serde_json::Value;

use crate::model::Finding;

/// Checks a list answer's `result_info` against its `result` and the page asked for
/// (`requested_page`/`requested_per_page` are what the query said, if anything).
pub fn check_result_info(
    body: &Value,
    requested_page: Option<u64>,
    requested_per_page: Option<u64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(result), Some(info)) = (
        body.get("result").and_then(Value::as_array),
        body.get("result_info").and_then(Value::as_object),
    ) else {
        return out; // the schema family reports missing or mistyped fields
    };
    let field = |k: &str| info.get(k).and_then(Value::as_u64);
    let (Some(page), Some(per_page), Some(count), Some(total_count), Some(total_pages)) = (
        field("page"),
        field("per_page"),
        field("count"),
        field("total_count"),
        field("total_pages"),
    ) else {
        return out;
    };
    let mut finding = |what: &str, expected: String, actual: u64, message: &str| {
        out.push(Finding::new(
            "list.result-info",
            format!("/result_info/{what}"),
            expected,
            actual.to_string(),
            message,
        ))
    };
    if count != result.len() as u64 {
        finding(
            "count",
            result.len().to_string(),
            count,
            "`count` must equal the number of items on this page",
        );
    }
    if per_page > 0 && result.len() as u64 > per_page {
        finding(
            "per_page",
            format!("≥ {}", result.len()),
            per_page,
            "the page holds more items than `per_page`",
        );
    }
    let pages = total_count.div_ceil(per_page.max(1));
    // An empty collection has no page, or one empty page: the documentation does not say
    // which, and APIs answer both.
    let empty_ok = total_count == 0 && total_pages <= 1;
    if total_pages != pages && !empty_ok {
        finding(
            "total_pages",
            pages.to_string(),
            total_pages,
            "`total_pages` must be ceil(total_count / per_page)",
        );
    }
    if let Some(p) = requested_page
        && p >= 1
        && page != p
    {
        finding(
            "page",
            p.to_string(),
            page,
            "`page` must be the page asked for",
        );
    }
    if let Some(pp) = requested_per_page
        && (5..=50).contains(&pp)
        && per_page != pp
    {
        finding(
            "per_page",
            pp.to_string(),
            per_page,
            "`per_page` must be the page size asked for",
        );
    }
    if per_page > 0 && total_count > 0 {
        let expected = if page < pages {
            per_page
        } else if page == pages {
            total_count - per_page * (pages - 1)
        } else {
            0
        };
        if result.len() as u64 != expected {
            finding(
                "count",
                expected.to_string(),
                result.len() as u64,
                "this page should hold a full page, the remainder, or nothing past the end",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(n: usize, info: Value) -> Value {
        json!({"result": vec![json!({}); n], "result_info": info})
    }

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.pointer.as_str()).collect()
    }

    #[test]
    fn consistent_pages_pass() {
        let info =
            json!({"page": 2, "per_page": 5, "count": 2, "total_count": 7, "total_pages": 2});
        assert_eq!(
            rules(&check_result_info(&page(2, info), Some(2), Some(5))),
            Vec::<&str>::new()
        );
        let past =
            json!({"page": 3, "per_page": 5, "count": 0, "total_count": 7, "total_pages": 2});
        assert_eq!(
            rules(&check_result_info(&page(0, past), Some(3), Some(5))),
            Vec::<&str>::new()
        );
        let empty =
            json!({"page": 1, "per_page": 20, "count": 0, "total_count": 0, "total_pages": 0});
        assert_eq!(
            rules(&check_result_info(&page(0, empty), None, None)),
            Vec::<&str>::new()
        );
        // One empty page is another reading of an empty collection; two is not.
        for (total_pages, fine) in [(1, true), (2, false)] {
            let info = json!({"page": 1, "per_page": 20, "count": 0, "total_count": 0,
                              "total_pages": total_pages});
            assert_eq!(
                check_result_info(&page(0, info), Some(1), None).is_empty(),
                fine,
                "total_pages {total_pages}"
            );
        }
    }

    #[test]
    fn inconsistencies_are_named() {
        let info =
            json!({"page": 1, "per_page": 5, "count": 4, "total_count": 7, "total_pages": 1});
        assert_eq!(
            rules(&check_result_info(&page(3, info), Some(2), Some(10))),
            vec![
                "/result_info/count",
                "/result_info/total_pages",
                "/result_info/page",
                "/result_info/per_page",
                "/result_info/count"
            ]
        );
        // A list that never ends: full pages past total_pages.
        let forever =
            json!({"page": 9, "per_page": 5, "count": 5, "total_count": 7, "total_pages": 2});
        assert_eq!(
            rules(&check_result_info(&page(5, forever), Some(9), Some(5))),
            vec!["/result_info/count"]
        );
    }
}
