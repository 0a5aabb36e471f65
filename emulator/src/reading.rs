//! How the emulator reads what Cloudflare's documentation leaves open (`Config::reading`,
//! `--reading lenient|default|strict`). It only answers those questions: it never checks a body
//! or a path itself (the validator and the routes ask it).
//!
//! A correct server may answer each of these questions either way, so the emulator can serve
//! either extreme: [`Reading::Lenient`] accepts everything the documentation does not forbid,
//! [`Reading::Strict`] refuses everything it does not allow, except what real clients are known
//! to send with success (unknown body fields, and `name` / `description`, also as `""`, in zone
//! scope). [`Reading::Default`] is the emulator as it always was. Each question is one method
//! below, asked by the validator or the handlers; everything not in this table answers the
//! same in every reading (hyphens at the very edge of a SAN, IPs, non-ASCII SANs, reserved
//! TLDs, example domains, common names of 65 characters or more, missing fields, `*.` SANs,
//! `..` as a custom CSR id, the fault switches, ...).
//!
//! | # | question | lenient | default | strict |
//! |---|---|---|---|---|
//! | 1 | `-` at the edge of an inner SAN label (`a-.shop.net`) | accepted | 1412 | 1412 |
//! | 2 | a SAN of exactly 256 characters | accepted | 1412 | 1412 |
//! | 3 | `common_name` of ≤ 64 characters but > 64 UTF-8 bytes | accepted | accepted | 1410 |
//! | 4 | unknown body fields | ignored | ignored | ignored |
//! | 5 | `name` / `description` in zone scope, or `""` | ignored in zones | same | same |
//! | 6 | an optional field as `null` | absent | absent | 1417 (key_type), else 1400 |
//! | 7 | `…/custom_csrs/`, or a last segment `.` / `%2E` | the collection | 7003 / 1418 | 7003 |
//! | 8 | `per_page` outside 5–50, `page` < 1, not a number | clamped / defaulted | clamped, non-number 10400 | 10400 |
//! | 9 | unknown `order` / `direction` (accounts) | ignored | 10400 | 10400 |
//! | 10 | `order` / `direction` in zones | ignored | ignored | honoured, unknown 10400 |
//! | 11 | `_` in a SAN | accepted | 1412 | 1412 |
//! | 12 | `key_type` in another case (`RSA2048`) | accepted, stored lowercase | 1417 | 1417 |
//! | 13 | `key_type` `""` | rsa2048 | 1417 | 1417 |
//! | 14 | a SAN label of 64+ characters | accepted | 1412 | 1412 |
//! | 15 | upper-case letters in a SAN | accepted as sent | accepted as sent | 1412 |
//! | 16 | the same SAN twice | accepted as sent | accepted as sent | 1412 |
//! | 17 | `country` not two upper-case letters (`us`, `USA`, `U1`) | accepted | accepted | 10400 |
//! | 18 | a required subject field of only whitespace | accepted | 1405–1409 | 1405–1409 |
//! | 19 | O / OU over 64 characters, L / ST over 128 | accepted | accepted | 10400 |
//! | 20 | account `name` / `description` over 64 characters | accepted | accepted | 10400 |
//! | 21 | `total_pages` of an empty collection | 1 (one empty page) | 0 | 0 |
//!
//! Rows 4 and 5 are the same in every reading (real clients send both and succeed), so no
//! method asks them: the validator never looks at unknown fields, and zone bodies never keep
//! `name` or `description`, whatever their value (also `null`, which row 6 leaves alone there).
//!
//! Details of the table:
//! - 1: the very first character of the name (after a `*.` prefix) and its very last one stay
//!   1412 when they are `-`, in every reading.
//! - 6: `null` in a required field stays "required" (1405–1409), and `sans: null` stays 1411.
//! - 7: lenient answers such a path exactly as the collection for every method: GET is the
//!   list (with `result_info`), POST a create, any other method 405. In the default reading a
//!   trailing slash is the route error before credentials are looked at, and a last segment
//!   `.` / `%2E` is an invalid custom CSR id (1418, after them); strict makes the latter a
//!   route error (7003 + 7000) too, after the credentials, as for path ids that cannot name an
//!   account or zone (a POST to it stays 405, as on every item path).
//! - 8: lenient treats a value that is not a number (`abc`, `NaN`, empty) as absent and clamps
//!   numbers into range; fractions are truncated in lenient and default. Strict accepts only
//!   whole numbers in range (a whole-valued `6.0`, which float-typed SDKs send, included).
//! - 9: an unknown value counts as absent on its own: `order=size&direction=desc` is
//!   `created_at` descending.
//! - 17: no ISO 3166 list is in this crate, so strict accepts any two upper-case ASCII letters.
//! - 18: the empty string stays "required" in every reading: an X.520 `DirectoryString` holds
//!   at least one character.
//!
//! Strict checks without a documented code answer 400 with the emulator's own 10400 ("Invalid
//! request: ..."), after all the documented checks.
//!
//! Whatever a reading accepts becomes a real CSR whose subject and SANs are exactly the
//! fields: rcgen encodes any ASCII as a SAN (`IA5String`: 256 characters, long labels, upper
//! case, `_`, duplicates, kept in order) and any non-empty string as a subject value (a
//! country that is not a `PrintableString`, such as `Ü`, goes in as `UTF8String`). No accepted
//! input makes the encoder fail; should a reading ever let one through, the create answers
//! 400 (10400), not a 5xx (`CsrError::api_error`). `tests/readings.rs` parses such a CSR and
//! compares it with its fields.

