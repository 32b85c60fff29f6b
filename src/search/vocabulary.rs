//! What search knows about words: the category taxonomy with its synonyms (one group of
//! equivalent names per category) and the places, read from the database and kept in
//! memory. Splitting a query into terms and telling product words from place words
//! happens here, without I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::text::{fold, is_han, pinyin_of, short_place_name};

/// A category as search sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryEntry {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// Where it stands among its siblings.
    pub position: i32,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    /// Every other name: dialect, traditional characters, English.
    pub aliases: Vec<String>,
}

/// A region as search sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceEntry {
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
    /// Its English name, for pages read in English.
    pub name_en: String,
}

impl PlaceEntry {
    /// Its name in the reader's language.
    pub fn name_in(&self, english: bool) -> &str {
        if english { &self.name_en } else { &self.name }
    }
}

/// What a query word is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TermKind {
    /// A product: a category name or one of its synonyms.
    Product,
    /// A place: a region name, full or short.
    Place,
    /// Anything else (a variety, a grade, a producer's name…).
    Other,
}

/// One word of a query with the other spellings that mean the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// As typed, folded.
    pub text: String,
    pub kind: TermKind,
    /// Synonyms to try besides `text` (never single characters, which are too ambiguous
    /// in running text: 米 is also a metre).
    pub synonyms: Vec<String>,
}

/// The taxonomy, its synonyms and the places, ready for queries and documents.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    categories: HashMap<i64, CategoryEntry>,
    /// Folded names of each category (canonical first).
    names: HashMap<i64, Vec<String>>,
    /// Folded word, its pinyin or its initials → categories it names.
    products: HashMap<String, BTreeSet<i64>>,
    places: HashMap<String, PlaceEntry>,
    /// Folded place name (full or short, or its pinyin) → region codes.
    place_words: HashMap<String, BTreeSet<String>>,
    /// Longest known Chinese word, in characters, for splitting queries.
    longest: usize,
}

impl Vocabulary {
    /// Builds the vocabulary from the taxonomy and the regions.
    pub fn new(categories: Vec<CategoryEntry>, places: Vec<PlaceEntry>) -> Self {
        let mut v = Vocabulary::default();
        for c in categories {
            let mut names: Vec<String> = Vec::new();
            for n in std::iter::once(&c.name_zh)
                .chain(std::iter::once(&c.name_en))
                .chain(c.aliases.iter())
            {
                let f = fold(n);
                if !f.is_empty() && !names.contains(&f) {
                    names.push(f);
                }
            }
            for n in &names {
                v.products.entry(n.clone()).or_default().insert(c.id);
                if let Some((py, initials)) = pinyin_of(n) {
                    v.products.entry(py).or_default().insert(c.id);
                    if initials.len() >= 2 {
                        v.products.entry(initials).or_default().insert(c.id);
                    }
                }
                v.note_length(n);
            }
            v.names.insert(c.id, names);
            v.categories.insert(c.id, c);
        }
        for p in places {
            for word in place_words(&p.name) {
                v.note_length(&word);
                v.place_words
                    .entry(word)
                    .or_default()
                    .insert(p.code.clone());
            }
            v.places.insert(p.code.clone(), p);
        }
        v
    }

    /// The vocabulary of the taxonomy and regions shipped with qudao, with categories
    /// numbered from 1 in file order (as a fresh database numbers them): the counties and
    /// above, and the townships and villages of the demo market's counties.
    pub fn from_reference() -> Self {
        let taxonomy = crate::catalog::categories::reference();
        let ids: HashMap<String, i64> = taxonomy
            .iter()
            .enumerate()
            .map(|(i, e)| (e.slug.clone(), i as i64 + 1))
            .collect();
        let categories = taxonomy
            .iter()
            .enumerate()
            .map(|(position, e)| CategoryEntry {
                id: ids[&e.slug],
                parent_id: e.parent.as_ref().map(|p| ids[p]),
                position: position as i32,
                slug: e.slug.clone(),
                name_zh: e.zh.clone(),
                name_en: e.en.clone(),
                aliases: e.aliases.iter().chain(e.english.iter()).cloned().collect(),
            })
            .collect();
        const DEMO_COUNTIES: [&str; 4] = ["511723", "513326", "513336", "511381"];
        let places = crate::catalog::regions::reference_rows()
            .iter()
            .filter(|r| r.code.len() == 6 || DEMO_COUNTIES.contains(&&r.code[..6]))
            .map(|r| PlaceEntry {
                code: r.code.clone(),
                parent_code: r.parent_code.clone(),
                name: r.name.clone(),
                name_en: r.name_en.clone(),
            })
            .collect();
        Vocabulary::new(categories, places)
    }

    fn note_length(&mut self, word: &str) {
        if word.chars().all(is_han) {
            self.longest = self.longest.max(word.chars().count());
        }
    }

