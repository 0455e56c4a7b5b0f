//! Web sessions and CSRF tokens.
//!
//! A partner signs in with an API token (the API's one credential model); the server then issues
//! a random 256-bit session id in an `HttpOnly; SameSite=Lax` cookie (`Secure` over TLS) and keeps
//! only its SHA-256 hash, in memory: a restart signs everyone out, which is the price of not
//! writing sessions to the store. A session ends when the token it was opened with is revoked
//! (checked on every request, one indexed SQLite read). Each session has its own CSRF token, which every POST form
//! carries in a hidden field and which is compared in constant time. The sign-in form itself,
//! before any session exists, uses a double-submit cookie (`sm_pre`) instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use silkmatch_index::store::tokens::Principal;
use subtle::ConstantTimeEq;

use super::i18n::Lang;
use crate::app::App;
use crate::error::ApiError;

/// Cookie holding the session id.
pub const SESSION_COOKIE: &str = "sm_session";
/// Cookie holding the interface language.
pub const LANG_COOKIE: &str = "sm_lang";
/// Cookie holding the CSRF token of the sign-in form (no session exists yet).
pub const PRE_COOKIE: &str = "sm_pre";
/// Sessions kept at most; beyond it expired ones are dropped, then the oldest.
const MAX_SESSIONS: usize = 100_000;

/// A signed-in partner, as a page sees it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Whom the session speaks for (the token it was opened with).
    pub principal: Principal,
    /// This session's CSRF token, put in every form.
    pub csrf: String,
}

struct Session {
    signed_in: SignedIn,
    expires: Instant,
}

/// Server-side sessions, keyed by the SHA-256 of their id (a leaked memory dump or log of keys does
/// not let anyone use a session).
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
    always_secure: bool,
}

/// What a session cookie turned out to be.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A live session.
    Valid(SignedIn),
    /// A cookie for a session that expired, was closed, or predates a restart.
    Ended,
}

impl Sessions {
    /// An empty store; sessions last `ttl` from sign-in. `always_secure` marks every cookie
    /// `Secure` (for servers behind TLS that does not send `X-Forwarded-Proto`).
    pub fn new(ttl: Duration, always_secure: bool) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
            always_secure,
        }
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `principal`; returns the id for the cookie.
    pub fn open(&self, principal: Principal, now: Instant) -> String {
        let id = random_token();
        let session = Session {
            signed_in: SignedIn {
                principal,
                csrf: random_token(),
            },
            expires: now + self.ttl,
        };
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, session| session.expires > now);
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, session)| session.expires)
                    .map(|(key, _)| *key)
            {
                map.remove(&oldest);
            }
        }
        map.insert(digest(&id), session);
        id
    }

    /// The session of a cookie value at `now`; an expired one is forgotten.
    pub fn lookup(&self, id: &str, now: Instant) -> Lookup {
        let key = digest(id);
        let mut map = self.lock();
        match map.get(&key) {
            Some(session) if session.expires > now => Lookup::Valid(session.signed_in.clone()),
            Some(_) => {
                map.remove(&key);
                Lookup::Ended
            }
            None => Lookup::Ended,
        }
    }

    /// Ends a session (sign-out).
    pub fn close(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom only fails without an OS entropy source; a zero token would then be refused by
    // every CSRF check below (empty-looking tokens are never issued), so fail closed.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two tokens are equal, in time independent of where they differ. Empty never matches.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Who is looking at a page: language, session, and whether the request came over TLS.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// Interface language.
    pub lang: Lang,
    /// The live session, if any.
    pub signed_in: Option<SignedIn>,
    /// The session cookie's value, when one was sent.
    pub session_id: Option<String>,
    /// A session cookie was sent but its session has ended.
    pub session_ended: bool,
    /// The sign-in form's double-submit token, when its cookie was sent.
    pub pre_csrf: Option<String>,
    /// Cookies must be `Secure`.
    pub secure: bool,
    /// This page's path and query (without `lang`), for the language switcher to come back to.
    pub here: String,
}

impl Visitor {
    /// The signed-in partner, or the error page that asks to sign in (again).
    pub fn require(&self) -> Result<&SignedIn, ApiError> {
        match &self.signed_in {
            Some(signed_in) => Ok(signed_in),
            None if self.session_ended => Err(ApiError::SessionEnded),
            None => Err(ApiError::SignInRequired),
        }
    }

    /// The token a form must carry: the session's, or before sign-in the double-submit cookie's.
    pub fn csrf(&self) -> &str {
        match (&self.signed_in, &self.pre_csrf) {
            (Some(signed_in), _) => &signed_in.csrf,
            (None, Some(pre)) => pre,
            (None, None) => "",
        }
    }

    /// Refuses a form whose CSRF field is missing or not this visitor's token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ApiError> {
        match given {
            Some(given) if tokens_match(given, self.csrf()) => Ok(()),
            _ if self.session_ended => Err(ApiError::SessionEnded),
            _ => Err(ApiError::Csrf),
        }
    }

    /// A `Set-Cookie` value with this site's attributes.
    pub fn cookie(&self, name: &str, value: &str, max_age: Duration) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            max_age.as_secs()
        )
    }
}

/// The value of one cookie in a request.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// The path and query of `uri` without any `lang=` pair.
fn here(uri: &axum::http::Uri) -> String {
    let query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
        .collect();
    if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), query.join("&"))
    }
}

impl FromRequestParts<App> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let lang = super::i18n::negotiate(&parts.uri, &parts.headers);
        let session_id = cookie_value(&parts.headers, SESSION_COOKIE).map(str::to_owned);
        let (signed_in, session_ended) = match &session_id {
            None => (None, false),
            Some(id) => match app.sessions().lookup(id, Instant::now()) {
                Lookup::Valid(signed_in) => {
                    // A revoked token ends its sessions at once, as it ends API access.
                    let token_id = signed_in.principal.token_id.clone();
                    if app
                        .blocking(move |engine| engine.token_active(&token_id))
                        .await??
                    {
                        (Some(signed_in), false)
                    } else {
                        app.sessions().close(id);
                        (None, true)
                    }
                }
                Lookup::Ended => (None, true),
            },
        };
        let forwarded_tls = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        Ok(Visitor {
            lang,
            signed_in,
            session_id,
            session_ended,
            pre_csrf: cookie_value(&parts.headers, PRE_COOKIE).map(str::to_owned),
            secure: app.sessions().always_secure || forwarded_tls,
            here: here(&parts.uri),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            token_id: "T".into(),
            organisation_id: "O".into(),
            is_admin: false,
        }
    }

    #[test]
    fn sessions_expire_and_close() {
        let sessions = Sessions::new(Duration::from_secs(60), false);
        let start = Instant::now();
        let id = sessions.open(principal(), start);
        assert!(matches!(
            sessions.lookup(&id, start + Duration::from_secs(59)),
            Lookup::Valid(_)
        ));
        assert!(matches!(
            sessions.lookup(&id, start + Duration::from_secs(61)),
            Lookup::Ended
        ));
        let other = sessions.open(principal(), start);
        sessions.close(&other);
        assert!(matches!(sessions.lookup(&other, start), Lookup::Ended));
        assert!(matches!(sessions.lookup("forged", start), Lookup::Ended));
    }

    #[test]
    fn csrf_tokens_compare_exactly_and_never_empty() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert!(tokens_match(&token, &token));
        assert!(!tokens_match("", ""));
        assert!(!tokens_match(&token[..42], &token));
        assert!(!tokens_match(&random_token(), &token));
    }
}
