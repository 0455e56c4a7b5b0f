//! Small validated values. Each has a private field and a constructor that enforces its rule, so a
//! value that exists is valid; serde goes through the same constructor.

use serde::{Deserialize, Serialize};

use crate::codes;

macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and wraps it; `None` when it breaks the rule.
            pub fn new(text: &str) -> Option<$name> {
                let check: fn(&str) -> bool = $check;
                check(text).then(|| $name(text.to_owned()))
            }

            /// The code as written in JSON.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                $name::new(&text).ok_or_else(|| format!("`{text}` is not a valid {}", stringify!($name)))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// An ISO 3166-1 alpha-2 country code, upper case.
    Country,
    codes::is_country
);
checked_string!(
    /// An ISO 4217 currency code, upper case.
    Currency,
    codes::is_currency
);
checked_string!(
    /// A BCP-47 primary language subtag (ISO 639: two or three lower-case letters).
    /// Regions and scripts are not kept: analysis and matching work per language.
    LanguageTag,
    |text| (2..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase())
);

macro_rules! checked_number {
    ($(#[$meta:meta])* $name:ident, $range:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "u8", into = "u8")]
        pub struct $name(u8);

        impl $name {
            /// The allowed values.
            pub const RANGE: std::ops::RangeInclusive<u8> = $range;

            /// Checks the range and wraps it.
            pub fn new(value: u8) -> Option<$name> {
                Self::RANGE.contains(&value).then_some($name(value))
            }

            /// The number itself.
            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl TryFrom<u8> for $name {
            type Error = String;
            fn try_from(value: u8) -> Result<Self, String> {
                $name::new(value).ok_or_else(|| {
                    format!("{value} is outside {}..={}", Self::RANGE.start(), Self::RANGE.end())
                })
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

checked_number!(
    /// Technology Readiness Level, 1 (basic principles) to 9 (proven in operation).
    Trl,
    1..=9
);
checked_number!(
    /// One of WIPO's 35 technology fields (see `codes::TECHNOLOGY_FIELD_NAMES`).
    TechnologyField,
    1..=35
);
checked_number!(
    /// A UN Sustainable Development Goal, 1 to 17.
    Sdg,
    1..=17
);

impl TechnologyField {
    /// The WIPO area the field belongs to.
    pub fn area(self) -> codes::TechnologyArea {
        codes::technology_area(self.0)
    }

    /// The field's English name.
    pub fn name(self) -> &'static str {
        codes::TECHNOLOGY_FIELD_NAMES[usize::from(self.0) - 1]
    }
}

/// A NACE Rev. 2 section letter, `A`..=`U`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sector(char);

impl Sector {
    /// Checks the letter and wraps it.
    pub fn new(text: &str) -> Option<Sector> {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(letter @ 'A'..='U'), None) => Some(Sector(letter)),
            _ => None,
        }
    }

    /// The section letter.
    pub fn letter(self) -> char {
        self.0
    }
}

impl TryFrom<String> for Sector {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Sector::new(&text).ok_or_else(|| format!("`{text}` is not a NACE section letter A..U"))
    }
}

impl From<Sector> for String {
    fn from(value: Sector) -> String {
        value.0.to_string()
    }
}

impl std::fmt::Display for Sector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_enforce_their_rules() {
        assert!(Trl::new(0).is_none() && Trl::new(10).is_none() && Trl::new(9).is_some());
        assert!(TechnologyField::new(35).is_some() && TechnologyField::new(36).is_none());
        assert!(
            Sector::new("U").is_some() && Sector::new("V").is_none() && Sector::new("AB").is_none()
        );
        assert!(LanguageTag::new("zh").is_some() && LanguageTag::new("zh-CN").is_none());
        assert!(Country::new("KZ").is_some() && Country::new("kz").is_none());
    }

    #[test]
    fn serde_rejects_what_the_constructor_rejects() {
        assert!(serde_json::from_str::<Trl>("12").is_err());
        assert!(serde_json::from_str::<Country>("\"QQ\"").is_err());
        assert_eq!(
            serde_json::to_string(&Sector::new("C").unwrap()).unwrap(),
            "\"C\""
        );
    }
}
