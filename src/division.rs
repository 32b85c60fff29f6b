//! Administrative division codes: six digits (GB/T 2260) for province, prefecture and county,
//! twelve (the statistical division code) for township and village. Pure functions of the
//! code; the names and places behind the codes are `catalog::regions`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Administrative level of a region code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province = 1,
    Prefecture = 2,
    County = 3,
    Township = 4,
    Village = 5,
}

impl RegionLevel {
    /// From the stored number 1–5.
    pub fn from_number(n: i16) -> Option<Self> {
        Some(match n {
            1 => RegionLevel::Province,
            2 => RegionLevel::Prefecture,
            3 => RegionLevel::County,
            4 => RegionLevel::Township,
            5 => RegionLevel::Village,
            _ => return None,
        })
    }

    /// How many leading digits of a code identify a region of this level.
    pub fn prefix_len(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::Prefecture => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        }
    }
}

/// A county's rank among those 乡村振兴 policy helps first (重点帮扶县).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceKey {
    /// One of the 160 国家乡村振兴重点帮扶县.
    National,
    /// A 省乡村振兴重点帮扶县.
    Provincial,
}

impl AssistanceKey {
    /// From the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "national" => Some(AssistanceKey::National),
            "provincial" => Some(AssistanceKey::Provincial),
            _ => None,
        }
    }
}

/// Works out the level of a division code: six digits (GB/T 2260) for province,
/// prefecture and county, twelve (the statistical code) for township and village.
pub fn region_level(code: &str) -> Option<RegionLevel> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        6 if &code[2..] == "0000" => Some(RegionLevel::Province),
        6 if &code[4..] == "00" => Some(RegionLevel::Prefecture),
        6 => Some(RegionLevel::County),
        12 if &code[9..] == "000" && &code[6..9] != "000" => Some(RegionLevel::Township),
        12 if &code[9..] != "000" && &code[6..9] != "000" => Some(RegionLevel::Village),
        _ => None,
    }
}

/// True when region `inner` is `outer` or lies inside it.
pub fn region_contains(outer: &str, inner: &str) -> bool {
    match (region_level(outer), region_level(inner)) {
        (Some(lo), Some(li)) if li >= lo => {
            let n = lo.prefix_len();
            inner[..n] == outer[..n]
        }
        _ => false,
    }
}

/// The code of the county that contains `code` (itself for a county), if the code is county level or below.
pub fn county_of(code: &str) -> Option<&str> {
    match region_level(code)? {
        RegionLevel::County | RegionLevel::Township | RegionLevel::Village => Some(&code[..6]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn region_codes_know_their_level_and_containment() {
        assert_eq!(region_level("510000"), Some(RegionLevel::Province));
        assert_eq!(region_level("511700"), Some(RegionLevel::Prefecture));
        assert_eq!(region_level("511723"), Some(RegionLevel::County));
        assert_eq!(region_level("511723100000"), Some(RegionLevel::Township));
        assert_eq!(region_level("511723100201"), Some(RegionLevel::Village));
        assert_eq!(region_level("51172"), None);
        assert_eq!(region_level("5117a3"), None);
        assert!(region_contains("510000", "513326"));
        assert!(region_contains("511723", "511723100201"));
        assert!(region_contains("511723", "511723"));
        assert!(!region_contains("513326", "511723100201"));
        assert!(!region_contains("511723100201", "511723"));
        assert_eq!(county_of("513326203201"), Some("513326"));
        assert_eq!(county_of("513300"), None);
    }

    proptest! {
        #[test]
        fn containment_follows_code_prefixes(county in 100000u32..999999, town in 1u32..999, village in 1u32..999) {
            let county = format!("{county:06}");
            prop_assume!(region_level(&county) == Some(RegionLevel::County));
            let v = format!("{county}{town:03}{village:03}");
            prop_assert!(region_contains(&county, &v));
            let province = format!("{}0000", &county[..2]);
            prop_assert!(region_contains(&province, &v));
            prop_assert!(!region_contains(&v, &county));
        }
    }
}
