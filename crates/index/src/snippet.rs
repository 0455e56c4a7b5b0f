//! Highlighted snippets: the best window of a listing's text for the query, with matched words
//! wrapped in `<mark>`. Built from the stored text and the language's own analyzer, so offsets are
//! exact and the text is escaped before any markup is added.
//!
//! Analysing a text (stemming every word) costs far more than choosing a window, so search keeps
//! each text's analysed tokens in a bounded cache keyed by the listing's `seq` (one immutable
//! version) and the text's position in the listing: a cached analysis is the analysis itself, so a
//! snippet from it is byte-identical to a fresh one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tantivy::tokenizer::TokenStream;

use crate::analyzers::Analysis;

/// A highlighted excerpt of one text field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// Which field it comes from (`title`, `summary`, `description`, ...).
    pub field: String,
    /// HTML-escaped text with `<mark>` around matched words, `…` where cut.
    pub html: String,
    /// The distinct query terms found in it.
    pub matched_terms: Vec<String>,
}

/// Longest excerpt, in characters.
const WINDOW_CHARS: usize = 180;

/// The analysed tokens of one text, in order: where each is in the text and the term it became.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    /// Byte range in the text, then byte range of the term in `terms`.
    spans: Vec<(u32, u32, u32, u32)>,
    /// Every token's term, concatenated.
    terms: String,
    /// Byte ranges in `terms` of the distinct terms, sorted by term: a query term absent from a
    /// text is found absent without reading its tokens.
    distinct: Vec<(u32, u32)>,
    /// Each token's place in `distinct` (aligned with `spans`): choosing a window compares these
    /// numbers, not the terms.
    ids: Vec<u32>,
}

impl Tokens {
    /// Analyses `text` with `analysis`.
    pub fn analyse(text: &str, analysis: Analysis) -> Tokens {
        let mut analyzer = analysis.analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Tokens::default();
        while stream.advance() {
            let token = stream.token();
            let term_from = tokens.terms.len();
            tokens.terms.push_str(&token.text);
            tokens.spans.push((
                token.offset_from as u32,
                token.offset_to as u32,
                term_from as u32,
                tokens.terms.len() as u32,
            ));
        }
        let terms = &tokens.terms;
        let text_of = |(from, to): &(u32, u32)| &terms[*from as usize..*to as usize];
        let mut distinct: Vec<(u32, u32)> = tokens
            .spans
            .iter()
            .map(|(_, _, from, to)| (*from, *to))
            .collect();
        distinct.sort_unstable_by(|a, b| text_of(a).cmp(text_of(b)));
        distinct.dedup_by(|a, b| text_of(a) == text_of(b));
        tokens.distinct = distinct;
        tokens.ids = tokens
            .spans
            .iter()
            .map(|(_, _, from, to)| {
                let term = &tokens.terms[*from as usize..*to as usize];
                tokens
                    .id(term)
                    .expect("every token's term is among the distinct ones")
            })
            .collect();
        tokens
    }

    /// The place of `term` among the distinct terms, if some token became it.
    fn id(&self, term: &str) -> Option<u32> {
        self.distinct
            .binary_search_by(|(from, to)| self.terms[*from as usize..*to as usize].cmp(term))
            .ok()
            .map(|place| place as u32)
    }

    /// Bytes held, for the cache's bound.
    fn bytes(&self) -> u64 {
        (self.spans.len() * 20 + self.distinct.len() * 8 + self.terms.len() + 64) as u64
    }

    /// (offset from, offset to, term, term's place among the distinct ones) of each token.
    fn iter(&self) -> impl Iterator<Item = (usize, usize, &str, u32)> {
        self.spans
            .iter()
            .zip(&self.ids)
            .map(|((from, to, term_from, term_to), id)| {
                (
                    *from as usize,
                    *to as usize,
                    &self.terms[*term_from as usize..*term_to as usize],
                    *id,
                )
            })
    }
}

#[derive(Clone)]
struct TokenBytes;

impl quick_cache::Weighter<(u64, u32), Arc<Tokens>> for TokenBytes {
    fn weight(&self, _: &(u64, u32), tokens: &Arc<Tokens>) -> u64 {
        tokens.bytes()
    }
}

/// Analysed texts of search hits, by (`seq`, position of the text in the listing).
pub struct TokenCache {
    entries: quick_cache::sync::Cache<(u64, u32), Arc<Tokens>, TokenBytes>,
}

/// Bytes of analysed texts kept for snippets (a title and summary take about 1 KB).
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl TokenCache {
    /// A cache of at most `bytes`.
    pub fn new(bytes: u64) -> TokenCache {
        TokenCache {
            entries: quick_cache::sync::Cache::with_weighter(
                (bytes / 1024).max(1) as usize,
                bytes.max(1),
                TokenBytes,
            ),
        }
    }

    /// The analysis of text number `position` of the listing version `seq`, which is `text`.
    pub fn tokens(&self, seq: u64, position: u32, text: &str, analysis: Analysis) -> Arc<Tokens> {
        let key = (seq, position);
        if let Some(tokens) = self.entries.get(&key) {
            return tokens;
        }
        let tokens = Arc::new(Tokens::analyse(text, analysis));
        self.entries.insert(key, Arc::clone(&tokens));
        tokens
    }

    /// Forgets every analysis.
    pub fn clear(&self) {
        self.entries.clear();
    }
}

