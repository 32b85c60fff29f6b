//! Text folding shared by documents and queries: width, case, traditional characters,
//! pinyin and the short forms of place names. Pure functions, no I/O.

use std::collections::HashMap;
use std::sync::LazyLock;

use pinyin::{ToPinyin, ToPinyinMulti};

/// Traditional → simplified pairs kept as data beside this file.
static TRADITIONAL: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    include_str!("traditional.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut chars = l.split('\t').map(|c| c.chars().next());
            Some((chars.next()??, chars.next()??))
        })
        .collect()
});

/// Folds text the way both engines should see it: full-width ASCII to half-width,
/// lower case, traditional characters to simplified, runs of whitespace to one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        let c = TRADITIONAL.get(&c).copied().unwrap_or(c);
        if c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；' | '+') {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// True for the characters of Chinese words (CJK unified ideographs and extension A).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Toneless pinyin and initials of a Chinese word, e.g. 苹果 → ("pingguo", "pg");
/// `None` unless every character is Chinese and has a reading.
pub fn pinyin_of(word: &str) -> Option<(String, String)> {
    if word.is_empty() || !word.chars().all(is_han) {
        return None;
    }
    let mut full = String::new();
    let mut initials = String::new();
    for p in word.to_pinyin() {
        let p = p?;
        full.push_str(p.plain());
        initials.push_str(p.first_letter());
    }
    Some((full, initials))
}

/// The toneless readings of a Chinese word with their initials, every character read each
/// way the pinyin crate knows it (长 is chang and zhang, 藏 cang and zang): the usual
/// reading first, at most `most`. Empty unless every character is Chinese and has one.
pub fn readings(word: &str, most: usize) -> Vec<(String, String)> {
    if word.is_empty() || !word.chars().all(is_han) {
        return Vec::new();
    }
    let mut out = vec![(String::new(), String::new())];
    for multi in word.to_pinyin_multi() {
        let Some(multi) = multi else {
            return Vec::new();
        };
        let mut plain: Vec<&str> = Vec::new();
        for p in multi {
            if !plain.contains(&p.plain()) {
                plain.push(p.plain());
            }
        }
        out = out
            .iter()
            .flat_map(|(full, initials)| {
                plain
                    .iter()
                    .map(move |p| (format!("{full}{p}"), format!("{initials}{}", &p[..1])))
            })
            .take(most)
            .collect();
    }
    out
}

/// The initials of `word` read as `pinyin` (藏香猪 read zangxiangzhu is zxz), when one of
/// its readings spells it.
pub fn initials_read_as(word: &str, pinyin: &str) -> Option<String> {
    readings(word, 64)
        .into_iter()
        .find(|(full, _)| full == pinyin)
        .map(|(_, initials)| initials)
}

/// Administrative suffixes, longest first, that people leave out: 道孚县 is "道孚".
const PLACE_SUFFIXES: &[&str] = &[
    "藏族羌族自治州",
    "藏族自治州",
    "彝族自治州",
    "自治州",
    "街道",
    "省",
    "市",
    "州",
    "县",
    "区",
    "镇",
    "乡",
    "社区",
    "村",
];

/// The short name of a place (道孚县 → 道孚, 甘孜藏族自治州 → 甘孜, 盘石村 → 盘石), if it
/// has one of at least two characters.
pub fn short_place_name(name: &str) -> Option<&str> {
    PLACE_SUFFIXES.iter().find_map(|suffix| {
        let short = name.strip_suffix(suffix)?;
        (short.chars().count() >= 2).then_some(short)
    })
}

/// Escapes text for HTML and wraps the byte ranges in `<em>`; ranges must lie on
/// character boundaries, be sorted and not overlap (others are ignored).
pub fn highlight_html(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * 9);
    let mut at = 0;
    for &(from, to) in ranges {
        if from < at || to <= from || to > text.len() {
            continue;
        }
        if !text.is_char_boundary(from) || !text.is_char_boundary(to) {
            continue;
        }
        escape_into(&mut out, &text[at..from]);
        out.push_str("<em>");
        escape_into(&mut out, &text[from..to]);
        out.push_str("</em>");
        at = to;
    }
    escape_into(&mut out, &text[at..]);
    out
}

