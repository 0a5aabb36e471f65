//! All CSRs, one map per account or zone, behind one lock. Each scope is a separate namespace:
//! an id found in one scope is never looked up in another. It never validates, signs or shapes
//! an answer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::ApiError;
use crate::model::{CustomCsr, Scope};

/// A CSR with the private key Cloudflare would keep for it. The key is never served; it is
/// kept so the emulator holds what the real API holds.
pub struct StoredCsr {
    pub csr: CustomCsr,
    #[allow(dead_code)]
    private_key_der: Vec<u8>,
    /// Rough heap footprint, for the store's byte cap.
    bytes: usize,
    /// The body of a get's answer, made on the first get: the object never changes, so later
    /// gets send these bytes without serialising again.
    pub served: std::sync::OnceLock<axum::body::Bytes>,
}

impl StoredCsr {
    pub fn new(csr: CustomCsr, private_key_der: Vec<u8>) -> StoredCsr {
        let text = [
            &csr.csr,
            &csr.common_name,
            &csr.country,
            &csr.state,
            &csr.locality,
            &csr.organization,
        ]
        .iter()
        .map(|s| s.len())
        .sum::<usize>()
            + csr.sans.iter().map(|s| s.len() + 24).sum::<usize>()
            + [
                &csr.organizational_unit,
                &csr.name,
                &csr.description,
                &csr.account_tag,
            ]
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| s.len()))
            .sum::<usize>();
        StoredCsr {
            bytes: text + private_key_der.len() + 256,
            csr,
            private_key_der,
            served: std::sync::OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for StoredCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of every log line.
        f.debug_struct("StoredCsr")
            .field("csr", &self.csr)
            .finish_non_exhaustive()
    }
}

/// How an account list is sorted; zones always list oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    Name,
    AccountTag,
    #[default]
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// Caps that keep a long load test from growing memory without bound.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_scope: usize,
    pub total: usize,
    pub total_bytes: usize,
}

pub struct Store {
    limits: Limits,
    /// Reads (get, list) share it: they are most of the traffic.
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    scopes: HashMap<Scope, HashMap<String, Arc<StoredCsr>>>,
    total: usize,
    bytes: usize,
}

impl Store {
    pub fn new(limits: Limits) -> Store {
        Store {
            limits,
            inner: RwLock::new(Inner::default()),
        }
    }

