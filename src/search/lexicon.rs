//! The product lexicon: the everyday names of what Sichuan's farms, pastures, forests and
//! workshops sell, far beyond the taxonomy's categories. Each product has its dialect and
//! trade names, traditional characters, pinyin and English, and the category sellers file
//! it under. The data is `products.tsv` beside this file, written by `tools/lexicon.py`.

use std::sync::LazyLock;

/// One product of the lexicon, as written in `products.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Its common simplified name, e.g. 蜂蜜.
    pub term: String,
    /// The slug of the category sellers file it under.
    pub category: String,
    /// Other Chinese names: dialect, regional and trade names, varieties.
    pub also: Vec<String>,
    /// The traditional-character forms of the names that differ from the simplified.
    pub traditional: Vec<String>,
    /// Toneless pinyin of `term`, without spaces.
    pub pinyin: String,
    /// English names, lower case.
    pub english: Vec<String>,
}

impl Product {
    /// Every Chinese name, simplified: the term first, then the others.
    pub fn chinese(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.term).chain(self.also.iter())
    }
}

/// A kind of product that buyers name as a group (坚果, 茶叶, 乳制品): the words for it and
/// the lexicon's products it covers. The data is `kinds.tsv` beside this file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// Its common simplified name.
    pub kind: String,
    /// Other Chinese words for the group.
    pub also: Vec<String>,
    /// English names, lower case.
    pub english: Vec<String>,
    /// Terms of the lexicon's products of this kind.
    pub members: Vec<String>,
}

impl Kind {
    /// Every word for the kind: Chinese first, then English.
    pub fn words(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.kind)
            .chain(self.also.iter())
            .chain(self.english.iter())
    }
}

static KINDS: LazyLock<Vec<Kind>> =
    LazyLock::new(|| parse_kinds(include_str!("kinds.tsv")).expect("kinds.tsv is valid"));

/// The kinds shipped with qudao.
pub fn kinds() -> &'static [Kind] {
    &KINDS
}

/// Reads the kinds' tab-separated lines, like [`parse`].
pub fn parse_kinds(text: &str) -> Result<Vec<Kind>, String> {
    rows(text, &["kind", "also", "english", "members"])?
        .into_iter()
        .map(|(n, cells)| match &cells[..] {
            [kind, also, english, members] => Ok(Kind {
                kind: kind.trim().to_string(),
                also: list(also),
                english: list(english),
                members: list(members),
            }),
            _ => Err(format!("line {n}: {} cells, 4 expected", cells.len())),
        })
        .collect()
}

/// The lines of a tab-separated file after its comments, each with its line number,
/// checked against the header.
fn rows<'t>(text: &'t str, header: &[&str]) -> Result<Vec<(usize, Vec<&'t str>)>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    let head: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split('\t').collect())
        .unwrap_or_default();
    if head != header {
        return Err(format!("the header must be {}", header.join(" ")));
    }
    Ok(lines
        .map(|(n, l)| (n + 1, l.split('\t').collect()))
        .collect())
}

/// A `|`-separated list of words.
fn list(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

static SHIPPED: LazyLock<Vec<Product>> =
    LazyLock::new(|| parse(include_str!("products.tsv")).expect("products.tsv is valid"));

/// The lexicon shipped with qudao.
pub fn reference() -> &'static [Product] {
    &SHIPPED
}

/// Reads the lexicon's tab-separated lines (comments start with `#`; the first other
/// line is the header).
pub fn parse(text: &str) -> Result<Vec<Product>, String> {
    const HEADER: [&str; 6] = [
        "term",
        "category",
        "also",
        "traditional",
        "pinyin",
        "english",
    ];
    rows(text, &HEADER)?
        .into_iter()
        .map(|(n, cells)| match &cells[..] {
            [term, category, also, traditional, pinyin, english] => Ok(Product {
                term: term.trim().to_string(),
                category: category.trim().to_string(),
                also: list(also),
                traditional: list(traditional),
                pinyin: pinyin.trim().to_string(),
                english: list(english),
            }),
            _ => Err(format!("line {n}: {} cells, 6 expected", cells.len())),
        })
        .collect()
}

static FREQUENCIES: LazyLock<std::collections::HashMap<String, u64>> = LazyLock::new(|| {
    parse_frequencies(include_str!("frequencies.tsv")).expect("frequencies.tsv is valid")
});

/// How often a Chinese name of the lexicon or the taxonomy occurs in jieba's dictionary
/// (`frequencies.tsv`, written by `tools/lexicon.py`); 0 for a word it does not list.
pub fn frequency(word: &str) -> u64 {
    FREQUENCIES.get(word).copied().unwrap_or(0)
}

