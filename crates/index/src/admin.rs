//! Organisations and credentials: what administrators manage and what every write is checked against.

use silkmatch_core::{Organisation, Timestamp};

use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::store::tokens::{Principal, TokenRecord};
use crate::store::{self, OrganisationRecord};

impl Engine {
    /// Creates an organisation (name and country must be new together) and returns it.
    pub fn create_organisation(
        &self,
        organisation: &Organisation,
        now: Timestamp,
    ) -> Result<OrganisationRecord> {
        let id = self.store.write(|connection| {
            let exists: bool = connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM organisations WHERE name = ?1 AND country = ?2)",
                [organisation.name.as_str(), organisation.country.as_str()],
                |row| row.get(0),
            )?;
            if exists {
                return Err(IndexError::Conflict(format!(
                    "an organisation named `{}` in {} already exists",
                    organisation.name, organisation.country
                )));
            }
            store::organisations::create(connection, organisation, now)
        })?;
        self.organisation(&id)?.ok_or(IndexError::NotFound {
            what: "organisation",
            id,
        })
    }

    /// Every organisation, by name.
    pub fn organisations(&self) -> Result<Vec<OrganisationRecord>> {
        self.store.read(store::organisations::list)
    }

    /// Creates a token for an organisation; the returned text is shown once and never stored.
    pub fn create_token(
        &self,
        organisation_id: &str,
        name: &str,
        is_admin: bool,
        now: Timestamp,
    ) -> Result<(TokenRecord, String)> {
        if self.organisation(organisation_id)?.is_none() {
            return Err(IndexError::NotFound {
                what: "organisation",
                id: organisation_id.to_owned(),
            });
        }
        self.store.write(|connection| {
            store::tokens::create(connection, organisation_id, name, is_admin, now)
        })
    }

    /// Who a bearer token speaks for; `None` when it is malformed, unknown, wrong or revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        self.store
            .read(|connection| store::tokens::authenticate(connection, token))
    }

    /// Whether the token with this id exists and is not revoked (web sessions opened with a token
    /// end when it is revoked, as API requests do).
    pub fn token_active(&self, token_id: &str) -> Result<bool> {
        self.store
            .read(|connection| store::tokens::is_active(connection, token_id))
    }

    /// Revokes a token.
    pub fn revoke_token(&self, token_id: &str, now: Timestamp) -> Result<()> {
        if self
            .store
            .write(|connection| store::tokens::revoke(connection, token_id, now))?
        {
            Ok(())
        } else {
            Err(IndexError::NotFound {
                what: "active token",
                id: token_id.to_owned(),
            })
        }
    }

    /// Tokens of one organisation, or of all.
    pub fn tokens(&self, organisation_id: Option<&str>) -> Result<Vec<TokenRecord>> {
        self.store
            .read(|connection| store::tokens::list(connection, organisation_id))
    }
}
