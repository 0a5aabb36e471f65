//! Request building: a step's template rendered into a [`Request`], the auth headers each
//! mode sends (secrets stay symbolic), delete requests, and a step's expectations resolved.
//! Pure: never sends a request and never runs a case.

use serde_json::Value;

use crate::cases::{AuthMode, BodyTemplate, Step};
use crate::checks::expect;
use crate::model::{Body, Credentials, Exchange, HeaderValue, Request, Scope, SecretRef};
use crate::template;

/// A bearer token that is well formed but never valid.
const WRONG_TOKEN: &str = "csrConformanceWrongToken0000000000000000";
/// A global API key that is well formed (37 hex digits) but never valid.
const WRONG_KEY: &str = "0000000000000000000000000000000c5c0f0";
const STAND_IN_EMAIL: &str = "conformance@csr-conformance.invalid";

/// A step as a request: its templates rendered through `resolve`, and the headers of its auth
/// mode (`creds` says which secrets are configured).
pub fn build_request(
    step: &Step,
    creds: &Credentials,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<Request, String> {
    let path = template::render_path(&step.path, resolve)?;
    let mut query = Vec::new();
    for (k, v) in &step.query {
        query.push((k.clone(), template::render(v, resolve)?));
    }
    let mut headers = Vec::new();
    for (k, v) in &step.headers {
        headers.push((
            k.clone(),
            HeaderValue::Literal(template::render(v, resolve)?),
        ));
    }
    headers.extend(auth_headers(step.auth, creds)?);
    let body = match &step.body {
        None => None,
        Some(BodyTemplate::Json(v)) => Some(Body::Json(template::render_value(v, resolve)?)),
        Some(BodyTemplate::Text { content_type, text }) => Some(Body::Raw {
            content_type: content_type.clone(),
            bytes: template::render(text, resolve)?.into_bytes(),
        }),
        Some(BodyTemplate::Bytes {
            content_type,
            bytes,
        }) => Some(Body::Raw {
            content_type: content_type.clone(),
            bytes: bytes.clone(),
        }),
    };
    Ok(Request {
        method: step.method.clone(),
        path,
        query,
        headers,
        body,
    })
}

/// The headers an auth mode sends. Secrets stay symbolic; `creds` says which are configured.
pub fn auth_headers(
    mode: AuthMode,
    creds: &Credentials,
) -> Result<Vec<(String, HeaderValue)>, String> {
    let secret = |prefix: &str, secret: SecretRef| HeaderValue::Secret {
        prefix: prefix.into(),
        secret,
    };
    let lit = |v: &str| HeaderValue::Literal(v.into());
    let bearer = || {
        (
            "Authorization".to_string(),
            secret("Bearer ", SecretRef::Token),
        )
    };
    let email = || {
        (
            "X-Auth-Email".to_string(),
            if creds.email.is_some() {
                secret("", SecretRef::Email)
            } else {
                lit(STAND_IN_EMAIL)
            },
        )
    };
    Ok(match mode {
        AuthMode::Configured if creds.has_token() => vec![bearer()],
        AuthMode::Configured | AuthMode::EmailKey if creds.has_email_key() => vec![
            email(),
            ("X-Auth-Key".into(), secret("", SecretRef::ApiKey)),
        ],
        AuthMode::Configured => return Err(SKIP_NO_CREDENTIALS.into()),
        AuthMode::Token if creds.has_token() => vec![bearer()],
        AuthMode::Token => return Err(format!("{SKIP} needs CLOUDFLARE_API_TOKEN")),
        AuthMode::EmailKey => {
            return Err(format!(
                "{SKIP} needs CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY"
            ));
        }
        AuthMode::None => vec![],
        AuthMode::WrongToken => {
            vec![(
                "Authorization".into(),
                lit(&format!("Bearer {WRONG_TOKEN}")),
            )]
        }
        AuthMode::WrongKey => vec![email(), ("X-Auth-Key".into(), lit(WRONG_KEY))],
        AuthMode::EmailOnly => vec![email()],
        AuthMode::KeyOnly => vec![(
            "X-Auth-Key".into(),
            if creds.api_key.is_some() {
                secret("", SecretRef::ApiKey)
            } else {
                lit(WRONG_KEY)
            },
        )],
        AuthMode::MalformedBearer => vec![(
            "Authorization".into(),
            lit("Bearer not a well-formed token!"),
        )],
        AuthMode::MalformedEmail => vec![
            ("X-Auth-Email".into(), lit("not-an-email-address")),
            ("X-Auth-Key".into(), lit(WRONG_KEY)),
        ],
    })
}

pub fn delete_request(scope: &Scope, id: &str, headers: &[(String, HeaderValue)]) -> Request {
    let mut request = Request::new(
        "DELETE",
        format!(
            "{}/custom_csrs/{}",
            scope.prefix(),
            template::encode_segment(id)
        ),
    );
    request.headers = headers.to_vec();
    request
}

/// Why a name or a request could not be resolved: the case is skipped, or it errs.
pub enum Stop {
    Skip(String),
    Error(String),
}

impl Stop {
    pub fn text(&self) -> &str {
        match self {
            Stop::Skip(s) | Stop::Error(s) => s,
        }
    }
}

/// Prefix of the texts `auth_headers` returns when a case cannot run with what is configured.
const SKIP: &str = "skipped:";
const SKIP_NO_CREDENTIALS: &str = "skipped: no credentials configured";

pub fn resolve_expect(
    step: &Step,
    request: &Request,
    strict: bool,
    resolve: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<expect::Resolved, String> {
    let e = &step.expect;
    let mut json_expect = Vec::new();
    for (pointer, v) in &e.json {
        json_expect.push((
            pointer.clone(),
            template::render_value(&crate::cases::to_json(v.clone()), resolve)?,
        ));
    }
    let mut excludes = Vec::new();
    for x in &e.excludes {
        excludes.push(template::render(x, resolve)?);
    }
    let mut holds = Vec::new();
    for x in &e.holds {
        holds.push(template::render(x, resolve)?);
    }
    let result_matches = match (&request.body, e.result_matches_body) {
        (Some(Body::Json(v)), true) => Some(v.clone()),
        (_, true) => Some(Value::Null),
        _ => None,
    };
    Ok(expect::Resolved {
        status: e.status.clone(),
        codes: e.codes.clone(),
        json: json_expect,
        absent: e.absent.clone(),
        excludes,
        result_matches,
        strict_codes: strict,
        formats: e.formats.clone().into_iter().collect(),
        holds,
    })
}

pub fn body_json(ex: &Exchange) -> Option<&Value> {
    ex.response.body_json()
}

pub fn scope_kind(scope: &Scope) -> crate::cases::ScopeKind {
    match scope {
        Scope::Account(_) => crate::cases::ScopeKind::Account,
        Scope::Zone(_) => crate::cases::ScopeKind::Zone,
    }
}

/// A scope of the same kind that this run was not given: nothing created here may show there.
pub fn foreign(scope: &Scope) -> Scope {
    let id = if scope.id() == "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f" {
        "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
    } else {
        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
    };
    scope.with_id(id)
}

pub(crate) fn is_skip(message: &str) -> bool {
    message.starts_with(SKIP)
}
