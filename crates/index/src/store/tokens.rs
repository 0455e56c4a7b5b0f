//! API tokens (data model, "Organisations and credentials"): 256-bit random secrets shown once,
//! stored only as a SHA-256 hash, compared in constant time, named and revocable.
//!
//! A token reads `smk_<token id>_<secret>`: the id finds the row, the secret proves possession. A
//! fast hash suffices because the secret is 256 random bits, not a password that could be guessed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use silkmatch_core::Timestamp;
use subtle::ConstantTimeEq;

use crate::error::{IndexError, Result};

/// Prefix that makes silkmatch tokens recognisable (e.g. by secret scanners).
const PREFIX: &str = "smk_";

/// A token as listed to administrators: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Token id (ULID), also embedded in the token text.
    pub id: String,
    /// The organisation it acts for.
    pub organisation_id: String,
    /// A human name ("import job", "web app").
    pub name: String,
    /// Whether it may manage organisations and tokens.
    pub is_admin: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id.
    pub token_id: String,
    /// The organisation.
    pub organisation_id: String,
    /// Administrator rights.
    pub is_admin: bool,
}

fn hash(secret: &[u8]) -> Vec<u8> {
    Sha256::digest(secret).to_vec()
}

/// Creates a token for an existing organisation; returns its record and the token text, which is
/// shown once and never stored.
pub fn create(
    connection: &Connection,
    organisation_id: &str,
    name: &str,
    is_admin: bool,
    now: Timestamp,
) -> Result<(TokenRecord, String)> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|err| IndexError::Io {
        path: "getrandom".into(),
        source: std::io::Error::other(err.to_string()),
    })?;
    let id = ulid::Ulid::new().to_string();
    connection
        .prepare_cached("INSERT INTO tokens (id, organisation_id, name, hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![id, organisation_id, name, hash(&secret), is_admin, now.unix()])?;
    let text = format!("{PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret));
    let record = TokenRecord {
        id,
        organisation_id: organisation_id.into(),
        name: name.into(),
        is_admin,
        created_at: now,
        revoked_at: None,
    };
    Ok((record, text))
}

/// The principal of a token text, or `None` for anything malformed, unknown, revoked or wrong.
pub fn authenticate(connection: &Connection, token: &str) -> Result<Option<Principal>> {
    let Some((id, secret)) = token
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    let Ok(secret) = URL_SAFE_NO_PAD.decode(secret) else {
        return Ok(None);
    };
    let row: Option<(Vec<u8>, String, bool, Option<i64>)> = connection
        .prepare_cached(
            "SELECT hash, organisation_id, is_admin, revoked_at FROM tokens WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((stored, organisation_id, is_admin, revoked_at)) = row else {
        return Ok(None);
    };
    let matches: bool = hash(&secret).ct_eq(&stored).into();
    Ok((matches && revoked_at.is_none()).then(|| Principal {
        token_id: id.to_owned(),
        organisation_id,
        is_admin,
    }))
}

/// Whether the token `id` exists and is not revoked.
pub fn is_active(connection: &Connection, id: &str) -> Result<bool> {
    let revoked_at: Option<Option<i64>> = connection
        .prepare_cached("SELECT revoked_at FROM tokens WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(matches!(revoked_at, Some(None)))
}

/// Revokes a token; `false` when there is no such token or it was already revoked.
pub fn revoke(connection: &Connection, id: &str, now: Timestamp) -> Result<bool> {
    let changed = connection
        .prepare_cached("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now.unix()])?;
    Ok(changed == 1)
}

/// Every token of an organisation (or of all, for `None`), newest first.
pub fn list(connection: &Connection, organisation_id: Option<&str>) -> Result<Vec<TokenRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, organisation_id, name, is_admin, created_at, revoked_at FROM tokens WHERE ?1 IS NULL OR organisation_id = ?1 ORDER BY id DESC",
    )?;
    let rows = statement.query_map([organisation_id], |row| {
        Ok(TokenRecord {
            id: row.get(0)?,
            organisation_id: row.get(1)?,
            name: row.get(2)?,
            is_admin: row.get(3)?,
            created_at: Timestamp::from_unix(row.get(4)?),
            revoked_at: row.get::<_, Option<i64>>(5)?.map(Timestamp::from_unix),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        store
            .write(|connection| {
                connection.execute("INSERT INTO organisations (id, name, kind, country, created_at) VALUES ('org', 'Org', 'sme', 'CN', 0)", [])?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn a_token_authenticates_until_revoked_and_only_as_written() {
        let (_dir, store) = store();
        let now = Timestamp::from_unix(1);
        let (record, text) = store
            .write(|connection| create(connection, "org", "job", false, now))
            .unwrap();
        assert!(text.starts_with("smk_") && text.len() > 60);
        let principal = store
            .read(|connection| authenticate(connection, &text))
            .unwrap()
            .unwrap();
        assert_eq!(principal.organisation_id, "org");
        let mut tampered = text.clone();
        tampered.pop();
        tampered.push(if text.ends_with('A') { 'B' } else { 'A' });
        for wrong in [
            tampered.as_str(),
            "smk_",
            "",
            "Bearer x",
            "smk_nope_AAAA",
            "smk_a_b_c",
        ] {
            assert!(
                store
                    .read(|connection| authenticate(connection, wrong))
                    .unwrap()
                    .is_none(),
                "{wrong}"
            );
        }
        let stored: Vec<u8> = store
            .read(|connection| {
                Ok(connection.query_row("SELECT hash FROM tokens", [], |row| row.get(0))?)
            })
            .unwrap();
        assert!(
            !text
                .as_bytes()
                .windows(stored.len().min(8))
                .any(|window| window == &stored[..8]),
            "only a hash is stored"
        );
        assert!(
            store
                .write(|connection| revoke(connection, &record.id, now))
                .unwrap()
        );
        assert!(
            store
                .read(|connection| authenticate(connection, &text))
                .unwrap()
                .is_none()
        );
        assert!(
            !store
                .write(|connection| revoke(connection, &record.id, now))
                .unwrap(),
            "revoking twice changes nothing"
        );
    }
}
