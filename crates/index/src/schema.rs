//! The tantivy schema: what of a listing the search index holds, and how each listing becomes a
//! document. Enumerated values are stored as small integers (`code`s) in fast fields, so filters are
//! term lookups and facet counts are array increments.

use silkmatch_core::matching::TextField;
use silkmatch_core::{Ipr, Kind, Listing, ListingBody, OrganisationKind, Status, TextRole};
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analyzers::{Analysis, TOKENIZER_NAME, mark_language};

/// Bumped whenever the schema or the analysis changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

/// Handles to every field, resolved once.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The listing's ULID: deletion key and link back to the record store.
    pub id: Field,
    /// The store's change sequence number of the indexed version: one integer names both the
    /// listing and its version, so hits are read back from the store, and cached analyses keyed,
    /// without string lookups.
    pub seq: Field,
    /// Owning organisation id.
    pub owner: Field,
    /// Offer (0) or need (1).
    pub kind: Field,
    /// Lifecycle state code.
    pub status: Field,
    /// Packed language tag of the main text.
    pub language: Field,
    /// Packed country code of the organisation.
    pub country: Field,
    /// WIPO fields (multi-valued).
    pub technology_field: Field,
    /// Packed NACE letters (multi-valued).
    pub sector: Field,
    /// Cooperation codes (multi-valued).
    pub cooperation: Field,
    /// Offers' IPR protection code (absent on needs).
    pub ipr: Field,
    /// Organisation kind code.
    pub organisation_kind: Field,
    /// SDGs addressed (multi-valued).
    pub sdg: Field,
    /// Offers' `trl`, needs' `trl_min`.
    pub trl: Field,
    /// Packed target countries; `ANYWHERE` when the listing accepts any country.
    pub target_country: Field,
    /// Unix seconds; `i64::MAX` when not published.
    pub expires_at: Field,
    /// Unix seconds of last publication (0 when never), for `sort=newest` and freshness.
    pub published_at: Field,
    /// Title and translated titles.
    pub title: Field,
    /// Summary and translated summaries.
    pub summary: Field,
    /// All text of the listing and its translations, title and summary included.
    pub body: Field,
    /// Keywords.
    pub keywords: Field,
}

/// The value of `target_country` for listings that accept partners from anywhere.
pub const ANYWHERE: u64 = 0;

impl Fields {
    /// Builds the schema and the handles.
    pub fn build() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let code = INDEXED | FAST;
        let fields = Fields {
            id: builder.add_text_field("id", STRING | STORED | FAST),
            seq: builder.add_u64_field("seq", FAST),
            owner: builder.add_text_field("owner", STRING),
            kind: builder.add_u64_field("kind", code.clone()),
            status: builder.add_u64_field("status", code.clone()),
            language: builder.add_u64_field("language", code.clone()),
            country: builder.add_u64_field("country", code.clone()),
            technology_field: builder.add_u64_field("technology_field", code.clone()),
            sector: builder.add_u64_field("sector", code.clone()),
            cooperation: builder.add_u64_field("cooperation", code.clone()),
            ipr: builder.add_u64_field("ipr", code.clone()),
            organisation_kind: builder.add_u64_field("organisation_kind", code.clone()),
            sdg: builder.add_u64_field("sdg", code.clone()),
            trl: builder.add_u64_field("trl", code.clone()),
            target_country: builder.add_u64_field("target_country", code.clone()),
            expires_at: builder.add_i64_field("expires_at", code.clone()),
            published_at: builder.add_i64_field("published_at", FAST),
            title: builder.add_text_field("title", text.clone()),
            summary: builder.add_text_field("summary", text.clone()),
            body: builder.add_text_field("body", text.clone()),
            keywords: builder.add_text_field("keywords", text),
        };
        (builder.build(), fields)
    }

    /// The tantivy field of a text field.
    pub fn text_field(&self, field: TextField) -> Field {
        match field {
            TextField::Title => self.title,
            TextField::Summary => self.summary,
            TextField::Body => self.body,
            TextField::Keywords => self.keywords,
        }
    }

    /// Every text field.
    pub fn text_fields(&self) -> [(TextField, Field); 4] {
        TextField::ALL.map(|field| (field, self.text_field(field)))
    }

    /// Turns a stored listing, written under change sequence number `seq`, into its index document.
    pub fn document(&self, listing: &Listing, seq: u64) -> TantivyDocument {
        let body = &listing.body;
        let mut doc = TantivyDocument::default();
        doc.add_text(self.id, &listing.id);
        doc.add_u64(self.seq, seq);
        doc.add_text(self.owner, &listing.owner);
        doc.add_u64(self.kind, kind_code(body.kind));
        doc.add_u64(self.status, status_code(listing.status));
        doc.add_u64(self.language, pack(body.language.as_str()));
        doc.add_u64(self.country, pack(body.organisation.country.as_str()));
        for field in &body.technology_fields {
            doc.add_u64(self.technology_field, u64::from(field.get()));
        }
        for sector in &body.sectors {
            doc.add_u64(self.sector, pack(&sector.to_string()));
        }
        for cooperation in &body.cooperation {
            doc.add_u64(self.cooperation, cooperation_code(*cooperation));
        }
        if let Some(ipr) = body.ipr {
            doc.add_u64(self.ipr, position(Ipr::ALL, ipr));
        }
        doc.add_u64(
            self.organisation_kind,
            position(OrganisationKind::ALL, body.organisation.kind),
        );
        for sdg in &body.sdgs {
            doc.add_u64(self.sdg, u64::from(sdg.get()));
        }
        doc.add_u64(self.trl, u64::from(body.readiness().get()));
        if body.target_countries.is_empty() {
            doc.add_u64(self.target_country, ANYWHERE);
        }
        for country in &body.target_countries {
            doc.add_u64(self.target_country, pack(country.as_str()));
        }
        let live_until = match listing.status {
            Status::Published => listing.expires_at.map_or(i64::MAX, |expiry| expiry.unix()),
            _ => i64::MIN,
        };
        doc.add_i64(self.expires_at, live_until);
        doc.add_i64(
            self.published_at,
            listing.published_at.map_or(0, |at| at.unix()),
        );

        for (field, analysis, text) in field_texts(body) {
            doc.add_text(self.text_field(field), mark_language(analysis, text));
        }
        doc
    }
}

