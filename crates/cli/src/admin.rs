//! `silkmatch org` and `silkmatch token`: bootstrap organisations and credentials from the shell
//! (the same operations administrators have over the API).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use silkmatch_core::{Country, Organisation, OrganisationKind};
use silkmatch_index::Engine;

/// `silkmatch org ...`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation; prints its id.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        country: String,
        /// sme, large_company, university, research_institute, public_body or other.
        #[arg(long, default_value = "other")]
        kind: String,
    },
    /// List organisations.
    List,
}

/// `silkmatch token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an organisation; prints the token alone on the last line (shown only once).
    Create {
        /// The organisation's id.
        #[arg(long)]
        org: String,
        /// A name for the token ("import job").
        #[arg(long)]
        name: String,
        /// Let the token manage organisations and tokens.
        #[arg(long)]
        admin: bool,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (the part after `smk_` and before the next `_`).
        id: String,
    },
    /// List tokens (never their secrets).
    List,
}

/// Runs `org`.
pub fn org(engine: &Engine, command: OrgCommand) -> anyhow::Result<ExitCode> {
    match command {
        OrgCommand::Create {
            name,
            country,
            kind,
        } => {
            let kind = OrganisationKind::parse(&kind).with_context(|| {
                format!("--kind must be one of {}", OrganisationKind::allowed())
            })?;
            let country = Country::new(&country).with_context(|| {
                format!("--country `{country}` is not an ISO 3166-1 alpha-2 code such as CN")
            })?;
            anyhow::ensure!(
                !name.trim().is_empty() && name.chars().count() <= 256,
                "--name must be 1 to 256 characters"
            );
            let record = engine.create_organisation(
                &Organisation {
                    name,
                    kind,
                    size: None,
                    country,
                },
                crate::now(),
            )?;
            println!("{}", record.id);
        }
        OrgCommand::List => {
            for organisation in engine.organisations()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    organisation.id, organisation.country, organisation.kind, organisation.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `token`.
pub fn token(engine: &Engine, command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { org, name, admin } => {
            let (record, token) = engine.create_token(&org, &name, admin, crate::now())?;
            eprintln!(
                "token {} for organisation {} ({}); store it now, it is not shown again:",
                record.id,
                record.organisation_id,
                if admin { "administrator" } else { "partner" }
            );
            println!("{token}");
        }
        TokenCommand::Revoke { id } => {
            engine.revoke_token(&id, crate::now())?;
            println!("revoked {id}");
        }
        TokenCommand::List => {
            for token in engine.tokens(None)? {
                let state = token
                    .revoked_at
                    .map_or_else(|| "active".to_owned(), |at| format!("revoked {at}"));
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    token.id,
                    token.organisation_id,
                    if token.is_admin { "admin" } else { "partner" },
                    token.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
