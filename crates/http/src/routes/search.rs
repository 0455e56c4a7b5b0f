//! `GET /v1/search`: parameters parsed strictly (an unknown or malformed one is named in a 400),
//! signed opaque cursors, facets and snippets.

use axum::Json;
use axum::extract::{RawQuery, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};

use serde::Serialize;
use sha2::Sha256;
use silkmatch_core::{
    Cooperation, Country, Kind, LanguageTag, Problem, ProblemCode, Sector, TechnologyField,
    Timestamp, Trl,
};
use silkmatch_index::{
    Filters, Hit, MAX_LIMIT, MAX_WINDOW, SearchRequest, SearchResults, Sort, TextMode,
};

use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::Caller;
use crate::render;

fn bad(field: &str, message: String) -> ApiError {
    ApiError::InvalidParameter(Problem::new(field, ProblemCode::InvalidFormat, message))
}

/// Splits a query string into decoded pairs; repeated and comma-separated values both work for lists.
pub fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in raw.split('&').filter(|part| !part.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let decode = |text: &str| -> Result<String, ApiError> {
            let spaced = text.replace('+', " ");
            percent_decode(&spaced).ok_or_else(|| {
                bad(
                    name,
                    format!("`{name}` is not valid percent-encoded UTF-8."),
                )
            })
        };
        out.push((decode(name)?, decode(value)?));
    }
    Ok(out)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'%' {
            let hex = std::str::from_utf8(bytes.get(idx + 1..idx + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            idx += 3;
        } else {
            out.push(bytes[idx]);
            idx += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn list<T>(
    values: &[&str],
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Vec<T>, ApiError> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| {
            parse(value).ok_or_else(|| {
                bad(
                    field,
                    format!("`{field}` must be {expected}; got `{value}`."),
                )
            })
        })
        .collect()
}

fn number<T: std::str::FromStr>(
    values: &[&str],
    field: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match values.last() {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| {
            bad(
                field,
                format!("`{field}` must be {expected}; got `{value}`."),
            )
        }),
    }
}

/// The search a query string asks for, plus its cursor (if any) still to be checked.
pub struct ParsedSearch {
    /// The request.
    pub request: SearchRequest,
    /// A canonical form of everything but the page position, which cursors are bound to.
    pub fingerprint: String,
    /// The cursor given.
    pub cursor: Option<String>,
    /// Whether each hit carries its whole listing (`full=true`) or only what a results list shows.
    pub full: bool,
}

const KNOWN: [&str; 16] = [
    "q",
    "kind",
    "country",
    "technology_field",
    "sector",
    "cooperation",
    "trl_min",
    "trl_max",
    "language",
    "sort",
    "limit",
    "cursor",
    "offset",
    "facets",
    "snippets",
    "full",
];

/// Parses the parameters of api.md, "Search parameters".
pub fn parse_search(pairs: &[(String, String)]) -> Result<ParsedSearch, ApiError> {
    for (name, _) in pairs {
        if !KNOWN.contains(&name.as_str()) {
            return Err(bad(
                name,
                format!(
                    "`{name}` is not a search parameter; the parameters are: {}.",
                    KNOWN.join(", ")
                ),
            ));
        }
    }
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    };
    let text = values("q")
        .last()
        .map(|text| text.to_string())
        .unwrap_or_default();
    if text.chars().count() > 1_000 {
        return Err(bad("q", "`q` must be at most 1000 characters.".into()));
    }
    let kind = match values("kind").last() {
        None => None,
        Some(value) => Some(Kind::parse(value).ok_or_else(|| {
            bad(
                "kind",
                format!("`kind` must be offer or need; got `{value}`."),
            )
        })?),
    };
    let trl = |field: &str| -> Result<Option<Trl>, ApiError> {
        number::<u8>(&values(field), field, "a readiness level from 1 to 9")?
            .map(|level| {
                Trl::new(level).ok_or_else(|| {
                    bad(
                        field,
                        format!("`{field}` must be between 1 and 9; got {level}."),
                    )
                })
            })
            .transpose()
    };
    let filters = Filters {
        kind,
        countries: list(
            &values("country"),
            "country",
            Country::new,
            "an ISO 3166-1 alpha-2 code such as CN",
        )?,
        technology_fields: list(
            &values("technology_field"),
            "technology_field",
            |text| text.parse().ok().and_then(TechnologyField::new),
            "a WIPO field from 1 to 35",
        )?,
        sectors: list(
            &values("sector"),
            "sector",
            Sector::new,
            "a NACE section letter from A to U",
        )?,
        cooperation: list(
            &values("cooperation"),
            "cooperation",
            Cooperation::parse,
            &format!("one of {}", Cooperation::allowed()),
        )?,
        trl_min: trl("trl_min")?,
        trl_max: trl("trl_max")?,
        languages: list(
            &values("language"),
            "language",
            LanguageTag::new,
            "a language tag such as en or zh",
        )?,
        ..Filters::default()
    };
    let sort = match values("sort").last().copied() {
        None | Some("relevance") => Sort::Relevance,
        Some("newest") => Sort::Newest,
        Some(other) => {
            return Err(bad(
                "sort",
                format!("`sort` must be relevance or newest; got `{other}`."),
            ));
        }
    };
    let limit = number::<usize>(
        &values("limit"),
        "limit",
        &format!("a whole number from 1 to {MAX_LIMIT}"),
    )?
    .unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("`limit` must be between 1 and {MAX_LIMIT}; got {limit}."),
        ));
    }
    let offset = number::<usize>(&values("offset"), "offset", "a whole number")?.unwrap_or(0);
    if offset.saturating_add(limit) > MAX_WINDOW {
        return Err(bad(
            "offset",
            format!(
                "`offset` + `limit` must be at most {MAX_WINDOW}; got {}.",
                offset.saturating_add(limit)
            ),
        ));
    }
    let flag_or = |name: &str, default: bool| -> Result<bool, ApiError> {
        match values(name).last().copied() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(bad(
                name,
                format!("`{name}` must be true or false; got `{other}`."),
            )),
        }
    };
    let cursor = values("cursor").last().map(|cursor| cursor.to_string());
    if cursor.is_some() && !values("offset").is_empty() {
        return Err(bad(
            "cursor",
            "give either `cursor` or `offset`, not both.".into(),
        ));
    }
    let request = SearchRequest {
        text,
        filters,
        sort,
        limit,
        offset,
        facets: flag_or("facets", true)?,
        snippets: flag_or("snippets", true)?,
        // Meaning joins words whenever the server has a model and listings have vectors.
        mode: TextMode::default(),
    };
    let full = flag_or("full", false)?;
    let fingerprint = format!(
        "{:?}|{:?}|{:?}|{}",
        request.text, request.filters, request.sort, request.limit
    );
    Ok(ParsedSearch {
        request,
        fingerprint,
        cursor,
        full,
    })
}