    /// A category by id.
    pub fn category(&self, id: i64) -> Option<&CategoryEntry> {
        self.categories.get(&id)
    }

    /// The categories at the top of the taxonomy, in their order.
    pub fn top_level(&self) -> Vec<&CategoryEntry> {
        let mut top: Vec<&CategoryEntry> = self
            .categories
            .values()
            .filter(|c| c.parent_id.is_none())
            .collect();
        top.sort_by_key(|c| (c.position, c.id));
        top
    }

    /// A category and its ancestors, root first.
    pub fn category_path(&self, id: i64) -> Vec<&CategoryEntry> {
        let mut path = Vec::new();
        let mut next = Some(id);
        while let Some(c) = next.and_then(|id| self.categories.get(&id)) {
            if path.len() > 8 {
                break;
            }
            path.push(c);
            next = c.parent_id;
        }
        path.reverse();
        path
    }

    /// Every name of a category and of its ancestors, folded and without repeats:
    /// what a listing of that category should be found by.
    pub fn keywords(&self, category_id: i64) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.category_path(category_id).into_iter().rev() {
            for n in self.names.get(&c.id).into_iter().flatten() {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        out
    }

    /// A region by code.
    pub fn place(&self, code: &str) -> Option<&PlaceEntry> {
        self.places.get(code)
    }

    /// A region and its ancestors, province first.
    pub fn place_path(&self, code: &str) -> Vec<&PlaceEntry> {
        let mut path = Vec::new();
        let mut next = Some(code.to_string());
        while let Some(p) = next.as_deref().and_then(|c| self.places.get(c)) {
            if path.len() > 6 {
                break;
            }
            path.push(p);
            next = p.parent_code.clone();
        }
        path.reverse();
        path
    }

    /// Synonym groups for an engine's own synonym setting: each name maps to the other
    /// names of its category. Single characters are left out (see [`QueryTerm::synonyms`]).
    pub fn synonyms(&self) -> BTreeMap<String, Vec<String>> {
        // A name that is a word of another category's name ("potato" in "sweet potato")
        // would make every query for this category find that one too.
        let words_of_others = |id: i64, n: &str| {
            self.names.iter().any(|(other, names)| {
                *other != id && names.iter().any(|m| m != n && m.split(' ').any(|w| w == n))
            })
        };
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, names) in &self.names {
            let usable: Vec<&String> = names
                .iter()
                .filter(|n| usable_synonym(n) && !words_of_others(*id, n))
                .collect();
            for n in &usable {
                let others = out.entry((*n).clone()).or_default();
                for o in &usable {
                    if o != n && !others.contains(o) {
                        others.push((*o).clone());
                    }
                }
            }
        }
        out.retain(|_, v| !v.is_empty());
        for v in out.values_mut() {
            v.sort();
        }
        out
    }

    /// Splits a query into words: spaces first, then runs of Chinese characters by the
    /// longest known product or place word; unknown stretches stay whole.
    pub fn segment(&self, query: &str) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in fold(query).split(' ').filter(|c| !c.is_empty()) {
            let chars: Vec<char> = chunk.chars().collect();
            if !chars.iter().all(|c| is_han(*c)) || self.longest == 0 {
                out.push(chunk.to_string());
                continue;
            }
            let mut unknown = String::new();
            let mut i = 0;
            while i < chars.len() {
                let found = (2..=self.longest.min(chars.len() - i)).rev().find(|&len| {
                    let w: String = chars[i..i + len].iter().collect();
                    self.products.contains_key(&w) || self.place_words.contains_key(&w)
                });
                match found {
                    Some(len) => {
                        if !unknown.is_empty() {
                            out.push(std::mem::take(&mut unknown));
                        }
                        out.push(chars[i..i + len].iter().collect());
                        i += len;
                    }
                    None => {
                        unknown.push(chars[i]);
                        i += 1;
                    }
                }
            }
            if !unknown.is_empty() {
                out.push(unknown);
            }
        }
        out
    }

    /// The words of a query with what each is about and its synonyms, at most `limit` words.
    pub fn terms(&self, query: &str, limit: usize) -> Vec<QueryTerm> {
        let mut out: Vec<QueryTerm> = Vec::new();
        for word in self.segment(query) {
            if out.len() >= limit {
                break;
            }
            if out.iter().any(|t| t.text == word) {
                continue;
            }
            let (kind, synonyms) = if let Some(ids) = self.products.get(&word) {
                let mut syn: Vec<String> = ids
                    .iter()
                    .flat_map(|id| self.names.get(id).into_iter().flatten())
                    .filter(|n| **n != word && usable_synonym(n))
                    .cloned()
                    .collect();
                syn.sort();
                syn.dedup();
                (TermKind::Product, syn)
            } else if self.place_words.contains_key(&word) {
                (TermKind::Place, Vec::new())
            } else {
                (TermKind::Other, Vec::new())
            };
            out.push(QueryTerm {
                text: word,
                kind,
                synonyms,
            });
        }
        out
    }
}