/// The best excerpt of `text` for the query terms, or `None` when no term occurs in it (analysing
/// `text` afresh; the reference the cached path is tested against).
#[cfg(test)]
pub fn snippet(
    field: &str,
    text: &str,
    analysis: Analysis,
    query_terms: &BTreeMap<String, u32>,
) -> Option<Snippet> {
    snippet_of_tokens(
        || field.to_owned(),
        text,
        &Tokens::analyse(text, analysis),
        query_terms,
    )
}

/// `snippet` from the text's analysed tokens; the field is named only when there is a snippet.
pub fn snippet_of_tokens(
    field: impl FnOnce() -> String,
    text: &str,
    tokens: &Tokens,
    query_terms: &BTreeMap<String, u32>,
) -> Option<Snippet> {
    // The query terms the text holds, by their place among its distinct terms.
    let present: Vec<u32> = query_terms
        .keys()
        .filter_map(|term| tokens.id(term))
        .collect();
    if present.is_empty() {
        return None;
    }
    // (from, to, term, which of `present`) of each token that is a query term.
    let matches: Vec<(usize, usize, &str, usize)> = tokens
        .iter()
        .filter_map(|(from, to, term, id)| {
            let which = present.iter().position(|present| *present == id)?;
            Some((from, to, term, which))
        })
        .collect();
    if matches.is_empty() {
        return None;
    }
    // Pick the window start (at a match) that covers the most distinct terms.
    let window_bytes = |start: usize| {
        text[start..]
            .char_indices()
            .nth(WINDOW_CHARS)
            .map_or(text.len(), |(idx, _)| start + idx)
    };
    let mut best = (0usize, 0usize);
    // `seen[which] == idx + 1` once the window starting at match `idx` has counted that term.
    let mut seen = vec![0usize; present.len()];
    for (idx, (from, _, _, _)) in matches.iter().enumerate() {
        let start = context_start(text, *from);
        let end = window_bytes(start);
        let mut distinct = 0;
        for (_, _, _, which) in matches[idx..].iter().take_while(|(_, to, _, _)| *to <= end) {
            if seen[*which] != idx + 1 {
                seen[*which] = idx + 1;
                distinct += 1;
            }
        }
        if distinct > best.1 {
            best = (start, distinct);
        }
    }
    let start = best.0;
    let end = window_bytes(start);
    let mut html = String::new();
    if start > 0 {
        html.push('…');
    }
    let mut cursor = start;
    let mut matched_terms = Vec::new();
    // Jieba's search mode emits overlapping words (锂电池 and 电池); the first one wins.
    for (from, to, term, _) in matches
        .iter()
        .filter(|(from, to, _, _)| *from >= start && *to <= end)
    {
        if *from < cursor {
            continue;
        }
        html.push_str(&escape(&text[cursor..*from]));
        html.push_str("<mark>");
        html.push_str(&escape(&text[*from..*to]));
        html.push_str("</mark>");
        cursor = *to;
        if !matched_terms.iter().any(|matched| matched == term) {
            matched_terms.push((*term).to_owned());
        }
    }
    html.push_str(&escape(&text[cursor..end]));
    if end < text.len() {
        html.push('…');
    }
    Some(Snippet {
        field: field(),
        html,
        matched_terms,
    })
}

/// A few words of context before the first match, starting at a character boundary.
fn context_start(text: &str, match_from: usize) -> usize {
    let before = &text[..match_from];
    before
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(idx, _)| idx)
}

/// Minimal HTML escaping for text placed between tags.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> BTreeMap<String, u32> {
        words.iter().map(|word| (word.to_string(), 1)).collect()
    }

    #[test]
    fn marks_stemmed_matches_and_escapes_the_rest() {
        let snippet = snippet(
            "title",
            "<b>Recycling</b> of spent batteries",
            Analysis::English,
            &terms(&["batteri"]),
        )
        .unwrap();
        assert_eq!(
            snippet.html,
            "&lt;b&gt;Recycling&lt;/b&gt; of spent <mark>batteries</mark>"
        );
    }

    #[test]
    fn marks_chinese_words() {
        let snippet = snippet(
            "title",
            "废旧锂电池回收技术",
            Analysis::Chinese,
            &terms(&["锂电池"]),
        )
        .unwrap();
        assert!(
            snippet.html.contains("<mark>锂电池</mark>"),
            "{}",
            snippet.html
        );
    }

    #[test]
    fn no_match_no_snippet() {
        assert!(
            snippet(
                "title",
                "solar pumps",
                Analysis::English,
                &terms(&["batteri"])
            )
            .is_none()
        );
    }

    #[test]
    fn cached_analysis_gives_the_fresh_snippet() {
        let cache = TokenCache::new(1024 * 1024);
        let texts = [
            (
                "<b>Recycling</b> of spent batteries & spent cells",
                Analysis::English,
            ),
            ("废旧锂电池回收技术，锂电池正极材料再生", Analysis::Chinese),
            ("Переработка отработанных аккумуляторов", Analysis::Russian),
        ];
        for query in [
            &["batteri", "spent"][..],
            &["锂电池", "电池"],
            &["аккумулятор"],
            &["none"],
        ] {
            for (position, (text, analysis)) in texts.iter().enumerate() {
                let fresh = snippet("summary", text, *analysis, &terms(query));
                for _ in 0..2 {
                    let tokens = cache.tokens(7, position as u32, text, *analysis);
                    let cached =
                        snippet_of_tokens(|| "summary".to_owned(), text, &tokens, &terms(query));
                    assert_eq!(cached, fresh);
                }
            }
        }
    }
}