/// Reads `frequencies.tsv`: a word and a positive count a line.
pub fn parse_frequencies(text: &str) -> Result<std::collections::HashMap<String, u64>, String> {
    rows(text, &["word", "frequency"])?
        .into_iter()
        .map(|(n, cells)| match &cells[..] {
            [word, count] => match count.trim().parse::<u64>() {
                Ok(c) if c > 0 => Ok((word.trim().to_string(), c)),
                _ => Err(format!("line {n}: {count} is not a positive count")),
            },
            _ => Err(format!("line {n}: {} cells, 2 expected", cells.len())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::search::text::{fold, is_han, pinyin_of};

    fn categories() -> Vec<crate::catalog::categories::TaxonomyEntry> {
        crate::catalog::categories::reference()
    }

    #[test]
    fn the_lexicon_is_large_and_every_term_reaches_a_category() {
        let slugs: HashSet<String> = categories().into_iter().map(|c| c.slug).collect();
        let products = reference();
        assert!(products.len() >= 500, "{} products", products.len());
        for p in products {
            assert!(
                slugs.contains(&p.category),
                "{}: no category {}",
                p.term,
                p.category
            );
            assert!(!p.english.is_empty(), "{}: no English name", p.term);
        }
    }

    #[test]
    fn no_word_names_two_products_or_another_category() {
        let mut owner: HashMap<String, &str> = HashMap::new();
        for p in reference() {
            let words = p
                .chinese()
                .chain(p.traditional.iter())
                .map(|w| fold(w))
                .chain(p.english.iter().map(|w| fold(w)));
            let mut own: HashSet<String> = HashSet::new();
            for w in words {
                if !own.insert(w.clone()) {
                    continue;
                }
                if let Some(other) = owner.insert(w.clone(), &p.term) {
                    panic!("{w} names both {other} and {}", p.term);
                }
            }
        }
        // A category's names belong to that category: a product elsewhere may not use them.
        for c in categories() {
            let names = std::iter::once(&c.zh)
                .chain(std::iter::once(&c.en))
                .chain(c.aliases.iter())
                .chain(c.english.iter());
            for n in names {
                let Some(term) = owner.get(&fold(n)) else {
                    continue;
                };
                let p = reference().iter().find(|p| p.term == *term).unwrap();
                assert_eq!(
                    p.category, c.slug,
                    "{n} is {}'s name, and a form of {term}",
                    c.slug
                );
            }
        }
    }

    #[test]
    fn forms_are_words_and_traditional_forms_fold_to_a_simplified_name() {
        for p in reference() {
            for w in p.chinese() {
                assert!(
                    w.chars().count() >= 2 && w.chars().all(is_han),
                    "{}: {w}",
                    p.term
                );
                assert_eq!(&fold(w), w, "{}: {w} is not simplified", p.term);
            }
            for t in &p.traditional {
                let folded = fold(t);
                assert!(
                    p.chinese().any(|w| *w == folded),
                    "{}: {t} folds to {folded}, which is none of its names",
                    p.term
                );
            }
            for e in &p.english {
                assert!(
                    e.chars()
                        .all(|c| c.is_ascii_lowercase() || c == ' ' || c == '-'),
                    "{}: {e}",
                    p.term
                );
            }
            assert!(
                p.pinyin.chars().all(|c| c.is_ascii_lowercase()),
                "{}",
                p.term
            );
        }
    }

    #[test]
    fn the_pinyin_column_is_a_reading_of_the_term() {
        // Polyphonic characters may be read differently by the pinyin crate, so the
        // column must agree with it on most terms, and always on the length of the term.
        let products = reference();
        let agree = products
            .iter()
            .filter(|p| pinyin_of(&p.term).is_some_and(|(py, _)| py == p.pinyin))
            .count();
        assert!(
            agree * 100 >= products.len() * 95,
            "{agree} of {} agree",
            products.len()
        );
    }

    #[test]
    fn every_kind_covers_products_of_the_lexicon_and_names_nothing_else() {
        let terms: HashSet<&str> = reference().iter().map(|p| p.term.as_str()).collect();
        let mut taken: HashSet<String> = reference()
            .iter()
            .flat_map(|p| p.chinese().chain(&p.traditional).chain(&p.english))
            .map(|w| fold(w))
            .collect();
        for c in categories() {
            taken.extend(
                std::iter::once(&c.zh)
                    .chain(std::iter::once(&c.en))
                    .chain(&c.aliases)
                    .chain(&c.english)
                    .map(|w| fold(w)),
            );
        }
        assert!(kinds().len() >= 30, "{} kinds", kinds().len());
        for k in kinds() {
            assert!(k.members.len() >= 2, "{}", k.kind);
            for m in &k.members {
                assert!(terms.contains(m.as_str()), "{}: no product {m}", k.kind);
            }
            for w in k.words() {
                assert!(
                    taken.insert(fold(w)),
                    "{}: {w} already names something",
                    k.kind
                );
            }
        }
    }

    #[test]
    fn frequencies_are_of_names_search_knows() {
        let mut names: HashSet<String> = reference()
            .iter()
            .flat_map(|p| p.chinese().cloned())
            .collect();
        for c in categories() {
            names.insert(c.zh);
            names.extend(c.aliases);
        }
        let table = parse_frequencies(include_str!("frequencies.tsv")).unwrap();
        assert!(table.len() >= 500, "only {} words", table.len());
        let strays: Vec<&String> = table.keys().filter(|w| !names.contains(*w)).collect();
        assert!(
            strays.is_empty(),
            "not names of the lexicon or taxonomy: {strays:?}"
        );
        assert!(frequency("苹果") > frequency("芒果") && frequency("芒果") > 0);
        assert_eq!(frequency("羊肚菌"), 0, "jieba does not list it");
        assert!(
            parse_frequencies("word\tfrequency\n苹果\t0\n")
                .unwrap_err()
                .contains("line 2")
        );
    }

    #[test]
    fn a_malformed_lexicon_is_refused_with_its_line() {
        let head = "term\tcategory\talso\ttraditional\tpinyin\tenglish\n";
        assert!(parse("t\tc\n").unwrap_err().contains("header"));
        let err = parse(&format!("{head}蜂蜜\tprocessed\n")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let ok = parse(&format!(
            "# c\n{head}蜂蜜\tprocessed\t蜂糖|百花蜜\t\tfengmi\thoney\n"
        ))
        .unwrap();
        assert_eq!(ok[0].also, ["蜂糖", "百花蜜"]);
        assert!(ok[0].traditional.is_empty());
    }
}
