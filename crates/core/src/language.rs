//! Language detection for listings that do not declare one (data model: "detected when absent").

use whatlang::Lang;

use crate::model::LanguageTag;

/// Guesses the BCP-47 primary tag of `text`; `None` when the text is too short or ambiguous to tell.
/// Scripts that identify a language on their own (Han, Arabic, Cyrillic) win over the statistical guess
/// for short texts, where whatlang is least reliable.
pub fn detect_language(text: &str) -> Option<LanguageTag> {
    let info = whatlang::detect(text)?;
    let by_script = match info.script() {
        whatlang::Script::Mandarin => Some("zh"),
        whatlang::Script::Arabic if info.lang() == Lang::Ara => Some("ar"),
        _ => None,
    };
    let code = by_script.or_else(|| iso_639_1(info.lang()))?;
    if by_script.is_none() && !info.is_reliable() && text.chars().count() < 40 {
        return None;
    }
    LanguageTag::new(code)
}

/// What can be known of the language a text (a search query) is written in: what detection says,
/// or, for text too short to tell ("solar pump"), its alphabet, which still rules out every
/// language written in another one: a query in Latin letters is not Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextLanguage {
    /// Detected (or declared by whoever wrote it).
    Known(LanguageTag),
    /// Too short or ambiguous to tell, written in this alphabet.
    Alphabet(Alphabet),
    /// Nothing to go on (digits, symbols, a script of many languages).
    Unknown,
}

/// The alphabets that tell the network's main languages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// English, French, Spanish, Turkish, German and most of Europe.
    Latin,
    /// Russian, Ukrainian, Bulgarian, Kazakh...
    Cyrillic,
    /// Arabic, Persian, Urdu.
    Arabic,
    /// Chinese.
    Han,
}

impl TextLanguage {
    /// The language of `text`, as far as it can be told.
    pub fn of(text: &str) -> TextLanguage {
        if let Some(tag) = detect_language(text) {
            return TextLanguage::Known(tag);
        }
        let alphabet = match whatlang::detect_script(text) {
            Some(whatlang::Script::Latin) => Alphabet::Latin,
            Some(whatlang::Script::Cyrillic) => Alphabet::Cyrillic,
            Some(whatlang::Script::Arabic) => Alphabet::Arabic,
            Some(whatlang::Script::Mandarin) => Alphabet::Han,
            _ => return TextLanguage::Unknown,
        };
        TextLanguage::Alphabet(alphabet)
    }

    /// Whether a text in `language` is certainly in another language than this one.
    pub fn rules_out(&self, language: &LanguageTag) -> bool {
        match self {
            TextLanguage::Known(tag) => tag != language,
            TextLanguage::Alphabet(alphabet) => {
                alphabet_of(language).is_some_and(|theirs| theirs != *alphabet)
            }
            TextLanguage::Unknown => false,
        }
    }
}

impl From<Option<LanguageTag>> for TextLanguage {
    fn from(tag: Option<LanguageTag>) -> TextLanguage {
        tag.map_or(TextLanguage::Unknown, TextLanguage::Known)
    }
}

/// The alphabet a language is written in, where that is one alphabet.
fn alphabet_of(language: &LanguageTag) -> Option<Alphabet> {
    let primary = language.as_str().split('-').next().unwrap_or_default();
    Some(match primary {
        "en" | "fr" | "es" | "tr" | "de" | "pt" | "it" | "nl" | "sv" | "da" | "fi" | "pl"
        | "cs" | "sk" | "hu" | "ro" | "hr" | "sl" | "lt" | "lv" | "et" | "id" | "vi" | "tl"
        | "az" | "uz" | "ms" | "sq" => Alphabet::Latin,
        "ru" | "uk" | "bg" | "be" | "mk" | "kk" | "ky" | "tg" | "mn" => Alphabet::Cyrillic,
        "ar" | "fa" | "ur" | "ps" => Alphabet::Arabic,
        "zh" => Alphabet::Han,
        _ => return None,
    })
}

/// The two-letter code for languages whatlang knows; `None` where ISO 639-1 has none.
fn iso_639_1(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Eng => "en",
        Lang::Cmn => "zh",
        Lang::Rus => "ru",
        Lang::Ara => "ar",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Tur => "tr",
        Lang::Deu => "de",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ukr => "uk",
        Lang::Pes => "fa",
        Lang::Urd => "ur",
        Lang::Vie => "vi",
        Lang::Tha => "th",
        Lang::Ind => "id",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Hin => "hi",
        Lang::Ben => "bn",
        Lang::Pol => "pl",
        Lang::Ces => "cs",
        Lang::Slk => "sk",
        Lang::Hun => "hu",
        Lang::Ron => "ro",
        Lang::Bul => "bg",
        Lang::Srp => "sr",
        Lang::Hrv => "hr",
        Lang::Ell => "el",
        Lang::Heb => "he",
        Lang::Uzb => "uz",
        Lang::Aze => "az",
        Lang::Kat => "ka",
        Lang::Hye => "hy",
        Lang::Nld => "nl",
        Lang::Swe => "sv",
        Lang::Dan => "da",
        Lang::Fin => "fi",
        Lang::Bel => "be",
        Lang::Tgl => "tl",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Slv => "sl",
        Lang::Khm => "km",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Amh => "am",
        Lang::Tam => "ta",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_main_languages_of_the_network() {
        let cases = [
            (
                "en",
                "A new process recovers lithium and cobalt from spent batteries at low cost.",
            ),
            ("zh", "一种低成本回收废旧锂电池中锂和钴的新工艺"),
            (
                "ru",
                "Новый способ переработки отработанных литий-ионных аккумуляторов с низкими затратами.",
            ),
            (
                "ar",
                "طريقة جديدة لإعادة تدوير بطاريات الليثيوم المستعملة بتكلفة منخفضة",
            ),
        ];
        for (expected, text) in cases {
            assert_eq!(
                detect_language(text).map(|tag| tag.to_string()).as_deref(),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn gives_up_on_text_without_language() {
        assert!(detect_language("12345 !!!").is_none());
        assert_eq!(TextLanguage::of("12345 !!!"), TextLanguage::Unknown);
    }

    #[test]
    fn a_text_too_short_to_tell_still_rules_out_other_alphabets() {
        let tag = |code: &str| LanguageTag::new(code).unwrap();
        let short = TextLanguage::of("solar pump");
        assert_eq!(short, TextLanguage::Alphabet(Alphabet::Latin));
        assert!(short.rules_out(&tag("zh")) && short.rules_out(&tag("ru")));
        assert!(!short.rules_out(&tag("en")) && !short.rules_out(&tag("fr")));
        assert!(
            !short.rules_out(&tag("ja")),
            "an alphabet says nothing of other scripts"
        );
        assert_eq!(TextLanguage::of("水泵"), TextLanguage::Known(tag("zh")));
        let english = TextLanguage::of(
            "A new process recovers lithium and cobalt from spent batteries at low cost.",
        );
        assert!(english.rules_out(&tag("fr")) && !english.rules_out(&tag("en")));
        assert!(!TextLanguage::Unknown.rules_out(&tag("zh")));
    }
}