use std::fmt;
use std::str::FromStr;

use crate::model::MAX_SAN_LEN;

/// Which reading of the open questions the emulator serves; see the module table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Reading {
    /// Accepts everything the documentation does not forbid.
    Lenient,
    /// The emulator's own choices, as before readings existed.
    #[default]
    Default,
    /// Refuses everything the documentation does not allow, except what real clients send.
    Strict,
}

/// How a list parameter that is out of range or not a number is taken (row 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListParamLeeway {
    /// Out of range: clamped (a page below 1 is 1); not a number: as if absent.
    Forgive,
    /// Out of range: clamped; not a number: 400.
    Clamp,
    /// Out of range or not a whole number: 400.
    Refuse,
}

/// How `…/custom_csrs/` and `…/custom_csrs/.` (also `%2E`) are answered (row 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionAlias {
    /// As the collection itself.
    Collection,
    /// The trailing slash is a route error, `.` an invalid custom CSR id (1418).
    AsDefault,
    /// Both are route errors (7003 + 7000).
    RouteError,
}

impl Reading {
    pub const ALL: [Reading; 3] = [Reading::Lenient, Reading::Default, Reading::Strict];

    pub fn name(self) -> &'static str {
        match self {
            Reading::Lenient => "lenient",
            Reading::Default => "default",
            Reading::Strict => "strict",
        }
    }

    /// 1. May an inner SAN label begin or end with `-` (`a-.shop.net`)? The 1412 text lists
    ///    "leading or trailing '-'" for the SAN, not for each label.
    pub fn san_inner_hyphen_ok(self) -> bool {
        self == Reading::Lenient
    }

    /// 2. The longest SAN accepted: both "each ≤ 256" and "256 or more is invalid" are
    ///    documented.
    pub fn max_san_len(self) -> usize {
        match self {
            Reading::Lenient => MAX_SAN_LEN + 1,
            Reading::Default | Reading::Strict => MAX_SAN_LEN,
        }
    }

    /// 3. Does the 64 limit of `common_name` count UTF-8 bytes (strict) or characters? X.509
    ///    encoders disagree on what `ub-common-name` counts.
    pub fn common_name_counts_bytes(self) -> bool {
        self == Reading::Strict
    }

    /// 6. Is an optional field (`organizational_unit`, `key_type`, account `name` and
    ///    `description`) sent as `null` the same as not sent? The spec types them as strings.
    pub fn null_is_absent(self) -> bool {
        self != Reading::Strict
    }

    /// 7. What `…/custom_csrs/` and a last segment that decodes to `.` are.
    pub fn collection_alias(self) -> CollectionAlias {
        match self {
            Reading::Lenient => CollectionAlias::Collection,
            Reading::Default => CollectionAlias::AsDefault,
            Reading::Strict => CollectionAlias::RouteError,
        }
    }

    /// 8. What becomes of `per_page` outside 5–50, `page` below 1, and values that are not
    ///    whole numbers (the spec bounds them, and says nothing of the answer).
    pub fn list_param_leeway(self) -> ListParamLeeway {
        match self {
            Reading::Lenient => ListParamLeeway::Forgive,
            Reading::Default => ListParamLeeway::Clamp,
            Reading::Strict => ListParamLeeway::Refuse,
        }
    }

    /// 9. Are `order` / `direction` values outside their enums ignored (instead of 400)?
    pub fn ignores_unknown_sort_values(self) -> bool {
        self == Reading::Lenient
    }

    /// 10. Are `order` / `direction` honoured in zones too? They sit on the path both scopes
    ///     share, but zone objects have no `name` or `account_tag`.
    pub fn zone_sorts(self) -> bool {
        self == Reading::Strict
    }

    /// 11. May a SAN hold `_` (`a_b.shop.net`)? 1412 forbids "special characters" without
    ///     naming them.
    pub fn san_underscore_ok(self) -> bool {
        self == Reading::Lenient
    }

    /// 12. Is `key_type` matched without regard to ASCII case (`RSA2048`)? The enum is lower
    ///     case.
    pub fn key_type_any_case(self) -> bool {
        self == Reading::Lenient
    }

    /// 13. Is `key_type: ""` the same as not sent (rsa2048)?
    pub fn empty_key_type_is_absent(self) -> bool {
        self == Reading::Lenient
    }

    /// 14. The longest label of a SAN: DNS says 63; the API documents only the total.
    pub fn max_san_label_len(self) -> usize {
        match self {
            Reading::Lenient => self.max_san_len(),
            Reading::Default | Reading::Strict => 63,
        }
    }

    /// 15. May a SAN hold upper-case letters? DNS names are case-insensitive; the API keeps
    ///     what it was sent.
    pub fn san_uppercase_ok(self) -> bool {
        self != Reading::Strict
    }

    /// 16. May one body name the same SAN twice?
    pub fn san_duplicates_ok(self) -> bool {
        self != Reading::Strict
    }

    /// 17. Must `country` be two upper-case letters (ISO 3166-1 alpha-2, as the spec says)?
    pub fn country_must_be_alpha2(self) -> bool {
        self == Reading::Strict
    }

    /// 18. Is a required subject field of only whitespace (`"   "`) sent? The empty string
    ///     never is.
    pub fn blank_required_ok(self) -> bool {
        self == Reading::Lenient
    }

    /// 19. The most characters of a subject field other than `common_name` and `country`: the
    ///     X.520 upper bounds (64 for `organization` and `organizational_unit`, 128 for
    ///     `locality` and `state`) in the strict reading; the API documents none.
    pub fn max_subject_chars(self, field: &str) -> Option<usize> {
        if self != Reading::Strict {
            return None;
        }
        match field {
            "organization" | "organizational_unit" => Some(64),
            "locality" | "state" => Some(128),
            _ => None,
        }
    }

    /// 20. The most characters of an account's `name` or `description` (undocumented; 64, as
    ///     for the other free texts, in the strict reading).
    pub fn max_account_text_chars(self) -> Option<usize> {
        (self == Reading::Strict).then_some(64)
    }

    /// 21. `result_info.total_pages` of a list with nothing in it: no page, or one empty page
    ///     (undocumented; APIs answer both).
    pub fn empty_total_pages(self) -> u64 {
        u64::from(self == Reading::Lenient)
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reading {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Reading::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown reading {s:?}: expected lenient, default or strict"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_default_is_default() {
        for r in Reading::ALL {
            assert_eq!(r.name().parse::<Reading>(), Ok(r));
            assert_eq!(r.to_string(), r.name());
        }
        assert_eq!(Reading::default(), Reading::Default);
        assert!("Strict".parse::<Reading>().is_err());
        assert!("".parse::<Reading>().is_err());
    }

    #[test]
    fn the_default_reading_keeps_the_emulators_old_limits() {
        let d = Reading::Default;
        assert_eq!((d.max_san_len(), d.max_san_label_len()), (255, 63));
        assert!(!d.san_inner_hyphen_ok() && !d.san_underscore_ok());
        assert!(d.san_uppercase_ok() && d.san_duplicates_ok() && d.null_is_absent());
        assert!(!d.common_name_counts_bytes() && !d.blank_required_ok());
        assert!(!d.key_type_any_case() && !d.empty_key_type_is_absent());
        assert!(!d.country_must_be_alpha2() && !d.zone_sorts());
        assert!(!d.ignores_unknown_sort_values());
        assert_eq!(d.list_param_leeway(), ListParamLeeway::Clamp);
        assert_eq!(d.collection_alias(), CollectionAlias::AsDefault);
        assert_eq!(d.max_subject_chars("organization"), None);
        assert_eq!(d.max_account_text_chars(), None);
        assert_eq!(Reading::Strict.max_subject_chars("state"), Some(128));
        assert_eq!(Reading::Strict.max_subject_chars("common_name"), None);
    }
}
