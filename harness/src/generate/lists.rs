//! List parameters: `page` (0, negative, huge, not a number), `per_page` (below 5, 5 to 50,
//! above 50), each documented `order` and `direction` and unknown ones.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;

#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Absent,
    Number(i64),
    Text(&'static str),
}

impl Param {
    fn value(&self) -> Option<String> {
        match self {
            Param::Absent => None,
            Param::Number(n) => Some(n.to_string()),
            Param::Text(t) => Some((*t).to_string()),
        }
    }
}

#[derive(Clone, PartialEq)]
pub struct ListInput {
    pub page: Param,
    pub per_page: Param,
    pub order: Option<&'static str>,
    pub direction: Option<&'static str>,
}

impl fmt::Debug for ListInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = self.query();
        if q.is_empty() {
            return write!(f, "list with no parameters");
        }
        let parts: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        write!(f, "list {}", parts.join(" "))
    }
}

pub const ORDERS: &[&str] = &["name", "account_tag", "created_at"];
pub const DIRECTIONS: &[&str] = &["asc", "desc"];
/// The largest page the harness treats as an ordinary page number.
pub const MAX_DOCUMENTED_PAGE: i64 = 100_000;

impl ListInput {
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(v) = self.page.value() {
            q.push(("page".to_string(), v));
        }
        if let Some(v) = self.per_page.value() {
            q.push(("per_page".to_string(), v));
        }
        if let Some(o) = self.order {
            q.push(("order".to_string(), o.to_string()));
        }
        if let Some(d) = self.direction {
            q.push(("direction".to_string(), d.to_string()));
        }
        q
    }

    /// The page asked for, when it is a documented value.
    pub fn documented_page(&self) -> Option<Option<u64>> {
        match self.page {
            Param::Absent => Some(None),
            Param::Number(n) if (1..=MAX_DOCUMENTED_PAGE).contains(&n) => Some(Some(n as u64)),
            _ => None,
        }
    }

    pub fn documented_per_page(&self) -> Option<Option<u64>> {
        match self.per_page {
            Param::Absent => Some(None),
            Param::Number(n) if (5..=50).contains(&n) => Some(Some(n as u64)),
            _ => None,
        }
    }

    /// Whether every parameter has a documented value, so the answer must be a 200 that
    /// honours them. `order` and `direction` are documented for accounts only.
    pub fn documented(&self, account: bool) -> bool {
        let sort_ok = if account {
            self.order.is_none_or(|o| ORDERS.contains(&o))
                && self.direction.is_none_or(|d| DIRECTIONS.contains(&d))
        } else {
            self.order.is_none() && self.direction.is_none()
        };
        sort_ok && self.documented_page().is_some() && self.documented_per_page().is_some()
    }
}

fn page() -> impl Strategy<Value = Param> {
    prop_oneof![
        2 => Just(Param::Absent),
        4 => (1i64..=3).prop_map(Param::Number),
        1 => Just(Param::Number(0)),
        1 => (-1000i64..=-1).prop_map(Param::Number),
        1 => (4i64..=MAX_DOCUMENTED_PAGE).prop_map(Param::Number),
        1 => select(&[1_000_000_i64, 2_147_483_648, 1_000_000_000_000, i64::MAX][..]).prop_map(Param::Number),
        1 => select(&["abc", "1.5", "", " 2", "1e3", "0x10", "-", "99999999999999999999999"][..]).prop_map(Param::Text),
    ]
}

fn per_page() -> impl Strategy<Value = Param> {
    prop_oneof![
        2 => Just(Param::Absent),
        5 => (5i64..=50).prop_map(Param::Number),
        1 => (0i64..=4).prop_map(Param::Number),
        1 => (-50i64..=-1).prop_map(Param::Number),
        2 => (51i64..=1000).prop_map(Param::Number),
        1 => select(&[100_000_i64, 2_147_483_648, i64::MAX][..]).prop_map(Param::Number),
        1 => select(&["ten", "", "5.5", "NaN", "50abc"][..]).prop_map(Param::Text),
    ]
}

fn order() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        3 => Just(None),
        4 => select(ORDERS).prop_map(Some),
        1 => select(&["id", "NAME", "common_name", "", "created_at desc"][..]).prop_map(Some),
    ]
}

fn direction() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        2 => Just(None),
        4 => select(DIRECTIONS).prop_map(Some),
        1 => select(&["up", "DESC", "", "descending"][..]).prop_map(Some),
    ]
}

pub fn inputs() -> BoxedStrategy<ListInput> {
    (page(), per_page(), order(), direction())
        .prop_map(|(page, per_page, order, direction)| ListInput {
            page,
            per_page,
            order,
            direction,
        })
        .boxed()
}
