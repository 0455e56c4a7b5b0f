//! Arabic normalisation and light stemming (Larkey, Ballesteros and Connell's "Light10", SIGIR 2002).
//! Snowball's Arabic stemmer strips letters such as a leading ب that are part of the word (بطارية,
//! "battery", loses its first letter), so forms of one word do not meet; light stemming removes only
//! the article, conjunctions and common suffixes, which is what retrieval needs.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Normalises one word: drops diacritics and tatweel, unifies alef forms, ta marbuta and alef maqsura.
pub fn normalise(word: &str) -> String {
    word.chars()
        .filter(|c| !('\u{064B}'..='\u{0652}').contains(c) && *c != '\u{0640}')
        .map(|c| match c {
            'أ' | 'إ' | 'آ' => 'ا',
            'ة' => 'ه',
            'ى' => 'ي',
            other => other,
        })
        .collect()
}

const PREFIXES: [&str; 6] = ["وال", "بال", "كال", "فال", "ال", "لل"];
const SUFFIXES: [&str; 8] = ["ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي"];

/// Light10 on a normalised word; words of three letters or fewer are left alone.
pub fn light_stem(word: &str) -> String {
    let mut chars: Vec<char> = normalise(word).chars().collect();
    if chars.len() > 3 && chars[0] == 'و' {
        chars.remove(0);
    }
    for prefix in PREFIXES {
        let prefix: Vec<char> = prefix.chars().collect();
        if chars.starts_with(&prefix) && chars.len() - prefix.len() >= 2 {
            chars.drain(..prefix.len());
            break;
        }
    }
    for suffix in SUFFIXES {
        let suffix: Vec<char> = suffix.chars().collect();
        if chars.ends_with(&suffix) && chars.len() - suffix.len() >= 2 {
            chars.truncate(chars.len() - suffix.len());
        }
    }
    chars.into_iter().collect()
}

/// Token filter applying `light_stem` to words in Arabic script and leaving others alone.
#[derive(Clone, Copy)]
pub struct ArabicLightStemmer;

impl TokenFilter for ArabicLightStemmer {
    type Tokenizer<T: Tokenizer> = ArabicFilter<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> ArabicFilter<T> {
        ArabicFilter(tokenizer)
    }
}

/// The tokenizer `ArabicLightStemmer` wraps.
#[derive(Clone)]
pub struct ArabicFilter<T>(T);

impl<T: Tokenizer> Tokenizer for ArabicFilter<T> {
    type TokenStream<'a> = ArabicStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ArabicStream(self.0.token_stream(text))
    }
}

/// The token stream `ArabicLightStemmer` produces.
pub struct ArabicStream<S>(S);

impl<S: TokenStream> TokenStream for ArabicStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let token = self.0.token_mut();
        if token
            .text
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
        {
            token.text = light_stem(&token.text);
        }
        true
    }
    fn token(&self) -> &Token {
        self.0.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_number_and_gender_forms_meet() {
        let stems: Vec<String> = ["بطارية", "البطارية", "بطاريات", "والبطارية", "بِطَّارِيَّة"]
            .iter()
            .map(|word| light_stem(word))
            .collect();
        assert!(stems.iter().all(|stem| stem == "بطار"), "{stems:?}");
    }

    #[test]
    fn short_words_are_kept() {
        assert_eq!(light_stem("ماء"), "ماء");
    }
}