/// Which text of a listing goes into which index field, analysed how. The index documents and the
/// matching model's term vectors are both built from this one list, so they cannot drift apart.
/// `body` holds the whole text (title and summary included), like a single-field BM25 index; `title`
/// and `summary` hold those parts again so a query can weigh them a little more.
pub fn field_texts(body: &ListingBody) -> Vec<(TextField, Analysis, &str)> {
    let own = Analysis::for_language(body.language.as_str());
    let mut texts = Vec::new();
    for (role, text) in body.texts() {
        match role {
            TextRole::Title => texts.push((TextField::Title, own, text)),
            TextRole::Summary => texts.push((TextField::Summary, own, text)),
            TextRole::Body | TextRole::Keywords => {}
        }
        texts.push((TextField::Body, own, text));
    }
    for keyword in &body.keywords {
        texts.push((TextField::Keywords, own, keyword.as_str()));
    }
    for (language, translation) in &body.translations {
        let analysis = Analysis::for_language(language.as_str());
        texts.push((TextField::Title, analysis, translation.title.as_str()));
        texts.push((TextField::Summary, analysis, translation.summary.as_str()));
        texts.push((TextField::Body, analysis, translation.title.as_str()));
        texts.push((TextField::Body, analysis, translation.summary.as_str()));
        if let Some(description) = &translation.description {
            texts.push((TextField::Body, analysis, description.as_str()));
        }
    }
    texts
}

/// Packs a short ASCII code (country, language, sector letter) into a `u64`, big-endian, so that codes
/// sort like their text and decode without a table. Codes longer than 8 bytes are not used.
pub fn pack(code: &str) -> u64 {
    code.bytes()
        .take(8)
        .fold(0u64, |packed, byte| (packed << 8) | u64::from(byte))
}

/// Inverse of `pack`.
pub fn unpack(packed: u64) -> String {
    let bytes: Vec<u8> = packed
        .to_be_bytes()
        .into_iter()
        .skip_while(|byte| *byte == 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Offer 0, need 1.
pub fn kind_code(kind: Kind) -> u64 {
    match kind {
        Kind::Offer => 0,
        Kind::Need => 1,
    }
}

/// The code of an enumerated value: its position in the enum's `ALL`.
pub fn position<T: PartialEq + Copy>(all: &[T], value: T) -> u64 {
    all.iter()
        .position(|candidate| *candidate == value)
        .expect("ALL lists every value") as u64
}

/// Position in `Status::ALL`.
pub fn status_code(status: Status) -> u64 {
    position(Status::ALL, status)
}

/// Position in `Cooperation::ALL`.
pub fn cooperation_code(cooperation: silkmatch_core::Cooperation) -> u64 {
    position(silkmatch_core::Cooperation::ALL, cooperation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_and_keeps_order() {
        for code in ["CN", "zh", "C", "KZ", "fil"] {
            assert_eq!(unpack(pack(code)), code);
        }
        assert!(pack("AE") < pack("CN"));
        assert_ne!(pack("A"), ANYWHERE);
    }
}
