//! Interface languages: one small TOML table per language, embedded in the binary. English and
//! Chinese are complete; Russian and Arabic carry what has been translated so far and fall back to
//! English key by key, so adding a language is adding a file. Arabic pages are laid out right to
//! left.
//!
//! The language comes from `?lang=` (this request only), else the `sm_lang` cookie that the
//! switcher sets, else `Accept-Language`, else English.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{HeaderMap, Uri, header};

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (complete; the fallback).
    En,
    /// Simplified Chinese (complete).
    Zh,
    /// Russian (partial).
    Ru,
    /// Arabic (partial; right to left).
    Ar,
}

impl Lang {
    /// Every language, in the switcher's order.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Zh, Lang::Ru, Lang::Ar];

    /// BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
            Lang::Ru => "ru",
            Lang::Ar => "ar",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
            Lang::Ru => "Русский",
            Lang::Ar => "العربية",
        }
    }

    /// A code (or a tag such as `zh-CN`) to a language, if the interface has it.
    pub fn parse(text: &str) -> Option<Lang> {
        let primary = text.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.code() == primary)
    }

    /// Writing direction of the interface.
    pub fn dir(self) -> &'static str {
        if self == Lang::Ar { "rtl" } else { "ltr" }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("i18n/en.toml"),
            Lang::Zh => include_str!("i18n/zh.toml"),
            Lang::Ru => include_str!("i18n/ru.toml"),
            Lang::Ar => include_str!("i18n/ar.toml"),
        }
    }
}

type Table = HashMap<String, String>;

fn tables() -> &'static HashMap<Lang, Table> {
    static TABLES: OnceLock<HashMap<Lang, Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                // The files are embedded and checked by the tests below; a broken one shows keys.
                let table: Table = toml::from_str(lang.source()).unwrap_or_default();
                (lang, table)
            })
            .collect()
    })
}

/// The interface text `key` in `lang`, falling back to English, then to the key itself.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let tables = tables();
    tables
        .get(&lang)
        .and_then(|table| table.get(key))
        .or_else(|| tables.get(&Lang::En).and_then(|table| table.get(key)))
        .map_or("", String::as_str)
}

/// Writing direction of text in a listing's language (`ar`, `fa`, `he`, `ur` are right to left).
pub fn text_dir(language: &str) -> &'static str {
    let primary = language.split('-').next().unwrap_or(language);
    if matches!(primary, "ar" | "fa" | "he" | "ur") {
        "rtl"
    } else {
        "ltr"
    }
}

/// The language of a request: `?lang=`, the cookie, `Accept-Language`, English.
pub fn negotiate(uri: &Uri, headers: &HeaderMap) -> Lang {
    let from_query = uri.query().and_then(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.strip_prefix("lang="))
            .find_map(Lang::parse)
    });
    from_query
        .or_else(|| {
            super::session::cookie_value(headers, super::session::LANG_COOKIE).and_then(Lang::parse)
        })
        .or_else(|| {
            let accept = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            accept
                .split(',')
                .map(|item| item.split(';').next().unwrap_or("").trim())
                .find_map(Lang::parse)
        })
        .unwrap_or(Lang::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses_and_chinese_is_complete() {
        for lang in Lang::ALL {
            let table: Table = toml::from_str(lang.source()).unwrap();
            let english = &tables()[&Lang::En];
            for key in table.keys() {
                assert!(
                    english.contains_key(key),
                    "{key} of {lang:?} is not in en.toml"
                );
            }
        }
        let english = &tables()[&Lang::En];
        let chinese = &tables()[&Lang::Zh];
        for key in english.keys() {
            assert!(chinese.contains_key(key), "zh.toml lacks {key}");
        }
    }

    #[test]
    fn falls_back_to_english() {
        assert_eq!(t(Lang::Zh, "nav.search"), "搜索");
        assert_eq!(t(Lang::Ar, "no.such.key"), "");
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("de"), None);
        assert_eq!(text_dir("ar"), "rtl");
        assert_eq!(text_dir("zh"), "ltr");
    }
}