/// A synonym worth expanding to: more than one character, and not a Latin word that
/// only repeats another (plurals are matched by the engines themselves).
fn usable_synonym(word: &str) -> bool {
    word.chars().count() > 1
}

/// The words a place is known by: its full name, its short name, and the pinyin of both.
pub fn place_words(name: &str) -> Vec<String> {
    let full = fold(name);
    let mut out = vec![full.clone()];
    if let Some(short) = short_place_name(&full) {
        out.push(short.to_string());
    }
    let pinyin: Vec<String> = out
        .iter()
        .filter_map(|w| pinyin_of(w).map(|(p, _)| p))
        .collect();
    out.extend(pinyin);
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The shipped taxonomy and regions.
    pub fn sample() -> Vocabulary {
        Vocabulary::from_reference()
    }

    #[test]
    fn the_top_of_the_taxonomy_comes_in_its_order() {
        let reference = crate::catalog::categories::reference();
        let expected: Vec<&str> = reference
            .iter()
            .filter(|e| e.parent.is_none())
            .map(|e| e.slug.as_str())
            .collect();
        let v = sample();
        let top: Vec<&str> = v.top_level().iter().map(|c| c.slug.as_str()).collect();
        assert!(expected.len() > 3);
        assert_eq!(top, expected);
    }

    #[test]
    fn dialect_words_are_product_words_with_their_synonyms() {
        let v = sample();
        let t = &v.terms("洋芋", 8)[0];
        assert_eq!(t.kind, TermKind::Product);
        for w in ["马铃薯", "土豆", "山药蛋"] {
            assert!(t.synonyms.iter().any(|s| s == w), "{w} in {:?}", t.synonyms);
        }
        let t = &v.terms("红苕", 8)[0];
        assert!(t.synonyms.iter().any(|s| s == "红薯"));
        let t = &v.terms("苞谷", 8)[0];
        assert!(t.synonyms.iter().any(|s| s == "玉米"));
    }

    #[test]
    fn pinyin_initials_and_traditional_name_the_product() {
        let v = sample();
        for q in ["pingguo", "pg", "蘋果", "apple"] {
            let t = &v.terms(q, 8)[0];
            assert_eq!(t.kind, TermKind::Product, "{q}");
            assert!(
                t.text == "苹果" || t.synonyms.iter().any(|s| s == "苹果"),
                "{q}"
            );
        }
    }

    #[test]
    fn queries_split_into_place_and_product() {
        let v = sample();
        assert_eq!(v.segment("道孚虫草"), ["道孚", "虫草"]);
        assert_eq!(v.segment("道孚 虫草"), ["道孚", "虫草"]);
        assert_eq!(v.segment("开江县红富士苹果"), ["开江县", "红富士", "苹果"]);
        let kinds: Vec<TermKind> = v.terms("道孚虫草", 8).iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TermKind::Place, TermKind::Product]);
    }

    #[test]
    fn single_characters_are_never_synonyms() {
        let v = sample();
        assert!(
            v.synonyms()
                .values()
                .flatten()
                .all(|s| s.chars().count() > 1)
        );
        assert!(!v.terms("大米", 8)[0].synonyms.contains(&"米".to_string()));
        assert!(v.synonyms()["虫草"].contains(&"冬虫夏草".to_string()));
    }

    #[test]
    fn a_word_of_another_products_name_is_not_a_synonym() {
        let v = sample();
        let syn = v.synonyms();
        // "potato" is a word of "sweet potato": as a synonym of 洋芋 it would find 红苕.
        assert!(
            !syn["洋芋"].contains(&"potato".to_string()),
            "{:?}",
            syn["洋芋"]
        );
        assert!(syn["洋芋"].contains(&"土豆".to_string()));
        assert!(syn["红苕"].contains(&"sweet potato".to_string()));
    }

    #[test]
    fn keywords_include_ancestors() {
        let v = sample();
        let potato = v
            .categories
            .values()
            .find(|c| c.name_zh == "马铃薯")
            .unwrap()
            .id;
        let k = v.keywords(potato);
        assert!(k.contains(&"洋芋".to_string()) && k.contains(&"蔬菜".to_string()));
        assert_eq!(k[0], "马铃薯");
    }

    proptest! {
        #[test]
        fn segmenting_keeps_every_character(q in "[道孚虫草开江县苹果大米红苕 a-z]{0,20}") {
            let v = sample();
            let joined: String = v.segment(&q).concat();
            let expected: String = fold(&q).chars().filter(|c| *c != ' ').collect();
            prop_assert_eq!(joined, expected);
        }
    }
}
