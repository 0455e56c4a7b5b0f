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
    }
}
