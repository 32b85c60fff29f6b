//! What search knows about words: the category taxonomy with its synonyms (one group of
//! equivalent names per category) and the places, read from the database and kept in
//! memory. Splitting a query into terms and telling product words from place words
//! happens here, without I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aho_corasick::{AhoCorasick, MatchKind};

use super::lexicon;
use super::text::{fold, initials_read_as, is_han, pinyin_of, readings, short_place_name};
use crate::catalog::domain::{Certification, Grade};

/// A category as search sees it.
#[derive(Debug, Clone, PartialEq, Hash)]
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
#[derive(Debug, Clone, PartialEq, Hash)]
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
    /// A certification (有机, 绿色食品, 地理标志): its code is the term's meaning.
    Certification,
    /// A quality grade (特级, 一级, 二等): its code is the term's meaning.
    Grade,
    /// Anything else (a variety, a producer's name…).
    Other,
}

/// One word of a query with the other spellings that mean the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// As typed, folded; or the word meant, when the typed one is a slip of the input
    /// method (米猴桃 → 猕猴桃).
    pub text: String,
    pub kind: TermKind,
    /// Synonyms to try besides `text` (never single characters, which are too ambiguous
    /// in running text: 米 is also a metre).
    pub synonyms: Vec<String>,
    /// What the word was read as, in Chinese: the product's or the place's name.
    pub meaning: Option<String>,
}

/// A product of the lexicon as search sees it.
#[derive(Debug, Clone, PartialEq)]
struct LexEntry {
    category_id: i64,
    /// Toneless pinyin of the term as the lexicon reads it (polyphonic characters in context).
    pinyin: String,
    /// Folded names: the term first, then the other Chinese names and the English ones.
    names: Vec<String>,
}

/// Words people put around what they look for in a question; dropped from queries.
/// Single characters only where they never begin a product's or a place's name.
const FILLER: &[&str] = &[
    "哪里有卖",
    "哪里有",
    "哪里能买",
    "哪里买",
    "哪儿",
    "哪里",
    "哪家",
    "哪个",
    "有没有",
    "有卖",
    "我想买",
    "我想要",
    "我要买",
    "想买",
    "我想",
    "我要",
    "买点",
    "买些",
    "买一些",
    "一些",
    "请问",
    "推荐",
    "推荐一下",
    "什么",
    "怎么",
    "好吃",
    "好吃的",
    "好的",
    "便宜",
    "便宜的",
    "正宗",
    "正宗的",
    "价格",
    "多少钱",
    "一点",
    "适合",
    "可以",
    "能不能",
    "求购",
    "需要",
    "购买",
    "卖的",
    "出售",
    // Words sellers and buyers put before any product, naming none.
    "新鲜",
    "时令",
    "当季",
    "应季",
    "优质",
    "天然",
    "纯天然",
    "现摘",
    "农家自产",
    "产地直发",
    "包邮",
    "批发",
    "的",
    "吗",
    "呢",
    "吧",
    "啊",
    "了",
    "呀",
    "点",
    "些",
    "儿",
    "下",
];

/// The words people put in a query for a certification, longest first.
const CERTIFICATION_WORDS: &[(&str, Certification)] = &[
    ("农产品地理标志", Certification::GeographicalIndication),
    ("消费帮扶产品", Certification::PovertyAlleviation),
    ("名特优新", Certification::Featured),
    ("绿色食品", Certification::GreenFood),
    ("有机产品", Certification::Organic),
    ("有机食品", Certification::Organic),
    ("地理标志", Certification::GeographicalIndication),
    ("扶贫产品", Certification::PovertyAlleviation),
    ("有机", Certification::Organic),
    ("地标", Certification::GeographicalIndication),
    ("organic", Certification::Organic),
];

/// The words people put in a query for a grade: the grades' own names (特级, 一级) and the
/// older 等 forms that standards and sellers still write (特等, 一等品).
const GRADE_WORDS: &[(&str, Grade)] = &[
    ("特级", Grade::Special),
    ("特等", Grade::Special),
    ("特等品", Grade::Special),
    ("一级", Grade::First),
    ("一等", Grade::First),
    ("一等品", Grade::First),
    ("一级品", Grade::First),
    ("二级", Grade::Second),
    ("二等", Grade::Second),
    ("二等品", Grade::Second),
    ("二级品", Grade::Second),
    ("三级", Grade::Third),
    ("三等", Grade::Third),
    ("三等品", Grade::Third),
    ("三级品", Grade::Third),
    ("premium", Grade::Special),
];

/// What a word of a query names in one of the tables above.
fn word_in<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// How many times a product's own name outweighs its other names when initials are read.
const OWN_NAME_WEIGHT: u64 = 4;

/// How many readings of a word are tried for the sound of a product name.
const READINGS: usize = 16;

/// English words that name nothing alone.
const ENGLISH_STOP: &[&str] = &["and", "of", "the", "with", "chinese", "tibetan", "food"];

/// The taxonomy, its synonyms and the places, ready for queries and documents.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    categories: HashMap<i64, CategoryEntry>,
    /// Folded names of each category (canonical first).
    names: HashMap<i64, Vec<String>>,
    /// Folded word or its pinyin → categories it names.
    products: HashMap<String, BTreeSet<i64>>,
    places: HashMap<String, PlaceEntry>,
    /// Folded place name (full or short, or its pinyin) → region codes.
    place_words: HashMap<String, BTreeSet<String>>,
    /// Longest known Chinese word, in characters, for splitting queries.
    longest: usize,
    /// The products of the lexicon whose category is known here.
    lexicon: Vec<LexEntry>,
    /// Folded lexicon name or its pinyin → product.
    lexicon_words: HashMap<String, usize>,
    /// Product → the kinds (坚果, 茶叶) it belongs to, all entries of `lexicon`.
    kinds_of: HashMap<usize, Vec<usize>>,
    /// Finds the lexicon's Chinese names in a listing's title.
    matcher: Option<(AhoCorasick, Vec<usize>)>,
    /// Full pinyin of a Chinese product name → a name of each product that sounds so.
    /// For input-method slips.
    sounds: HashMap<String, Vec<String>>,
    /// Full pinyin of every product and place word, for splitting joined pinyin.
    pinyin_words: BTreeSet<String>,
    /// Pinyin initials (ht, yy) → the product name they most likely abbreviate.
    abbreviations: HashMap<String, String>,
    /// Pinyin initials of the places' Chinese names (xc for 乡城), for initials that
    /// run a place and a product together (xcsr).
    place_initials: HashMap<String, BTreeSet<String>>,
    /// The provinces something is sold or made in: those of the townships and villages it
    /// knows (the places below a county are those of listings and sellers).
    active_provinces: BTreeSet<String>,
    /// What it was built from, as [`Vocabulary::fingerprint`] gives it.
    built_from: u64,
}

