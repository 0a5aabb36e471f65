//! The route table: every path the emulator serves, the names of its parameters, the shape of
//! the ids in it, and how a path is read without the router. Pure string work: it never looks
//! at credentials, state or the store.

use crate::error::sanitize_path;
use crate::model::ScopeKind;

/// The base the SDKs put before every path. Every route is served both under it and at the
/// root.
pub const BASE: &str = "/client/v4";
/// What comes before a route: nothing, or the base.
pub const PREFIXES: [&str; 2] = ["", BASE];
/// The first segment of an account's paths, and the name of its id parameter.
pub const ACCOUNTS: &str = "accounts";
pub const ACCOUNT_ID: &str = "account_id";
/// The first segment of a zone's paths, and the name of its id parameter.
pub const ZONES: &str = "zones";
pub const ZONE_ID: &str = "zone_id";
/// The collection's segment, after the account or zone id.
pub const COLLECTION: &str = "custom_csrs";
/// The name of the custom CSR id parameter, the item's segment after the collection.
pub const CUSTOM_CSR_ID: &str = "custom_csr_id";
/// Account and zone ids are at most 32 characters (32 hex digits in practice).
pub const MAX_SCOPE_ID_CHARS: usize = 32;
/// Custom CSR ids are at most 36 characters (a UUID in practice).
pub const MAX_CSR_ID_CHARS: usize = 36;

/// The router's templates, for each prefix and scope: the collection's path
/// (`{prefix}/accounts/{account_id}/custom_csrs`) and an item's (`…/{custom_csr_id}`).
pub fn templates() -> Vec<(String, String)> {
    let mut templates = Vec::with_capacity(PREFIXES.len() * 2);
    for prefix in PREFIXES {
        for (segment, param) in [(ACCOUNTS, ACCOUNT_ID), (ZONES, ZONE_ID)] {
            let collection = format!("{prefix}/{segment}/{{{param}}}/{COLLECTION}");
            let item = format!("{collection}/{{{CUSTOM_CSR_ID}}}");
            templates.push((collection, item));
        }
    }
    templates
}

/// The parameters of a path the router matched, read straight from it when it holds no
/// percent-escape: `[/client/v4]/{accounts|zones}/{id}/custom_csrs[/{custom_csr_id}]`. This
/// runs on every request, and the decoding extractor's allocations showed in profiles.
pub fn plain_params(path: &str) -> Option<(ScopeKind, &str, Option<&str>)> {
    if path.contains('%') {
        return None;
    }
    let path = path.strip_prefix(BASE).unwrap_or(path);
    let mut segments = path.strip_prefix('/')?.split('/');
    let kind = match segments.next()? {
        ACCOUNTS => ScopeKind::Account,
        ZONES => ScopeKind::Zone,
        _ => return None,
    };
    let id = segments.next()?;
    if segments.next()? != COLLECTION {
        return None;
    }
    let csr_id = segments.next();
    segments.next().is_none().then_some((kind, id, csr_id))
}

/// Ids are opaque to Cloudflare's SDKs (their tests use `account_id`), so any short id made
/// of letters, digits, `-` and `_` names a scope; `..` and the like never do.
pub fn valid_scope_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SCOPE_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Custom CSR ids: short, of letters, digits and `-`.
pub fn valid_csr_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CSR_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// For `[/client/v4]/{accounts|zones}/{id}/custom_csrs/` and the same with a last segment that
/// decodes to `.` (`.`, `%2E`, `%2e`): the collection's path, `…/custom_csrs`.
pub fn collection_alias(path: &str) -> Option<&str> {
    let (collection, last) = path.rsplit_once('/')?;
    if !(last.is_empty() || last == "." || last.eq_ignore_ascii_case("%2e")) {
        return None;
    }
    let rest = collection.strip_prefix(BASE).unwrap_or(collection);
    let mut segments = rest.strip_prefix('/')?.split('/');
    let is_collection = matches!(segments.next(), Some(ACCOUNTS | ZONES))
        && segments.next().is_some()
        && segments.next() == Some(COLLECTION)
        && segments.next().is_none();
    is_collection.then_some(collection)
}

/// The path as Cloudflare names it in routing errors: without the `/client/v4` base.
pub fn route_path(path: &str) -> String {
    let path = path.strip_prefix(BASE).unwrap_or(path);
    sanitize_path(if path.is_empty() { "/" } else { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_the_four_routes_at_the_root_and_under_the_base() {
        let all: Vec<String> = templates().into_iter().flat_map(|(c, i)| [c, i]).collect();
        assert_eq!(
            all,
            [
                "/accounts/{account_id}/custom_csrs",
                "/accounts/{account_id}/custom_csrs/{custom_csr_id}",
                "/zones/{zone_id}/custom_csrs",
                "/zones/{zone_id}/custom_csrs/{custom_csr_id}",
                "/client/v4/accounts/{account_id}/custom_csrs",
                "/client/v4/accounts/{account_id}/custom_csrs/{custom_csr_id}",
                "/client/v4/zones/{zone_id}/custom_csrs",
                "/client/v4/zones/{zone_id}/custom_csrs/{custom_csr_id}",
            ]
        );
    }
}
