//! Organisations: the owners of listings. Imports without `--org` create them on first sight,
//! keyed by (name, country), so a partner database's export imports as it is.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use silkmatch_core::{Organisation, Timestamp};

use crate::error::Result;

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganisationRecord {
    /// ULID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `OrganisationKind` spelling.
    pub kind: String,
    /// `OrganisationSize` spelling, when known.
    pub size: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OrganisationRecord> {
    Ok(OrganisationRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        size: row.get(3)?,
        country: row.get(4)?,
    })
}

/// The organisation with this id.
pub fn get(connection: &Connection, id: &str) -> Result<Option<OrganisationRecord>> {
    let mut statement = connection
        .prepare_cached("SELECT id, name, kind, size, country FROM organisations WHERE id = ?1")?;
    Ok(statement.query_row([id], from_row).optional()?)
}

/// The id of the organisation named in a listing, creating it when this (name, country) is new.
pub fn find_or_create(
    connection: &Connection,
    organisation: &Organisation,
    now: Timestamp,
) -> Result<String> {
    let mut find = connection
        .prepare_cached("SELECT id FROM organisations WHERE name = ?1 AND country = ?2")?;
    if let Some(id) = find
        .query_row(
            params![organisation.name, organisation.country.as_str()],
            |row| row.get(0),
        )
        .optional()?
    {
        return Ok(id);
    }
    create(connection, organisation, now)
}

/// Creates an organisation and returns its new id.
pub fn create(
    connection: &Connection,
    organisation: &Organisation,
    now: Timestamp,
) -> Result<String> {
    let id = ulid::Ulid::new().to_string();
    connection.prepare_cached("INSERT INTO organisations (id, name, kind, size, country, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(params![
        id,
        organisation.name,
        organisation.kind.as_str(),
        organisation.size.map(|size| size.as_str()),
        organisation.country.as_str(),
        now.unix()
    ])?;
    Ok(id)
}

/// Every organisation, by name then id.
pub fn list(connection: &Connection) -> Result<Vec<OrganisationRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, name, kind, size, country FROM organisations ORDER BY name, id",
    )?;
    let rows = statement.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