    fn lock(&self) -> RwLockWriteGuard<'_, Inner> {
        // A panic elsewhere must not turn every later request into a 5xx.
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, scope: &Scope, stored: StoredCsr) -> Result<Arc<StoredCsr>, ApiError> {
        self.insert_unless(scope, stored, false)
    }

    /// Inserts `stored` unless its id is already in `scope` (then returns what is there).
    pub fn insert_if_absent(
        &self,
        scope: &Scope,
        stored: StoredCsr,
    ) -> Result<Arc<StoredCsr>, ApiError> {
        self.insert_unless(scope, stored, true)
    }

    fn insert_unless(
        &self,
        scope: &Scope,
        stored: StoredCsr,
        keep_existing: bool,
    ) -> Result<Arc<StoredCsr>, ApiError> {
        let mut inner = self.lock();
        if let Some(existing) = inner
            .scopes
            .get(scope)
            .and_then(|csrs| csrs.get(&stored.csr.id))
        {
            if keep_existing {
                return Ok(Arc::clone(existing));
            }
            // Ids are fresh UUIDs; replacing one would corrupt the counts below.
            return Err(ApiError::Internal);
        }
        if inner.total >= self.limits.total || inner.bytes + stored.bytes > self.limits.total_bytes
        {
            return Err(ApiError::LimitReached {
                limit: self.limits.total,
                whom: "in all accounts and zones together",
            });
        }
        let in_scope = inner.scopes.get(scope).map_or(0, HashMap::len);
        if in_scope >= self.limits.per_scope {
            return Err(ApiError::LimitReached {
                limit: self.limits.per_scope,
                whom: "per account or zone",
            });
        }
        let stored = Arc::new(stored);
        inner.total += 1;
        inner.bytes += stored.bytes;
        inner
            .scopes
            .entry(scope.clone())
            .or_default()
            .insert(stored.csr.id.clone(), Arc::clone(&stored));
        Ok(stored)
    }

    /// The scope's CSRs as they are now (for the `racy-creates` fault's read-modify-write).
    pub fn snapshot(&self, scope: &Scope) -> HashMap<String, Arc<StoredCsr>> {
        self.read().scopes.get(scope).cloned().unwrap_or_default()
    }

    /// Puts back a scope's CSRs read earlier: whatever changed meanwhile is lost (the
    /// `racy-creates` fault).
    pub fn replace(&self, scope: &Scope, csrs: HashMap<String, Arc<StoredCsr>>) {
        let mut inner = self.lock();
        inner.scopes.insert(scope.clone(), csrs);
        inner.total = inner.scopes.values().map(HashMap::len).sum();
        inner.bytes = inner
            .scopes
            .values()
            .flat_map(HashMap::values)
            .map(|s| s.bytes)
            .sum();
    }

    /// The scope holding `id`, whichever it is (the `delete-ignores-scope` fault).
    pub fn scope_of(&self, id: &str) -> Option<Scope> {
        self.read()
            .scopes
            .iter()
            .find(|(_, csrs)| csrs.contains_key(id))
            .map(|(scope, _)| scope.clone())
    }

    pub fn get(&self, scope: &Scope, id: &str) -> Option<Arc<StoredCsr>> {
        self.read().scopes.get(scope)?.get(id).cloned()
    }

    pub fn remove(&self, scope: &Scope, id: &str) -> Option<Arc<StoredCsr>> {
        let mut inner = self.lock();
        let csrs = inner.scopes.get_mut(scope)?;
        let removed = csrs.remove(id)?;
        if csrs.is_empty() {
            // Empty scopes are dropped so that probing many ids leaves nothing behind.
            inner.scopes.remove(scope);
        }
        inner.total -= 1;
        inner.bytes -= removed.bytes;
        Some(removed)
    }

    /// Every CSR of `scope`, sorted; ties are broken by id so that paging is stable.
    pub fn list(
        &self,
        scope: &Scope,
        order: ListOrder,
        direction: Direction,
    ) -> Vec<Arc<StoredCsr>> {
        let mut all: Vec<Arc<StoredCsr>> = match self.read().scopes.get(scope) {
            Some(csrs) => csrs.values().cloned().collect(),
            None => return Vec::new(),
        };
        all.sort_by(|a, b| {
            let (a, b) = (&a.csr, &b.csr);
            let primary = match order {
                ListOrder::Name => a.name.cmp(&b.name),
                ListOrder::AccountTag => a.account_tag.cmp(&b.account_tag),
                ListOrder::CreatedAt => a.created.cmp(&b.created),
            };
            let ord = primary
                .then_with(|| a.created.cmp(&b.created))
                .then_with(|| a.id.cmp(&b.id));
            match direction {
                Direction::Asc => ord,
                Direction::Desc => ord.reverse(),
            }
        });
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyType, ScopeKind, format_timestamp};
    use time::OffsetDateTime;

    fn csr(id: &str, name: Option<&str>, secs: i64) -> StoredCsr {
        StoredCsr::new(
            CustomCsr {
                id: id.into(),
                created_at: String::new(),
                key_type: KeyType::P256v1,
                csr: "PEM".into(),
                common_name: "cn".into(),
                country: "US".into(),
                state: "s".into(),
                locality: "l".into(),
                organization: "o".into(),
                organizational_unit: None,
                sans: vec!["a.com".into()],
                account_tag: Some("acc".into()),
                name: name.map(Into::into),
                description: None,
                created: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            },
            vec![0; 100],
        )
    }

    fn limits(per_scope: usize, total: usize) -> Limits {
        Limits {
            per_scope,
            total,
            total_bytes: usize::MAX,
        }
    }

    #[test]
    fn scopes_are_isolated_and_empty_ones_disappear() {
        let store = Store::new(limits(10, 10));
        let a = Scope {
            kind: ScopeKind::Account,
            id: "x".into(),
        };
        let z = Scope {
            kind: ScopeKind::Zone,
            id: "x".into(),
        };
        store.insert(&a, csr("1", None, 0)).unwrap();
        assert!(store.get(&a, "1").is_some());
        assert!(store.get(&z, "1").is_none());
        assert!(store.remove(&z, "1").is_none());
        assert!(store.remove(&a, "1").is_some());
        assert_eq!(store.lock().total, 0);
        assert!(store.lock().scopes.is_empty());
    }

    #[test]
    fn limits_refuse_beyond_the_cap() {
        let store = Store::new(limits(2, 3));
        let a = Scope {
            kind: ScopeKind::Account,
            id: "a".into(),
        };
        let b = Scope {
            kind: ScopeKind::Account,
            id: "b".into(),
        };
        store.insert(&a, csr("1", None, 0)).unwrap();
        store.insert(&a, csr("2", None, 0)).unwrap();
        assert_eq!(
            store.insert(&a, csr("3", None, 0)).unwrap_err().code(),
            1421
        );
        store.insert(&b, csr("3", None, 0)).unwrap();
        assert_eq!(
            store.insert(&b, csr("4", None, 0)).unwrap_err().code(),
            1421
        );
    }

    #[test]
    fn list_sorts_by_field_then_time_then_id() {
        let store = Store::new(limits(10, 10));
        let a = Scope {
            kind: ScopeKind::Account,
            id: "a".into(),
        };
        store.insert(&a, csr("c", Some("b"), 1)).unwrap();
        store.insert(&a, csr("a", Some("b"), 1)).unwrap();
        store.insert(&a, csr("b", None, 2)).unwrap();
        let ids = |o, d| -> Vec<String> {
            store
                .list(&a, o, d)
                .iter()
                .map(|s| s.csr.id.clone())
                .collect()
        };
        assert_eq!(ids(ListOrder::CreatedAt, Direction::Asc), ["a", "c", "b"]);
        assert_eq!(ids(ListOrder::CreatedAt, Direction::Desc), ["b", "c", "a"]);
        assert_eq!(ids(ListOrder::Name, Direction::Asc), ["b", "a", "c"]);
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(format_timestamp(t), "2023-11-14T22:13:20.123456Z");
    }
}
