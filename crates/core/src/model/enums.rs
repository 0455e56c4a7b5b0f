//! Closed enumerations of the data model. Each knows its JSON spelling, so validation can parse loose
//! input strings and report the allowed values, and SQL columns and facets use the same words.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling used in JSON, SQL columns and index facets.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// Parses the JSON spelling; `None` for anything else (case-sensitive, like the JSON).
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The allowed spellings, for error messages.
            pub fn allowed() -> String {
                [$($text,)+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Which side of a deal a listing is on.
    Kind {
        /// A technology its owner will license, sell, co-develop, manufacture or invest in.
        Offer => "offer",
        /// A technical problem, a technology to acquire or a partner to find.
        Need => "need",
    }
}

string_enum! {
    /// Lifecycle state (data model, "Lifecycle"); only `published` and unexpired listings are public.
    Status {
        /// Private to its owner, may be incomplete (no contact yet).
        Draft => "draft",
        /// Public (except the contact) and a match candidate until it expires.
        Published => "published",
        /// Taken down by its owner; reversible by republishing.
        Withdrawn => "withdrawn",
        /// Passed `expires_at`; set by the server.
        Expired => "expired",
    }
}

string_enum! {
    /// Intellectual-property protection of an offer.
    Ipr {
        /// No protection.
        None => "none",
        /// Protected as a trade secret.
        SecretKnowHow => "secret_know_how",
        /// Patent applied for.
        Applied => "applied",
        /// Patent granted.
        Granted => "granted",
    }
}

string_enum! {
    /// Forms of cooperation: what an offer's owner will do, or what a need's owner accepts.
    Cooperation {
        /// Licence agreement.
        Licence => "licence",
        /// Sale of the rights.
        Assignment => "assignment",
        /// Research or technical cooperation.
        JointDevelopment => "joint_development",
        /// Development on commission.
        CommissionedDevelopment => "commissioned_development",
        /// Commercial agreement with technical assistance, consulting, services.
        TechnicalAssistance => "technical_assistance",
        /// Financial agreement, technology as equity.
        Investment => "investment",
        /// Manufacturing agreement.
        Manufacturing => "manufacturing",
    }
}

string_enum! {
    /// What kind of organisation owns a listing; the partner signal compares them.
    OrganisationKind {
        /// Small or medium-sized enterprise.
        Sme => "sme",
        /// Large company.
        LargeCompany => "large_company",
        /// University.
        University => "university",
        /// Research institute.
        ResearchInstitute => "research_institute",
        /// Public body.
        PublicBody => "public_body",
        /// Anything else.
        Other => "other",
    }
}

string_enum! {
    /// Head-count band of an organisation.
    OrganisationSize {
        /// 1 to 10 people.
        Micro => "1-10",
        /// 11 to 49 people.
        Small => "11-49",
        /// 50 to 249 people.
        Medium => "50-249",
        /// 250 people or more.
        Large => "250+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inverts_as_str() {
        for value in Cooperation::ALL {
            assert_eq!(Cooperation::parse(value.as_str()), Some(*value));
        }
        assert_eq!(
            OrganisationSize::parse("250+"),
            Some(OrganisationSize::Large)
        );
        assert_eq!(Kind::parse("Offer"), None);
    }

    #[test]
    fn serde_uses_the_json_spelling() {
        assert_eq!(
            serde_json::to_string(&Ipr::SecretKnowHow).unwrap(),
            "\"secret_know_how\""
        );
        assert_eq!(
            serde_json::from_str::<OrganisationSize>("\"1-10\"").unwrap(),
            OrganisationSize::Micro
        );
    }
}
