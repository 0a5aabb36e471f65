//! CSRs that already exist: with `Config::preload` set, every account or zone gets that many on
//! the first request that reaches it, as if made before the emulator started. It only plans
//! them and runs each scope's plan once; it never signs or stores one itself.
//!
//! Read-only conformance runs and SDK tests that list then have something real to read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use tokio::sync::OnceCell;

use crate::model::{KeyType, Scope, ScopeKind};
use crate::validate::CreateCustomCsr;

/// Past this many scopes nothing more is preloaded, so that probing endless scope ids cannot
/// grow the emulator's memory without bound.
const MAX_SCOPES_SEEN: usize = 100_000;

/// Subjects to cycle through: plain ASCII, accents, CJK, and the characters distinguished-name
/// encoders get wrong. (country, state, locality, organization, organizational unit)
const SUBJECTS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "US",
        "California",
        "San Francisco",
        "Preloaded Example Corp",
        Some("Platform"),
    ),
    ("DE", "Bayern", "München", "Vorgeladen GmbH", None),
    (
        "JP",
        "東京都",
        "千代田区",
        "プリロード株式会社",
        Some("基盤"),
    ),
    (
        "FR",
        "Île-de-France",
        "Paris",
        "Préchargé, Fils & Cie",
        Some("R&D + \"Sécurité\""),
    ),
    ("BR", "São Paulo", "São Paulo", "Pré-carregado Ltda", None),
];

/// Remembers which scopes have had their CSRs made.
pub(crate) struct Preloader {
    count: usize,
    /// When the emulator started: every preloaded CSR is older.
    started: OffsetDateTime,
    /// One cell per scope seen: filled once, by whichever request comes first.
    seen: Mutex<HashMap<Scope, Arc<OnceCell<()>>>>,
}

/// One CSR to make for a scope: its request and when it was created.
pub(crate) struct Planned {
    pub request: CreateCustomCsr,
    pub created: OffsetDateTime,
}

impl Preloader {
    pub fn new(count: usize) -> Preloader {
        Preloader {
            count,
            started: OffsetDateTime::now_utc(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `make` for each CSR `scope` should start with, the first time the scope is seen.
    /// Concurrent first requests to a scope wait for one another, so nobody sees it half
    /// filled; requests to scopes already seen never wait.
    pub async fn ensure<F, Fut>(&self, scope: &Scope, mut make: F)
    where
        F: FnMut(Planned) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        if self.count == 0 {
            return;
        }
        let cell = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            match seen.get(scope) {
                Some(cell) => Arc::clone(cell),
                None if seen.len() >= MAX_SCOPES_SEEN => return,
                None => Arc::clone(seen.entry(scope.clone()).or_default()),
            }
        };
        cell.get_or_init(|| async {
            for planned in plan(scope, self.count, self.started) {
                // A full store ends the preload; the scope simply starts with fewer.
                if !make(planned).await {
                    break;
                }
            }
        })
        .await;
    }
}

/// The CSRs a scope starts with, oldest first: an hour apart, the newest an hour before
/// `started`. Key types alternate (RSA first); about half have an organizational unit; in an
/// account, each has a name and half a description (of both key types).
pub(crate) fn plan(scope: &Scope, count: usize, started: OffsetDateTime) -> Vec<Planned> {
    (0..count)
        .map(|i| {
            let (country, state, locality, organization, unit) = SUBJECTS[i % SUBJECTS.len()];
            let host = format!("preloaded-{i}.csr-emulator.net");
            let mut sans = vec![host.clone()];
            if i % 2 == 1 {
                sans.push(format!("*.{host}"));
            }
            let account = scope.kind == ScopeKind::Account;
            Planned {
                request: CreateCustomCsr {
                    country: country.into(),
                    state: state.into(),
                    locality: locality.into(),
                    organization: organization.into(),
                    organizational_unit: unit.map(Into::into),
                    common_name: host,
                    sans,
                    key_type: if i % 2 == 0 {
                        KeyType::Rsa2048
                    } else {
                        KeyType::P256v1
                    },
                    name: account.then(|| format!("preloaded {i}")),
                    description: (account && i % 4 < 2)
                        .then(|| "existed before the emulator started".to_string()),
                },
                created: started - Duration::hours((count - i) as i64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::parse_create;

    fn scope(kind: ScopeKind) -> Scope {
        Scope {
            kind,
            id: "abc".into(),
        }
    }

    #[test]
    fn plans_are_valid_varied_and_older_than_the_start() {
        let started = OffsetDateTime::now_utc();
        let planned = plan(&scope(ScopeKind::Account), 6, started);
        assert_eq!(planned.len(), 6);
        for (i, p) in planned.iter().enumerate() {
            // What a client could have sent: the emulator's own validation accepts it.
            let body = serde_json::json!({
                "country": p.request.country, "state": p.request.state,
                "locality": p.request.locality, "organization": p.request.organization,
                "organizational_unit": p.request.organizational_unit,
                "common_name": p.request.common_name, "sans": p.request.sans,
                "key_type": p.request.key_type, "name": p.request.name,
                "description": p.request.description,
            });
            assert_eq!(
                parse_create(&body, ScopeKind::Account, Default::default()).unwrap(),
                p.request,
                "{i}"
            );
            assert!(p.created < started);
            if i > 0 {
                assert!(planned[i - 1].created < p.created, "oldest first");
            }
        }
        let kinds: std::collections::HashSet<_> =
            planned.iter().map(|p| p.request.key_type).collect();
        assert_eq!(kinds.len(), 2, "both key types");
        assert!(
            planned
                .iter()
                .any(|p| p.request.organizational_unit.is_none())
        );
        assert!(planned.iter().any(|p| p.request.locality.contains('代')));
        assert!(planned.iter().all(|p| p.request.name.is_some()));
        assert!(planned.iter().any(|p| p.request.description.is_none()));
        let zone = plan(&scope(ScopeKind::Zone), 2, started);
        assert!(zone.iter().all(|p| p.request.name.is_none()));
    }

    #[tokio::test]
    async fn each_scope_is_filled_once() {
        let preloader = Preloader::new(3);
        let made = std::sync::Mutex::new(0);
        for _ in 0..2 {
            preloader
                .ensure(&scope(ScopeKind::Zone), |_| async {
                    *made.lock().unwrap() += 1;
                    true
                })
                .await;
        }
        assert_eq!(*made.lock().unwrap(), 3);
        Preloader::new(0)
            .ensure(&scope(ScopeKind::Zone), |_| async { panic!("none") })
            .await;
    }
}