impl Vocabulary {
    /// Builds the vocabulary from the taxonomy and the regions.
    pub fn new(categories: Vec<CategoryEntry>, places: Vec<PlaceEntry>) -> Self {
        let mut v = Vocabulary {
            built_from: Self::fingerprint(&categories, &places),
            ..Default::default()
        };
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
                if let Some((py, _)) = pinyin_of(n) {
                    v.products.entry(py).or_default().insert(c.id);
                }
                v.note_length(n);
            }
            v.names.insert(c.id, names);
            v.categories.insert(c.id, c);
        }
        v.add_english_words();
        for p in places {
            if p.code.len() > 6 {
                v.active_provinces.insert(p.code[..2].to_string());
            }
            let (words, initials) = place_readings(&p.name);
            for i in initials {
                v.place_initials
                    .entry(i)
                    .or_default()
                    .insert(p.code.clone());
            }
            for word in words {
                v.note_length(&word);
                v.place_words
                    .entry(word)
                    .or_default()
                    .insert(p.code.clone());
            }
            v.places.insert(p.code.clone(), p);
        }
        v.add_lexicon(lexicon::reference());
        v.index_sounds();
        v.index_initials();
        v
    }

    /// A digest of the taxonomy and places a vocabulary is built from: building takes
    /// tens of milliseconds (the lexicon's readings, its matcher), so an instance that
    /// re-reads the database rebuilds only when this changed.
    pub fn fingerprint(categories: &[CategoryEntry], places: &[PlaceEntry]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        categories.hash(&mut h);
        places.hash(&mut h);
        h.finish()
    }

    /// True when built from exactly these categories and places, in this order.
    pub fn is_built_from(&self, categories: &[CategoryEntry], places: &[PlaceEntry]) -> bool {
        self.built_from == Self::fingerprint(categories, places)
    }

    /// Each word of a category's English name names it too ("yak" for Yak meat), unless
    /// it is already a name or is shared by several categories.
    fn add_english_words(&mut self) {
        // In a fixed order, so that every instance builds the same documents.
        let mut words: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let mut ids: Vec<&i64> = self.names.keys().collect();
        ids.sort();
        for (id, names) in ids.into_iter().map(|id| (id, &self.names[id])) {
            for n in names.iter().filter(|n| n.is_ascii() && n.contains(' ')) {
                for w in n
                    .split(' ')
                    .filter(|w| w.len() >= 3 && !ENGLISH_STOP.contains(w))
                {
                    words.entry(w.to_string()).or_default().insert(*id);
                }
            }
        }
        for (w, ids) in words {
            if let [id] = ids.iter().copied().collect::<Vec<_>>()[..]
                && !self.products.contains_key(&w)
            {
                self.names.entry(id).or_default().push(w.clone());
                self.products.insert(w, ids);
            }
        }
    }

    /// Adds the lexicon's products whose category is known here.
    fn add_lexicon(&mut self, products: &[lexicon::Product]) {
        let by_slug: HashMap<String, i64> = self
            .categories
            .values()
            .map(|c| (c.slug.clone(), c.id))
            .collect();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for p in products {
            let Some(&category_id) = by_slug.get(p.category.as_str()) else {
                continue;
            };
            let at = self.lexicon.len();
            let own: Vec<String> = p.chinese().map(|n| fold(n)).collect();
            let mut names: Vec<String> = Vec::new();
            for n in p.chinese().chain(p.english.iter()) {
                let f = fold(n);
                // 盐源苹果 is a place and a product: read as both, it keeps the place.
                if f.is_empty() || names.contains(&f) || self.place_and(&f, &own).is_some() {
                    continue;
                }
                names.push(f);
            }
            for n in &names {
                self.lexicon_words.entry(n.clone()).or_insert(at);
                if n.chars().all(is_han) {
                    patterns.push(n.clone());
                    owners.push(at);
                    self.note_length(n);
                    if let Some((py, _)) = pinyin_of(n) {
                        self.lexicon_words.entry(py).or_insert(at);
                    }
                }
            }
            self.lexicon_words.entry(p.pinyin.clone()).or_insert(at);
            self.lexicon.push(LexEntry {
                category_id,
                pinyin: p.pinyin.clone(),
                names,
            });
        }
        // Kinds: entries whose names reach the listings of their members.
        let by_term: HashMap<String, usize> = self
            .lexicon
            .iter()
            .enumerate()
            .map(|(i, e)| (e.names[0].clone(), i))
            .collect();
        for k in lexicon::kinds() {
            let members: Vec<usize> = k
                .members
                .iter()
                .filter_map(|m| by_term.get(&fold(m)).copied())
                .collect();
            let Some(&first) = members.first() else {
                continue;
            };
            let at = self.lexicon.len();
            let mut names: Vec<String> = Vec::new();
            for f in k.words().map(|w| fold(w)) {
                if f.is_empty() || names.contains(&f) {
                    continue;
                }
                self.lexicon_words.entry(f.clone()).or_insert(at);
                if f.chars().all(is_han) {
                    patterns.push(f.clone());
                    owners.push(at);
                    self.note_length(&f);
                    if let Some((py, _)) = pinyin_of(&f) {
                        self.lexicon_words.entry(py).or_insert(at);
                    }
                }
                names.push(f);
            }
            for m in members {
                self.kinds_of.entry(m).or_default().push(at);
            }
            self.lexicon.push(LexEntry {
                category_id: self.lexicon[first].category_id,
                pinyin: pinyin_of(&names[0]).map(|p| p.0).unwrap_or_default(),
                names,
            });
        }
        if !patterns.is_empty() {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("lexicon patterns build");
            self.matcher = Some((ac, owners));
        }
    }

    /// Notes how every Chinese product word sounds, and the pinyin of every word.
    fn index_sounds(&mut self) {
        let chinese = self
            .names
            .values()
            .flatten()
            .chain(self.lexicon.iter().flat_map(|e| e.names.iter()))
            .filter(|n| n.chars().count() >= 2 && n.chars().all(is_han));
        let mut read: Vec<(String, String)> = chinese
            .filter_map(|n| Some((pinyin_of(n)?.0, n.clone())))
            .collect();
        // The lexicon's own reading of its terms, where a character has several (党参 dangshen).
        read.extend(
            self.lexicon
                .iter()
                .map(|e| (e.pinyin.clone(), e.names[0].clone())),
        );
        let mut sounds: HashMap<String, Vec<String>> = HashMap::new();
        for (py, n) in read {
            let meant = self.product_of(&n);
            let known = sounds.entry(py).or_default();
            if !known.iter().any(|k| self.product_of(k) == meant) {
                known.push(n);
            }
        }
        self.pinyin_words = sounds.keys().cloned().collect();
        for w in self.place_words.keys() {
            if w.is_ascii() && w.len() >= 4 {
                self.pinyin_words.insert(w.clone());
            }
        }
        self.sounds = sounds;
    }

    /// Reads each product name's pinyin initials as the name they most likely abbreviate,
    /// as an input method orders its candidates: by how often the name occurs in jieba's
    /// dictionary ([`lexicon::frequency`]), a product's own name (the category's, the
    /// lexicon's term, read as the lexicon reads it) counting [`OWN_NAME_WEIGHT`] times as
    /// much as its other names (松茸 before 松仁 for sr, 洋芋 still before 雅鱼 for yy).
    fn index_initials(&mut self) {
        let mut named: Vec<(String, &str, bool)> = Vec::new();
        for (id, names) in &self.names {
            let own = self.categories.get(id).map(|c| fold(&c.name_zh));
            for n in names {
                if let Some((_, initials)) = pinyin_of(n) {
                    named.push((initials, n, own.as_ref() == Some(n)));
                }
            }
        }
        for e in &self.lexicon {
            for (i, n) in e.names.iter().enumerate() {
                if let Some((_, initials)) = self.reading(n) {
                    named.push((initials, n, i == 0));
                }
            }
        }
        let mut best: HashMap<String, (u64, bool, &str)> = HashMap::new();
        for (initials, name, own) in named {
            if initials.len() < 2 || name.chars().count() < 2 {
                continue;
            }
            let weight = (lexicon::frequency(name) + 1) * if own { OWN_NAME_WEIGHT } else { 1 };
            let candidate = (weight, own, name);
            let better = |old: &(u64, bool, &str)| {
                (candidate.0, candidate.1, std::cmp::Reverse(candidate.2))
                    > (old.0, old.1, std::cmp::Reverse(old.2))
            };
            match best.get(&initials) {
                Some(old) if !better(old) => {}
                _ => {
                    best.insert(initials, candidate);
                }
            }
        }
        self.abbreviations = best
            .into_iter()
            .map(|(initials, (_, _, name))| (initials, name.to_string()))
            .collect();
    }

    /// The product name that typed initials abbreviate, unless they are a word already.
    fn abbreviation(&self, word: &str) -> Option<&str> {
        if word.len() < 2 || !word.chars().all(|c| c.is_ascii_lowercase()) || self.known(word) {
            return None;
        }
        self.abbreviations.get(word).map(String::as_str)
    }

    /// Initials that run a place and a product together (xcsr: 乡城 and 松茸): the
    /// place's initials and the product's.
    fn split_initials<'w>(&self, chunk: &'w str) -> Option<[&'w str; 2]> {
        if !chunk.chars().all(|c| c.is_ascii_lowercase()) || self.abbreviation(chunk).is_some() {
            return None;
        }
        (2..=4.min(chunk.len().saturating_sub(2))).find_map(|at| {
            let (place, product) = chunk.split_at(at);
            (self.place_initials.contains_key(place) && self.abbreviation(product).is_some())
                .then_some([place, product])
        })
    }

    /// A place word that begins `word`, when the rest is one of `names` or a known product:
    /// the place and the rest.
    fn place_and<'w>(&self, word: &'w str, names: &[String]) -> Option<(&'w str, &'w str)> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        (2..=chars.len().saturating_sub(2)).rev().find_map(|n| {
            let (place, rest) = word.split_at(chars[n].0);
            let product = names.iter().any(|w| w == rest)
                || self.products.contains_key(rest)
                || self.lexicon_words.contains_key(rest);
            (self.place_words.contains_key(place) && product).then_some((place, rest))
        })
    }

    /// The pinyin and initials of a name as the lexicon reads it (藏香猪: zangxiangzhu, not
    /// cangxiangzhu), else in its characters' usual readings.
    pub fn reading(&self, name: &str) -> Option<(String, String)> {
        let own = self
            .lexicon_words
            .get(name)
            .map(|e| &self.lexicon[*e])
            .filter(|e| e.names[0] == name);
        own.and_then(|e| Some((e.pinyin.clone(), initials_read_as(name, &e.pinyin)?)))
            .or_else(|| pinyin_of(name))
    }

    /// The product a word names: its lexicon entry, else its category.
    fn product_of(&self, word: &str) -> Option<(Option<usize>, Option<i64>)> {
        let entry = self.lexicon_words.get(word).copied();
        let category = self.products.get(word).and_then(|ids| ids.first().copied());
        (entry.is_some() || category.is_some()).then_some((entry, category))
    }

    /// The lexicon's products named in a text (a listing's title), each once: its names,
    /// for the listing's keywords.
    pub fn products_in(&self, text: &str) -> Vec<&str> {
        let mut seen: Vec<usize> = Vec::new();
        for e in self.products_named(text).into_iter().flatten() {
            if !seen.contains(&e) {
                seen.push(e);
            }
        }
        seen.iter()
            .flat_map(|e| self.lexicon[*e].names.iter().map(String::as_str))
            .collect()
    }

    /// What a listing is found by, from its title and its category, in the order it
    /// matters: the products its title names that fit its category, its category's names
    /// and its ancestors', then the products its title only mentions beside what it is
    /// (酥油 in 酥油糌粑, filed as 糌粑). When none fits, the title is taken at its word and
    /// its products come first.
    pub fn keywords_of(&self, title: &str, category_id: i64) -> Vec<String> {
        let filed: Vec<i64> = self
            .category_path(category_id)
            .iter()
            .map(|c| c.id)
            .collect();
        let fits = |e: &usize| {
            let own = self.lexicon[*e].category_id;
            filed.contains(&own) || self.category_path(own).iter().any(|c| c.id == category_id)
        };
        // A product decides for the kinds it belongs to (坚果 goes with 花生).
        let (fitting, other): (Vec<Vec<usize>>, Vec<Vec<usize>>) = self
            .products_named(title)
            .into_iter()
            .partition(|named| fits(&named[0]));
        let names = |entries: Vec<Vec<usize>>| -> Vec<String> {
            entries
                .into_iter()
                .flatten()
                .flat_map(|e| self.lexicon[e].names.iter().cloned())
                .collect()
        };
        let (first, last) = if fitting.is_empty() {
            (names(other), Vec::new())
        } else {
            (names(fitting), names(other))
        };
        let mut keywords: Vec<String> = Vec::new();
        for w in first
            .into_iter()
            .chain(self.keywords(category_id))
            .chain(last)
        {
            if !keywords.contains(&w) {
                keywords.push(w);
            }
        }
        keywords
    }

    /// The products a text names, each once and in the order they appear, each with the
    /// kinds it belongs to after it (花生: 花生, 坚果).
    fn products_named(&self, text: &str) -> Vec<Vec<usize>> {
        let Some((ac, owners)) = &self.matcher else {
            return Vec::new();
        };
        let folded = fold(text);
        let mut named: Vec<Vec<usize>> = Vec::new();
        for m in ac.find_iter(&folded) {
            let entry = owners[m.pattern().as_usize()];
            if named.iter().any(|g| g[0] == entry) {
                continue;
            }
            let kinds = self.kinds_of.get(&entry).into_iter().flatten();
            named.push(std::iter::once(entry).chain(kinds.copied()).collect());
        }
        named
    }

    /// The word meant by a Chinese word that is no known word but sounds like one.
    fn sounds_like(&self, word: &str, alone: bool) -> Option<&str> {
        if word.chars().count() < 2 || !word.chars().all(is_han) {
            return None;
        }
        self.sound_alikes(word, alone).first().map(String::as_str)
    }

    /// Every name of the categories and the lexicon product a word names.
    fn names_of(&self, word: &str) -> impl Iterator<Item = &String> {
        let categories = self.products.get(word).into_iter().flatten();
        let entry = self.lexicon_words.get(word).map(|e| &self.lexicon[*e]);
        categories
            .flat_map(|id| self.names.get(id).into_iter().flatten())
            .chain(entry.into_iter().flat_map(|e| e.names.iter()))
    }

    /// An English word as the vocabulary knows it, singular or plural ("mushroom" for
    /// Mushrooms); any other word as it is.
    fn english_singular(&self, word: String) -> String {
        if !word.is_ascii() || self.known(&word) {
            return word;
        }
        let singular = word.strip_suffix("es").or_else(|| word.strip_suffix('s'));
        let candidates = singular
            .map(str::to_string)
            .into_iter()
            .chain([format!("{word}s"), format!("{word}es")]);
        for c in candidates {
            if self.known(&c) {
                return c;
            }
        }
        word
    }

    /// Every product word that sounds like `word` as it is usually read, or, when it is
    /// all that was typed (`alone`), read any way its characters can be (香长 read
    /// xiangchang is 香肠); the first is [`Self::sounds_like`].
    fn sound_alikes(&self, word: &str, alone: bool) -> &[String] {
        if !alone {
            return pinyin_of(word)
                .and_then(|(py, _)| self.sounds.get(&py))
                .map_or(&[], Vec::as_slice);
        }
        readings(word, READINGS)
            .into_iter()
            .find_map(|(py, _)| self.sounds.get(&py))
            .map_or(&[], Vec::as_slice)
    }

    fn known(&self, word: &str) -> bool {
        self.products.contains_key(word)
            || self.lexicon_words.contains_key(word)
            || self.place_words.contains_key(word)
    }

    /// Whether a word names nothing but places in provinces where nothing is sold: typed
    /// where a product sounds the same, it is the product mistyped (平果, a city in Guangxi,
    /// is 苹果 on a market of Sichuan's farms).
    fn only_a_far_place(&self, word: &str) -> bool {
        !self.active_provinces.is_empty()
            && !self.products.contains_key(word)
            && !self.lexicon_words.contains_key(word)
            && self.place_words.get(word).is_some_and(|codes| {
                codes
                    .iter()
                    .all(|c| !self.active_provinces.contains(c.get(..2).unwrap_or(c)))
            })
    }

    /// Splits joined pinyin into known words ("xiangchengsongrong" → "xiangcheng",
    /// "songrong"): the fewest pieces of at least four letters, at most four.
    fn split_pinyin(&self, chunk: &str) -> Option<Vec<String>> {
        const PIECE: usize = 4;
        const MOST: usize = 4;
        if !chunk.chars().all(|c| c.is_ascii_lowercase()) || chunk.len() < 2 * PIECE {
            return None;
        }
        // best[i]: fewest pieces covering chunk[..i], with where the last piece starts.
        let n = chunk.len();
        let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0));
        for end in PIECE..=n {
            for start in 0..=end - PIECE {
                let Some((count, _)) = best[start] else {
                    continue;
                };
                if count >= MOST || !self.pinyin_words.contains(&chunk[start..end]) {
                    continue;
                }
                if best[end].is_none_or(|(c, _)| count + 1 < c) {
                    best[end] = Some((count + 1, start));
                }
            }
        }
        let mut pieces = Vec::new();
        let mut at = n;
        while at > 0 {
            let (_, start) = best[at]?;
            pieces.push(chunk[start..at].to_string());
            at = start;
        }
        pieces.reverse();
        (pieces.len() > 1).then_some(pieces)
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
        // A name that is a word of another category's name or of a name of a product filed
        // there ("potato" in "sweet potato", "potatoes" in "sweet potatoes") would make
        // every query for this category find that one too.
        let of_category = |id: i64| {
            let own = self.names.get(&id).into_iter().flatten();
            let products = self
                .lexicon
                .iter()
                .filter(move |e| e.category_id == id)
                .flat_map(|e| e.names.iter());
            own.chain(products)
        };
        let words_of_others = |id: i64, n: &str| {
            self.names
                .keys()
                .filter(|other| **other != id)
                .any(|other| of_category(*other).any(|m| m != n && m.split(' ').any(|w| w == n)))
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

    /// Splits a query into words: spaces first (syllables typed apart that spell one word
    /// are joined again), joined pinyin into known words, then runs of Chinese characters
    /// by the longest known product, place or filler word, or a word that sounds like a
    /// product's; unknown stretches stay whole.
    pub fn segment(&self, query: &str) -> Vec<String> {
        let folded = fold(query);
        let chunks: Vec<&str> = folded.split(' ').filter(|c| !c.is_empty()).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chunks.len() {
            if let Some(len) = self.english_phrase(&chunks[i..]) {
                out.push(chunks[i..i + len].join(" "));
                i += len;
                continue;
            }
            if let Some(len) = self.spaced_word(&chunks[i..]) {
                self.push_word(chunks[i..i + len].concat(), &mut out);
                i += len;
                continue;
            }
            let chunk = chunks[i];
            i += 1;
            if self.known(chunk) && chunk.is_ascii() {
                self.push_word(chunk.to_string(), &mut out);
                continue;
            }
            if let Some(pieces) = self.split_pinyin(chunk) {
                out.extend(pieces);
                continue;
            }
            let chars: Vec<char> = chunk.chars().collect();
            if !chars.iter().all(|c| is_han(*c)) || self.longest == 0 {
                out.push(chunk.to_string());
                continue;
            }
            self.segment_chinese(&chars, &mut out);
        }
        out
    }

    /// A known word, split when it names a product and where it comes from: 理塘虫草, and
    /// its pinyin yanyuanpingguo, are a place and a product.
    fn push_word(&self, word: String, out: &mut Vec<String>) {
        match self.place_and(&word, &[]) {
            Some((place, rest)) => {
                out.push(place.to_string());
                out.push(rest.to_string());
            }
            None => out.push(word),
        }
    }

    fn segment_chinese(&self, chars: &[char], out: &mut Vec<String>) {
        let mut unknown = String::new();
        let mut i = 0;
        while i < chars.len() {
            let most = self.longest.max(4).min(chars.len() - i);
            let word = |len: usize| -> String { chars[i..i + len].iter().collect() };
            let exact = (1..=most).rev().find(|&len| {
                let w = word(len);
                FILLER.contains(&w.as_str())
                    || (len > 1
                        && (self.known(&w)
                            || word_in(CERTIFICATION_WORDS, &w).is_some()
                            || word_in(GRADE_WORDS, &w).is_some()))
            });
            // Every reading of a word counts only when it is all that was typed (香长 is
            // 香肠); inside a longer text, 柠檬便宜 is not 柠檬片.
            let sounds = (2..=most).rev().find(|&len| {
                let alone = i == 0 && len == chars.len();
                self.sounds_like(&word(len), alone).is_some()
            });
            match exact.max(sounds) {
                Some(len) => {
                    if !unknown.is_empty() {
                        out.push(std::mem::take(&mut unknown));
                    }
                    self.push_word(word(len), out);
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

    /// How many words, two or more, make one known English name together ("sweet potato").
    fn english_phrase(&self, chunks: &[&str]) -> Option<usize> {
        let run = chunks
            .iter()
            .take(4)
            .take_while(|c| c.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .count();
        (2..=run).rev().find(|&len| {
            let phrase = chunks[..len].join(" ");
            self.known(&phrase) || self.known(&self.english_singular(phrase.clone()))
        })
    }

    /// How many chunks, two or more, of Latin letters spell one known word together.
    fn spaced_word(&self, chunks: &[&str]) -> Option<usize> {
        let run = chunks
            .iter()
            .take(6)
            .take_while(|c| c.chars().all(|c| c.is_ascii_lowercase()))
            .count();
        (2..=run).rev().find(|&len| {
            let w = chunks[..len].concat();
            self.pinyin_words.contains(&w)
        })
    }

    /// The words of a query with what each is about and its synonyms, at most `limit`
    /// words; filler words of questions are left out.
    pub fn terms(&self, query: &str, limit: usize) -> Vec<QueryTerm> {
        let mut out: Vec<QueryTerm> = Vec::new();
        let words = self.segment(query);
        let alone = words.len() == 1;
        for word in words {
            if FILLER.contains(&word.as_str()) {
                continue;
            }
            let read = match self.split_initials(&word) {
                Some([place, product]) => vec![
                    self.read_place_initials(place),
                    self.read(product.to_string(), false),
                ],
                None => vec![self.read(word, alone)],
            };
            for term in read {
                if out.len() < limit && !out.iter().any(|t| t.text == term.text) {
                    out.push(term);
                }
            }
        }
        out
    }

    /// The place part of initials that run a place and a product together, which the
    /// initials of listings' places match; it means the place of the highest level with
    /// those initials when there is only one.
    fn read_place_initials(&self, initials: &str) -> QueryTerm {
        let codes = self.place_initials.get(initials);
        let top = codes.into_iter().flatten().map(String::len).min();
        let mut names: Vec<&str> = Vec::new();
        for p in codes
            .into_iter()
            .flatten()
            .filter(|c| Some(c.len()) == top)
            .filter_map(|c| self.places.get(c))
        {
            let name = short_place_name(&p.name).unwrap_or(&p.name);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let meaning = match names[..] {
            [one] => Some(one.to_string()),
            _ => None,
        };
        QueryTerm {
            text: initials.to_string(),
            kind: TermKind::Place,
            synonyms: Vec::new(),
            meaning,
        }
    }

    /// What one word of a query names; `alone` when it is all that was typed.
    fn read(&self, word: String, alone: bool) -> QueryTerm {
        if let Some(c) = word_in(CERTIFICATION_WORDS, &word) {
            return QueryTerm {
                text: word,
                kind: TermKind::Certification,
                synonyms: Vec::new(),
                meaning: Some(c.code().to_string()),
            };
        }
        if let Some(g) = word_in(GRADE_WORDS, &word) {
            return QueryTerm {
                text: word,
                kind: TermKind::Grade,
                synonyms: Vec::new(),
                meaning: Some(g.code().to_string()),
            };
        }
        // A slip of the input method: every product that sounds so is meant, the first most.
        let alikes: &[String] = if self.known(&word) && !self.only_a_far_place(&word) {
            &[]
        } else {
            self.sound_alikes(&word, alone)
        };
        let text = match (alikes.first(), self.abbreviation(&word)) {
            (Some(meant), _) => meant.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => self.english_singular(word),
        };
        let categories = self.products.get(&text);
        let entry = self.lexicon_words.get(&text).map(|e| &self.lexicon[*e]);
        if categories.is_some() || entry.is_some() {
            let mut syn: Vec<String> = std::iter::once(text.as_str())
                .chain(alikes.iter().map(String::as_str))
                .flat_map(|w| self.names_of(w))
                .filter(|n| **n != text && usable_synonym(n))
                .cloned()
                .collect();
            syn.sort();
            syn.dedup();
            let meaning = entry.map(|e| e.names[0].clone()).or_else(|| {
                let id = categories?.first()?;
                Some(self.categories.get(id)?.name_zh.clone())
            });
            return QueryTerm {
                text,
                kind: TermKind::Product,
                synonyms: syn,
                meaning,
            };
        }
        if let Some(codes) = self.place_words.get(&text) {
            let meaning = codes.first().and_then(|c| self.places.get(c)).map(|p| {
                let name = fold(&p.name);
                short_place_name(&name).unwrap_or(&name).to_string()
            });
            return QueryTerm {
                text,
                kind: TermKind::Place,
                synonyms: Vec::new(),
                meaning,
            };
        }
        QueryTerm {
            text,
            kind: TermKind::Other,
            synonyms: Vec::new(),
            meaning: None,
        }
    }

    /// Words of the vocabulary close to a query that found nothing: products and places
    /// whose pinyin or name is one or two edits away from a word of it, best first.
    pub fn suggestions(&self, query: &str, most: usize) -> Vec<String> {
        let mut found: Vec<(usize, bool, String)> = Vec::new();
        for term in self.terms(query, 4) {
            if term.kind != TermKind::Other {
                continue;
            }
            let typed = match pinyin_of(&term.text) {
                Some((py, _)) => py,
                None => term.text.clone(),
            };
            if typed.chars().count() < 3 {
                continue;
            }
            let allowed = if typed.chars().count() >= 6 { 2 } else { 1 };
            for key in &self.pinyin_words {
                let d = edit_distance(&typed, key);
                if d > allowed {
                    continue;
                }
                // Products before places at the same distance.
                let (place, name) = match self.sounds.get(key).and_then(|v| v.first()) {
                    Some(n) => (false, n.clone()),
                    _ => match self.place_words.get(key).and_then(|c| c.first()) {
                        Some(code) => (true, self.places[code].name.clone()),
                        None => continue,
                    },
                };
                found.push((d, place, name));
            }
        }
        found.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, _, n) in found {
            if !out.contains(&n) && out.len() < most {
                out.push(n);
            }
        }
        out
    }
}

/// Edit distance in characters, a swap of two neighbours counting as one edit (the
/// optimal string alignment distance): "pinggou" is one edit from "pingguo".
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A synonym worth expanding to: more than one character, and not a Latin word that
/// only repeats another (plurals are matched by the engines themselves).
fn usable_synonym(word: &str) -> bool {
    word.chars().count() > 1
}

/// The words a place is known by: its full name, its short name, and the pinyin of both.
pub fn place_words(name: &str) -> Vec<String> {
    place_readings(name).0
}

/// [`place_words`] together with the pinyin initials of its Chinese forms (道孚: dfx, df).
fn place_readings(name: &str) -> (Vec<String>, Vec<String>) {
    let full = fold(name);
    let mut out = vec![full.clone()];
    if let Some(short) = short_place_name(&full) {
        out.push(short.to_string());
    }
    let (pinyin, initials): (Vec<String>, Vec<String>) =
        out.iter().filter_map(|w| pinyin_of(w)).unzip();
    out.extend(pinyin);
    out.dedup();
    (out, initials)
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
    fn initials_read_as_the_most_frequent_name_they_abbreviate() {
        let v = sample();
        let meant = |q: &str| {
            let t = &v.terms(q, 8)[0];
            assert_eq!(t.kind, TermKind::Product, "{q}");
            t.meaning.clone().unwrap()
        };
        // A product's own name before its other names (松茸 before 松仁), unless the other
        // is far more common (洋芋 and 土豆 are potatoes).
        assert_eq!(meant("sr"), "松茸");
        assert_eq!(meant("ht"), "核桃");
        assert_eq!(meant("hj"), "花椒");
        assert_eq!(
            v.terms("yy", 8)[0]
                .synonyms
                .iter()
                .filter(|s| *s == "土豆")
                .count(),
            1
        );
        // The lexicon's reading of a polyphonic name: 藏香猪 is zangxiangzhu.
        assert_eq!(meant("zxz"), "藏香猪");
        // A word is never read as initials.
        assert_eq!(v.terms("tea", 8)[0].text, "tea");
        assert_eq!(v.terms("vvv", 8)[0].kind, TermKind::Other);
    }

    #[test]
    fn initials_of_a_place_and_a_product_are_read_apart() {
        let v = sample();
        let terms = v.terms("xcsr", 8);
        assert_eq!(terms.len(), 2, "{terms:?}");
        assert_eq!(
            (terms[0].kind, terms[0].text.as_str()),
            (TermKind::Place, "xc")
        );
        // Several counties are xc (乡城, 西昌, 西充): the reading names none of them.
        assert_eq!(terms[0].meaning, None);
        assert_eq!(terms[1].meaning.as_deref(), Some("松茸"));
        // The place's initials alone are not enough, nor a product's alone split.
        assert_eq!(v.terms("xcvv", 8).len(), 1);
        assert_eq!(v.terms("mht", 8).len(), 1);
    }

    #[test]
    fn a_word_typed_alone_may_be_read_any_way_it_sounds() {
        let v = sample();
        // 长 is zhang as often as chang.
        assert_eq!(v.terms("香长", 8)[0].meaning.as_deref(), Some("香肠"));
        // The lexicon's reading of a name counts too: 鸡枞 is jizong.
        assert_eq!(v.terms("鸡纵", 8)[0].meaning.as_deref(), Some("鸡枞"));
        // Inside a longer question only the usual reading counts: 便 stays bian.
        let read: Vec<String> = v
            .terms("哪家的安岳柠檬便宜", 8)
            .iter()
            .filter_map(|t| t.meaning.clone())
            .collect();
        assert!(read.contains(&"柠檬".to_string()), "{read:?}");
        assert!(!read.contains(&"柠檬片".to_string()), "{read:?}");
    }

    #[test]
    fn queries_split_into_place_and_product() {
        let v = sample();
        assert_eq!(v.segment("道孚虫草"), ["道孚", "虫草"]);
        assert_eq!(v.segment("道孚 虫草"), ["道孚", "虫草"]);
        assert_eq!(v.segment("开江县红富士苹果"), ["开江县", "红富士苹果"]);
        assert_eq!(v.segment("开江县苹果"), ["开江县", "苹果"]);
        let kinds: Vec<TermKind> = v.terms("道孚虫草", 8).iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TermKind::Place, TermKind::Product]);
        // A lexicon term named with its place (盐源苹果) reads the same in pinyin, run
        // together or spaced, as in characters: a place and a product.
        for q in ["盐源苹果", "yanyuanpingguo", "yanyuan pingguo"] {
            let read: Vec<(TermKind, Option<String>)> = v
                .terms(q, 8)
                .into_iter()
                .map(|t| (t.kind, t.meaning))
                .collect();
            assert_eq!(
                read,
                [
                    (TermKind::Place, Some("盐源".to_string())),
                    (TermKind::Product, Some("苹果".to_string()))
                ],
                "{q}"
            );
        }
    }

    #[test]
    fn a_far_place_that_sounds_like_a_product_is_the_product_mistyped() {
        let v = sample();
        let read = |q: &str| -> Vec<(TermKind, Option<String>)> {
            v.terms(q, 8)
                .into_iter()
                .map(|t| (t.kind, t.meaning))
                .collect()
        };
        // 平果 is a city in Guangxi, where nothing is sold here; 苹果 sounds the same.
        assert_eq!(read("平果"), [(TermKind::Product, Some("苹果".into()))]);
        // Far places that sound like nothing sold stay places, and so do places where
        // things are sold.
        assert_eq!(read("北京"), [(TermKind::Place, Some("北京".into()))]);
        assert_eq!(read("道孚"), [(TermKind::Place, Some("道孚".into()))]);
        // With no township or village known there is no telling near from far.
        let no_market = Vocabulary::new(
            v.categories.values().cloned().collect(),
            v.places
                .values()
                .filter(|p| p.code.len() == 6)
                .cloned()
                .collect(),
        );
        assert_eq!(
            no_market.terms("平果", 8)[0].kind,
            TermKind::Place,
            "{:?}",
            no_market.terms("平果", 8)
        );
    }

    #[test]
    fn names_read_as_the_lexicon_reads_them() {
        let v = sample();
        assert_eq!(
            v.reading("藏香猪"),
            Some(("zangxiangzhu".to_string(), "zxz".to_string()))
        );
        assert_eq!(
            v.reading("苹果"),
            Some(("pingguo".to_string(), "pg".to_string()))
        );
        assert_eq!(v.reading("apple"), None);
    }

    #[test]
    fn a_listing_is_found_first_by_what_it_is() {
        let v = sample();
        let id = |slug: &str| {
            v.categories
                .values()
                .find(|c| c.slug == slug)
                .unwrap_or_else(|| panic!("{slug}"))
                .id
        };
        let at = |words: &[String], w: &str| words.iter().position(|k| k == w);
        // 酥油 is mentioned beside the rice it is filed as: rice words come first.
        let rice = v.keywords_of("酥油 大米 5kg", id("rice"));
        let (mention, own) = (at(&rice, "酥油").unwrap(), at(&rice, "大米").unwrap());
        assert!(own < mention, "{rice:?}");
        for w in v.keywords(id("rice")) {
            assert!(at(&rice, &w).unwrap() < mention, "{w} in {rice:?}");
        }
        // A title whose product does not fit the category is taken at its word.
        let misfiled = v.keywords_of("仪陇花生 25kg", id("apple"));
        assert!(at(&misfiled, "花生").unwrap() < at(&misfiled, "苹果").unwrap());
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

    fn read(v: &Vocabulary, q: &str) -> Vec<(String, TermKind)> {
        v.terms(q, 8)
            .into_iter()
            .map(|t| (t.text, t.kind))
            .collect()
    }

    #[test]
    fn a_slip_of_the_input_method_reads_as_the_word_that_sounds_the_same() {
        let v = sample();
        assert_eq!(
            read(&v, "米猴桃"),
            [("猕猴桃".to_string(), TermKind::Product)]
        );
        assert_eq!(read(&v, "松容"), [("松茸".to_string(), TermKind::Product)]);
        // Inside a longer run, next to a place.
        assert_eq!(
            read(&v, "乡城松容"),
            [
                ("乡城".to_string(), TermKind::Place),
                ("松茸".to_string(), TermKind::Product)
            ]
        );
        // A word that is known is never corrected.
        assert_eq!(read(&v, "苹果")[0].0, "苹果");
    }

    #[test]
    fn joined_pinyin_splits_into_words_and_spaced_syllables_join() {
        let v = sample();
        assert_eq!(v.segment("xiangchengsongrong"), ["xiangcheng", "songrong"]);
        assert_eq!(v.segment("daofuchongcao"), ["daofu", "chongcao"]);
        let kinds: Vec<TermKind> = v
            .terms("xiangchengsongrong", 8)
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds, [TermKind::Place, TermKind::Product]);
        assert_eq!(v.segment("song rong"), ["songrong"]);
        assert_eq!(v.segment("ping guo"), ["pingguo"]);
        // English words are left alone, unless together they name a product.
        assert_eq!(v.segment("fresh apples"), ["fresh", "apples"]);
        assert_eq!(v.segment("Sweet Potatoes"), ["sweet potatoes"]);
        assert_eq!(v.segment("qwertyuiop"), ["qwertyuiop"]);
    }

    #[test]
    fn one_word_of_an_english_name_names_the_product() {
        let v = sample();
        let t = &v.terms("yak", 8)[0];
        assert_eq!(t.kind, TermKind::Product);
        assert!(
            t.synonyms.contains(&"牦牛肉".to_string()),
            "{:?}",
            t.synonyms
        );
        assert_eq!(v.terms("weaving", 8)[0].meaning.as_deref(), Some("竹编"));
        // As a Meilisearch synonym, "yak" would make 牦牛肉 find yak milk (牦牛奶, filed
        // under processed food); "potatoes" would make 马铃薯 find sweet potatoes.
        let synonyms = v.synonyms();
        assert!(!synonyms["牦牛肉"].contains(&"yak".to_string()));
        assert!(synonyms["牦牛肉"].contains(&"yak meat".to_string()));
        assert!(!synonyms["马铃薯"].contains(&"potatoes".to_string()));
        assert!(synonyms["马铃薯"].contains(&"土豆".to_string()));
        // A word two names share names neither.
        assert_eq!(v.terms("tibetan", 8)[0].kind, TermKind::Other);
    }

    #[test]
    fn villages_are_named_without_their_suffix() {
        let v = sample();
        let t = &v.terms("盘石", 8)[0];
        assert_eq!(t.kind, TermKind::Place);
        assert_eq!(t.meaning.as_deref(), Some("盘石"));
        assert_eq!(v.terms("盘石村", 8)[0].kind, TermKind::Place);
    }

    #[test]
    fn questions_keep_their_product_and_place_and_lose_their_filler() {
        let v = sample();
        let terms = v.terms("哪里有卖理塘的牦牛肉", 8);
        let read: Vec<(Option<&str>, TermKind)> = terms
            .iter()
            .map(|t| (t.meaning.as_deref(), t.kind))
            .collect();
        assert_eq!(
            read,
            [
                (Some("理塘"), TermKind::Place),
                (Some("牦牛肉"), TermKind::Product)
            ]
        );
        let kinds: Vec<TermKind> = v
            .terms("我想买点适合送老人的道孚虫草", 8)
            .iter()
            .map(|t| t.kind)
            .collect();
        assert!(kinds.contains(&TermKind::Place) && kinds.contains(&TermKind::Product));
    }

    #[test]
    fn the_lexicon_names_products_in_titles_and_queries() {
        let v = sample();
        let found = v.products_in("高原百花蜜 农家自产500g");
        assert!(
            found.contains(&"蜂蜜") && found.contains(&"honey"),
            "{found:?}"
        );
        // A kind names its products: 坚果 finds 核桃.
        assert!(v.products_in("大凉山薄皮核桃 2斤").contains(&"坚果"));
        let nuts = &v.terms("nuts", 8)[0];
        assert_eq!(
            (nuts.kind, nuts.meaning.as_deref()),
            (TermKind::Product, Some("坚果"))
        );
        for q in ["蜂蜜", "honey", "蜂糖"] {
            let t = &v.terms(q, 8)[0];
            assert_eq!(
                (t.kind, t.meaning.as_deref()),
                (TermKind::Product, Some("蜂蜜")),
                "{q}"
            );
        }
        // A product's own name does not bring in its whole category.
        let t = &v.terms("木耳", 8)[0];
        assert!(
            !t.synonyms.contains(&"松茸".to_string()) && !t.synonyms.contains(&"菌菇".to_string())
        );
        // Traditional characters fold to the simplified product.
        assert_eq!(v.terms("蜀繡", 8)[0].meaning.as_deref(), Some("蜀绣"));
    }

    #[test]
    fn words_close_to_a_known_one_are_suggested() {
        let v = sample();
        assert!(v.suggestions("pinggou", 3).contains(&"苹果".to_string()));
        assert!(v.suggestions("zzzzzzzzzzqq", 3).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("pinggou", "pingguo"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    proptest! {
        #[test]
        fn segmenting_keeps_every_character(q in "[道孚虫草开江县苹果大米红苕 a-z]{0,20}") {
            let v = sample();
            let joined: String = v.segment(&q).concat().replace(' ', "");
            let expected: String = fold(&q).chars().filter(|c| *c != ' ').collect();
            prop_assert_eq!(joined, expected);
        }
    }
}
