//! What every handler shares (configuration, store, key pool, limiter, preload, SDK suite,
//! fallback) and the one way a CSR is made and stored. Never reads a request or shapes an answer.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::config::Config;
use crate::csr::sign_request;
use crate::error::ApiError;
use crate::fallback::Fallback;
use crate::fault::{DROP_CREATES_AT, Fault, KEPT_SANS, drop_subject_chars, escape_dn};
use crate::key_pool::KeyPool;
use crate::model::{CustomCsr, Scope, ScopeKind, format_timestamp};
use crate::preload::Preloader;
use crate::rate_limit::RateLimiter;
use crate::sdk_suite::{EXAMPLE_ID, SdkSuite, example_created, example_request};
use crate::store::{Limits, Store, StoredCsr};
use crate::validate::CreateCustomCsr;

/// Heap the store may hold across all scopes, besides the CSR count caps in `Config`.
const MAX_STORE_BYTES: usize = 256 << 20;

#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Store,
    /// What `list-deleted` keeps listing after a delete.
    pub(crate) graveyard: std::sync::Mutex<std::collections::HashMap<Scope, Vec<Arc<StoredCsr>>>>,
    pub(crate) keys: KeyPool,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) preload: Preloader,
    pub(crate) sdk: SdkSuite,
    /// The upstream for other routes, or why the configured one cannot be used.
    pub(crate) fallback: Option<Result<Fallback, String>>,
}

impl AppState {
    /// The state of a new emulator: an empty store and everything `config` asks for.
    pub(crate) fn new(config: Config) -> AppState {
        AppState(Arc::new(Shared {
            store: Store::new(Limits {
                per_scope: config.max_csrs_per_scope,
                total: config.max_csrs_total,
                total_bytes: MAX_STORE_BYTES,
            }),
            graveyard: std::sync::Mutex::default(),
            keys: KeyPool::new(config.key_pool_size, config.reuse_keys),
            limiter: config.rate_limit.map(RateLimiter::new),
            preload: Preloader::new(config.preload),
            sdk: SdkSuite::new(config.sdk_suite),
            fallback: config.fallback.as_deref().map(Fallback::new),
            config,
        }))
    }
}

impl Shared {
    /// Generates the key and the CSR for a checked create request and stores it as made at
    /// `created`.
    pub(crate) async fn store_new(
        &self,
        scope: &Scope,
        req: CreateCustomCsr,
        created: OffsetDateTime,
    ) -> Result<Arc<StoredCsr>, ApiError> {
        let key = self
            .keys
            .key_for(req.key_type)
            .await
            .map_err(|_| ApiError::Internal)?;
        let mut signed = req.clone();
        if self.config.has(Fault::EscapeDnSpecials) {
            for field in [
                &mut signed.country,
                &mut signed.state,
                &mut signed.locality,
                &mut signed.organization,
                &mut signed.common_name,
            ] {
                *field = escape_dn(field);
            }
            signed.organizational_unit = signed.organizational_unit.as_deref().map(escape_dn);
        }
        if self.config.has(Fault::PemSubjectDropsChars) {
            signed.organization = drop_subject_chars(&signed.organization);
            signed.organizational_unit = signed
                .organizational_unit
                .as_deref()
                .map(drop_subject_chars);
        }
        if self.config.has(Fault::TruncateSans) {
            signed.sans.truncate(KEPT_SANS);
        }
        let pem = sign_request(&signed, &key).map_err(|e| e.api_error())?;
        let id = uuid::Uuid::new_v4().to_string();
        let stored = StoredCsr::new(
            custom_csr(scope, req, id, pem, created),
            key.serialize_der(),
        );
        if self.config.has(Fault::DropCreatesWhenFull)
            && self.store.snapshot(scope).len() >= DROP_CREATES_AT
        {
            return Ok(Arc::new(stored));
        }
        if self.config.has(Fault::RacyCreates) {
            let mut csrs = self.store.snapshot(scope);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let stored = Arc::new(stored);
            csrs.insert(stored.csr.id.clone(), stored.clone());
            self.store.replace(scope, csrs);
            return Ok(stored);
        }
        self.store.insert(scope, stored)
    }

    /// Puts the spec's example CSR (SDK-suite profile) back into `scope` if it is not there.
    pub(crate) async fn ensure_example(&self, scope: &Scope) {
        if self.store.get(scope, EXAMPLE_ID).is_some() {
            return;
        }
        let req = example_request(scope.kind);
        let signed = self
            .sdk
            .signed(|| async {
                let key = self.keys.key_for(req.key_type).await.ok()?;
                let pem = sign_request(&req, &key).ok()?;
                Some((pem, key.serialize_der()))
            })
            .await;
        let Some((pem, key_der)) = signed else { return };
        let csr = custom_csr(
            scope,
            req,
            EXAMPLE_ID.to_owned(),
            pem.clone(),
            example_created(),
        );
        // A full store simply goes without the example; the request then answers as usual.
        let _ = self
            .store
            .insert_if_absent(scope, StoredCsr::new(csr, key_der.clone()));
    }
}

/// The object a scope serves for a CSR made from `req`.
fn custom_csr(
    scope: &Scope,
    req: CreateCustomCsr,
    id: String,
    pem: String,
    created: OffsetDateTime,
) -> CustomCsr {
    // Served with microseconds, so keep exactly that for sorting too.
    let created = created
        .replace_nanosecond(created.microsecond() * 1_000)
        .unwrap_or(created);
    let account_tag = match scope.kind {
        ScopeKind::Account => Some(scope.id.clone()),
        ScopeKind::Zone => None,
    };
    CustomCsr {
        id,
        created_at: format_timestamp(created),
        key_type: req.key_type,
        csr: pem,
        common_name: req.common_name,
        country: req.country,
        state: req.state,
        locality: req.locality,
        organization: req.organization,
        organizational_unit: req.organizational_unit,
        sans: req.sans,
        account_tag,
        name: req.name,
        description: req.description,
        created,
    }
}