/// Marks an engine puts around matches (private-use characters, never typed by people).
pub const MARK_START: char = '\u{E000}';
/// See [`MARK_START`].
pub const MARK_END: char = '\u{E001}';

/// Turns text with matches between [`MARK_START`] and [`MARK_END`] into escaped HTML with `<em>`.
pub fn marked_to_html(marked: &str) -> String {
    let mut clean = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let mut open = None;
    for c in marked.chars() {
        match c {
            MARK_START => open = Some(clean.len()),
            MARK_END => {
                if let Some(from) = open.take() {
                    ranges.push((from, clean.len()));
                }
            }
            c => clean.push(c),
        }
    }
    highlight_html(&clean, &ranges)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_simplifies_and_narrows() {
        assert_eq!(fold("  蘋果　ＰＧ "), "苹果 pg");
        assert_eq!(fold("川貝母,蟲草"), "川贝母 虫草");
        assert_eq!(fold("Fuji Apples"), "fuji apples");
    }

    #[test]
    fn pinyin_and_initials() {
        assert_eq!(pinyin_of("苹果"), Some(("pingguo".into(), "pg".into())));
        assert_eq!(pinyin_of("道孚"), Some(("daofu".into(), "df".into())));
        assert_eq!(pinyin_of("apple"), None);
        assert_eq!(pinyin_of(""), None);
    }

    #[test]
    fn words_are_read_every_way_their_characters_are() {
        let read = readings("香长", 8);
        assert_eq!(
            read[0].0, "xiangzhang",
            "the pinyin crate's usual reading first"
        );
        assert!(
            read.iter()
                .any(|(full, initials)| full == "xiangchang" && initials == "xc")
        );
        assert_eq!(
            initials_read_as("藏香猪", "zangxiangzhu").as_deref(),
            Some("zxz")
        );
        assert_eq!(
            initials_read_as("藏香猪", "cangxiangzhu").as_deref(),
            Some("cxz")
        );
        assert_eq!(initials_read_as("藏香猪", "zangxiang"), None);
        assert!(readings("apple", 8).is_empty());
        assert_eq!(readings("长长长长长长", 5).len(), 5);
    }

    #[test]
    fn places_have_short_names() {
        assert_eq!(short_place_name("道孚县"), Some("道孚"));
        assert_eq!(short_place_name("甘孜藏族自治州"), Some("甘孜"));
        assert_eq!(short_place_name("阆中市"), Some("阆中"));
        assert_eq!(short_place_name("保宁街道"), Some("保宁"));
        assert_eq!(short_place_name("孜龙村"), Some("孜龙"));
        assert_eq!(short_place_name("新村"), None);
        assert_eq!(short_place_name("四川省"), Some("四川"));
    }

    #[test]
    fn highlights_escape_everything_else() {
        assert_eq!(
            highlight_html("<b>红富士</b>苹果", &[(16, 22)]),
            "&lt;b&gt;红富士&lt;/b&gt;<em>苹果</em>"
        );
        assert_eq!(highlight_html("a&b", &[(5, 9)]), "a&amp;b");
        assert_eq!(
            marked_to_html("道孚\u{E000}虫草\u{E001}<x>"),
            "道孚<em>虫草</em>&lt;x&gt;"
        );
    }

    proptest! {
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
        }

        #[test]
        fn highlighting_never_leaks_markup(s in "\\PC{0,40}", a in 0usize..60, b in 0usize..60) {
            let out = highlight_html(&s, &[(a.min(b), a.max(b))]);
            let stripped = out.replace("<em>", "").replace("</em>", "");
            prop_assert!(!stripped.contains('<') && !stripped.contains('>'));
        }
    }
}
