//! Highlighted snippets: the best window of a listing's text for the query, with matched words
//! wrapped in `<mark>`. Built from the stored text and the language's own analyzer, so offsets are
//! exact and the text is escaped before any markup is added.

use std::collections::BTreeMap;

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

/// The best excerpt of `text` for the query terms, or `None` when no term occurs in it.
pub fn snippet(
    field: &str,
    text: &str,
    analysis: Analysis,
    query_terms: &BTreeMap<String, u32>,
) -> Option<Snippet> {
    let mut analyzer = analysis.analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut matches: Vec<(usize, usize, String)> = Vec::new();
    while stream.advance() {
        let token = stream.token();
        if query_terms.contains_key(&token.text) {
            matches.push((token.offset_from, token.offset_to, token.text.clone()));
        }
    }
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
    for (idx, (from, _, _)) in matches.iter().enumerate() {
        let start = context_start(text, *from);
        let end = window_bytes(start);
        let mut distinct: Vec<&str> = matches[idx..]
            .iter()
            .take_while(|(_, to, _)| *to <= end)
            .map(|(_, _, term)| term.as_str())
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > best.1 {
            best = (start, distinct.len());
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
    for (from, to, term) in matches
        .iter()
        .filter(|(from, to, _)| *from >= start && *to <= end)
    {
        if *from < cursor {
            continue;
        }
        html.push_str(&escape(&text[cursor..*from]));
        html.push_str("<mark>");
        html.push_str(&escape(&text[*from..*to]));
        html.push_str("</mark>");
        cursor = *to;
        if !matched_terms.contains(term) {
            matched_terms.push(term.clone());
        }
    }
    html.push_str(&escape(&text[cursor..end]));
    if end < text.len() {
        html.push('…');
    }
    Some(Snippet {
        field: field.to_owned(),
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
}