type HmacSha256 = Hmac<Sha256>;

/// An opaque cursor: the next offset, bound to the query and signed, so it cannot be edited.
pub fn make_cursor(key: &[u8; 32], fingerprint: &str, offset: usize) -> String {
    let payload = offset.to_string();
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length works");
    mac.update(fingerprint.as_bytes());
    mac.update(b"|");
    mac.update(payload.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The offset a cursor carries, if it is ours, unaltered and for this query.
pub fn read_cursor(key: &[u8; 32], fingerprint: &str, cursor: &str) -> Result<usize, ApiError> {
    let invalid = || {
        bad("cursor", "`cursor` is not one this server issued for this search (it may be from before a restart, or altered).".into())
    };
    let (payload, signature) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length works");
    mac.update(fingerprint.as_bytes());
    mac.update(b"|");
    mac.update(&payload);
    mac.verify_slice(&signature).map_err(|_| invalid())?;
    std::str::from_utf8(&payload)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(invalid)
}

/// Runs a parsed search on the CPU pool (the API and the results page both call this).
pub async fn run(
    app: &App,
    request: SearchRequest,
    now: silkmatch_core::Timestamp,
) -> Result<silkmatch_index::SearchResults, ApiError> {
    Ok(app
        .on_cpu(move |engine| engine.search(&request, now))
        .await??)
}

/// `GET /v1/search`.
pub async fn search(
    State(app): State<App>,
    _caller: Caller, // A token, when given, must be valid even where none is needed.
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResponse>, ApiError> {
    let ParsedSearch {
        mut request,
        fingerprint,
        cursor,
        full,
    } = parse_search(&pairs(raw.as_deref())?)?;
    if let Some(cursor) = cursor {
        request.offset = read_cursor(app.cursor_key(), &fingerprint, &cursor)?;
        if request.offset.saturating_add(request.limit) > MAX_WINDOW {
            return Err(bad(
                "cursor",
                format!(
                    "results beyond the first {MAX_WINDOW} cannot be paged to; narrow the search."
                ),
            ));
        }
    }
    let now = now();
    let (offset, limit) = (request.offset, request.limit);
    let results = run(&app, request, now).await?;
    let next = offset + limit;
    let next_cursor = (next < results.total.min(MAX_WINDOW))
        .then(|| make_cursor(app.cursor_key(), &fingerprint, next));
    Ok(Json(SearchResponse {
        results,
        offset,
        limit,
        next_cursor,
        now,
        full,
    }))
}

/// The body of a search response, serialised straight from the engine's results (a page carries up
/// to 100 whole listings; building a `Value` first would copy each of them once more).
pub struct SearchResponse {
    results: SearchResults,
    offset: usize,
    limit: usize,
    next_cursor: Option<String>,
    now: Timestamp,
    full: bool,
}

impl Serialize for SearchResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Hits<'a>(&'a [Hit], Timestamp, bool);
        impl Serialize for Hits<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|hit| render::hit(hit, self.1, self.2)))
            }
        }
        let mut body = serializer.serialize_struct("SearchResponse", 6)?;
        body.serialize_field("total", &self.results.total)?;
        body.serialize_field("offset", &self.offset)?;
        body.serialize_field("limit", &self.limit)?;
        body.serialize_field("hits", &Hits(&self.results.hits, self.now, self.full))?;
        body.serialize_field("facets", &self.results.facets)?;
        body.serialize_field("next_cursor", &self.next_cursor)?;
        body.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_their_query_and_cannot_be_edited() {
        let key = [7u8; 32];
        let cursor = make_cursor(&key, "q=solar", 20);
        assert_eq!(read_cursor(&key, "q=solar", &cursor).unwrap(), 20);
        assert!(read_cursor(&key, "q=wind", &cursor).is_err());
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("9000"),
            cursor.split_once('.').unwrap().1
        );
        assert!(read_cursor(&key, "q=solar", &forged).is_err());
        assert!(read_cursor(&[8u8; 32], "q=solar", &cursor).is_err());
        assert!(read_cursor(&key, "q=solar", "garbage").is_err());
    }

    #[test]
    fn parameters_are_parsed_strictly() {
        let parse = |query: &str| parse_search(&pairs(Some(query)).unwrap());
        assert!(parse("q=solar+pump&country=CN,KZ&technology_field=1&limit=5").is_ok());
        for (query, field) in [
            ("colour=red", "colour"),
            ("limit=0", "limit"),
            ("limit=-1", "limit"),
            ("offset=9999&limit=20", "offset"),
            ("trl_min=12", "trl_min"),
            ("country=China", "country"),
        ] {
            match parse(query) {
                Err(ApiError::InvalidParameter(problem)) => {
                    assert_eq!(problem.field, field, "{query}")
                }
                _ => panic!("{query} should be refused"),
            }
        }
        assert!(pairs(Some("q=%FF%FE")).is_err(), "bad UTF-8 is refused");
        assert!(pairs(Some("q=%zz")).is_err());
    }
}
