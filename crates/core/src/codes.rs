//! Closed vocabularies the data model refers to: ISO country and currency codes, the WIPO technology
//! fields and their areas, NACE sections. Kept as data so validation, fixtures and the UI share one copy.

/// ISO 3166-1 alpha-2 codes officially assigned (249), space-separated and sorted for binary search.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// ISO 4217 currency codes (active list, including funds and precious metals), sorted.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL";

fn in_sorted_list(list: &str, code: &str) -> bool {
    // Every entry has the same width, so the list is an array of fixed-size records.
    let width = code.len();
    if width == 0 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let entries: Vec<&str> = list.split(' ').collect();
    debug_assert!(
        entries.windows(2).all(|w| w[0] < w[1]),
        "code lists must stay sorted"
    );
    entries.binary_search(&code).is_ok()
}

/// Whether `code` is an assigned ISO 3166-1 alpha-2 country code (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && in_sorted_list(COUNTRIES, code)
}

/// Whether `code` is an ISO 4217 currency code (upper case).
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && in_sorted_list(CURRENCIES, code)
}

/// Every assigned country code, for facets and forms.
pub fn countries() -> impl Iterator<Item = &'static str> {
    COUNTRIES.split(' ')
}

/// Names of WIPO's 35 technology fields (IPC concordance, Schmoch 2008), indexed by field id − 1.
pub const TECHNOLOGY_FIELD_NAMES: [&str; 35] = [
    "Electrical machinery, apparatus, energy",
    "Audio-visual technology",
    "Telecommunications",
    "Digital communication",
    "Basic communication processes",
    "Computer technology",
    "IT methods for management",
    "Semiconductors",
    "Optics",
    "Measurement",
    "Analysis of biological materials",
    "Control",
    "Medical technology",
    "Organic fine chemistry",
    "Biotechnology",
    "Pharmaceuticals",
    "Macromolecular chemistry, polymers",
    "Food chemistry",
    "Basic materials chemistry",
    "Materials, metallurgy",
    "Surface technology, coating",
    "Micro-structural and nano-technology",
    "Chemical engineering",
    "Environmental technology",
    "Handling",
    "Machine tools",
    "Engines, pumps, turbines",
    "Textile and paper machines",
    "Other special machines",
    "Thermal processes and apparatus",
    "Mechanical elements",
    "Transport",
    "Furniture, games",
    "Other consumer goods",
    "Civil engineering",
];

/// The five WIPO areas that group the 35 fields; the matching model treats two fields of one area as related.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TechnologyArea {
    /// Fields 1–8.
    ElectricalEngineering,
    /// Fields 9–13.
    Instruments,
    /// Fields 14–24.
    Chemistry,
    /// Fields 25–32.
    MechanicalEngineering,
    /// Fields 33–35.
    OtherFields,
}

/// The area of a technology field id (1..=35), as the matching spec defines the grouping.
pub fn technology_area(field: u8) -> TechnologyArea {
    match field {
        1..=8 => TechnologyArea::ElectricalEngineering,
        9..=13 => TechnologyArea::Instruments,
        14..=24 => TechnologyArea::Chemistry,
        25..=32 => TechnologyArea::MechanicalEngineering,
        _ => TechnologyArea::OtherFields,
    }
}

/// NACE Rev. 2 sections, `A`..=`U`, with their short titles.
pub const NACE_SECTIONS: [(char, &str); 21] = [
    ('A', "Agriculture, forestry and fishing"),
    ('B', "Mining and quarrying"),
    ('C', "Manufacturing"),
    ('D', "Electricity, gas, steam and air conditioning supply"),
    (
        'E',
        "Water supply; sewerage, waste management and remediation",
    ),
    ('F', "Construction"),
    ('G', "Wholesale and retail trade; repair of motor vehicles"),
    ('H', "Transportation and storage"),
    ('I', "Accommodation and food service activities"),
    ('J', "Information and communication"),
    ('K', "Financial and insurance activities"),
    ('L', "Real estate activities"),
    ('M', "Professional, scientific and technical activities"),
    ('N', "Administrative and support service activities"),
    (
        'O',
        "Public administration and defence; compulsory social security",
    ),
    ('P', "Education"),
    ('Q', "Human health and social work activities"),
    ('R', "Arts, entertainment and recreation"),
    ('S', "Other service activities"),
    ('T', "Activities of households as employers"),
    (
        'U',
        "Activities of extraterritorial organisations and bodies",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_their_official_sizes() {
        assert_eq!(countries().count(), 249);
        assert!(CURRENCIES.split(' ').count() > 170);
    }

    #[test]
    fn lookups_accept_real_codes_and_reject_others() {
        for code in ["CN", "RU", "KZ", "AE", "PK"] {
            assert!(is_country(code), "{code}");
        }
        for code in ["XX", "cn", "C", "CHN", "", "ZZ"] {
            assert!(!is_country(code), "{code}");
        }
        assert!(is_currency("CNY") && is_currency("USD") && is_currency("KZT"));
        assert!(!is_currency("usd") && !is_currency("ABC") && !is_currency("US"));
    }

    #[test] // The spec's grouping: 1–8, 9–13, 14–24, 25–32, 33–35.
    fn areas_follow_the_spec_boundaries() {
        assert_eq!(technology_area(8), TechnologyArea::ElectricalEngineering);
        assert_eq!(technology_area(9), TechnologyArea::Instruments);
        assert_eq!(technology_area(24), TechnologyArea::Chemistry);
        assert_eq!(technology_area(25), TechnologyArea::MechanicalEngineering);
        assert_eq!(technology_area(33), TechnologyArea::OtherFields);
    }
}
