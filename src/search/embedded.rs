//! The embedded engine: a tantivy index under the data directory, Chinese split by jieba.
//!
//! Generations live side by side (`<dir>/<generation>/`); the file `<dir>/CURRENT` names
//! the live one. A rebuild fills a new generation and then replaces `CURRENT` with a
//! rename, so searches always see a complete index.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::directory::error::LockError;
use tantivy::index::SegmentId;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer, TokenStream};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, Opstamp, ReloadPolicy, Score,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};

use super::document::{Geo, SearchDocument};
use super::query::{
    Facets, Highlight, Hit, SearchRequest, SearchResults, Sort, Strategy, distance_m,
};
use super::text::highlight_html;
use super::vocabulary::QueryTerm;
use super::{SearchEngine, SearchError, Staging};
use crate::catalog::domain::Certification;

const JIEBA: &str = "qudao_jieba";
const WORD: &str = "qudao_word";
/// Memory the index writer may use before flushing a segment: tantivy's smallest budget.
/// Part of it is taken as soon as the writer opens and kept while it lives; the relay writes
/// small batches, and a rebuild's many segments are merged before it goes live.
const WRITER_HEAP: usize = 15_000_000;
/// Answers kept for one state of the index; past that, all of them are forgotten together.
const ANSWERS_KEPT: usize = 256;

/// The index fields.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    doc: Field,
    title: Field,
    description: Field,
    keywords: Field,
    pinyin: Field,
    initials: Field,
    organization_name: Field,
    region_names: Field,
    category_id: Field,
    category_ids: Field,
    region_codes: Field,
    organization_id: Field,
    certifications: Field,
    grade: Field,
    cert_mask: Field,
    county: Field,
    price_fen: Field,
    in_stock: Field,
    sold_milli: Field,
    created_at: Field,
    lat: Field,
    lng: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let jieba = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(JIEBA)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let word = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORD)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_i64_field("id", INDEXED | FAST),
        doc: b.add_text_field("doc", STORED),
        title: b.add_text_field("title", jieba.clone()),
        description: b.add_text_field("description", jieba.clone()),
        keywords: b.add_text_field("keywords", word.clone()),
        pinyin: b.add_text_field("pinyin", word.clone()),
        initials: b.add_text_field("initials", word.clone()),
        organization_name: b.add_text_field("organization_name", jieba),
        region_names: b.add_text_field("region_names", word),
        category_id: b.add_i64_field("category_id", FAST),
        category_ids: b.add_i64_field("category_ids", INDEXED),
        region_codes: b.add_text_field("region_codes", STRING),
        organization_id: b.add_i64_field("organization_id", INDEXED),
        certifications: b.add_text_field("certifications", STRING),
        grade: b.add_text_field("grade", STRING),
        cert_mask: b.add_u64_field("cert_mask", FAST),
        county: b.add_u64_field("county", FAST),
        price_fen: b.add_i64_field("price_fen", INDEXED | FAST),
        in_stock: b.add_bool_field("in_stock", INDEXED),
        sold_milli: b.add_i64_field("sold_milli", FAST),
        created_at: b.add_i64_field("created_at", FAST),
        lat: b.add_f64_field("lat", INDEXED | FAST),
        lng: b.add_f64_field("lng", INDEXED | FAST),
    };
    (b.build(), fields)
}

fn register_tokenizers(index: &Index) {
    index.tokenizers().register(
        JIEBA,
        TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
            .filter(LowerCaser)
            .build(),
    );
    index.tokenizers().register(
        WORD,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}

/// The certifications as bits, for counting facets from one fast field.
const CERTS: [Certification; 4] = [
    Certification::Organic,
    Certification::GreenFood,
    Certification::GeographicalIndication,
    Certification::PovertyAlleviation,
];

/// One generation of the index.
struct Generation {
    name: String,
    index: Index,
    reader: IndexReader,
    /// Opened on first write: a process that only reads (or only rebuilds, like
    /// `qudao reindex` beside a running server) must not take the index's write lock.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    answers: Mutex<Answers>,
}

/// Recent answers, valid for the index exactly as it was when they were found: popular
/// words and the next visitor's page of a category cost a lookup until the index changes.
#[derive(Default)]
struct Answers {
    /// The segments (and their deletions) the answers were found in.
    segments: BTreeMap<SegmentId, Option<Opstamp>>,
    by_request: HashMap<String, SearchResults>,
}

impl Answers {
    fn get(
        &self,
        segments: &BTreeMap<SegmentId, Option<Opstamp>>,
        key: &str,
    ) -> Option<SearchResults> {
        if self.segments != *segments {
            return None;
        }
        self.by_request.get(key).cloned()
    }

    fn keep(
        &mut self,
        segments: &BTreeMap<SegmentId, Option<Opstamp>>,
        key: String,
        results: &SearchResults,
    ) {
        if self.segments != *segments {
            // Answers for an index that has changed since are never right again.
            self.segments = segments.clone();
            self.by_request.clear();
        }
        if self.by_request.len() >= ANSWERS_KEPT {
            self.by_request.clear();
        }
        self.by_request.insert(key, results.clone());
    }
}

impl Generation {
    fn open(dir: &Path, name: &str, create: bool) -> anyhow::Result<Self> {
        let path = dir.join(name);
        let (schema, fields) = schema();
        let index = if create {
            std::fs::create_dir_all(&path)?;
            Index::create_in_dir(&path, schema)?
        } else {
            let index = Index::open_in_dir(&path)?;
            if index.schema() != schema {
                anyhow::bail!(SchemaChanged(name.to_string()));
            }
            index
        };
        register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Generation {
            name: name.to_string(),
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            answers: Mutex::default(),
        })
    }

    /// The writer, opened (and the index's write lock taken) on first use; `None` while
    /// another process holds the lock.
    fn writer(&self) -> anyhow::Result<Option<std::sync::MutexGuard<'_, Option<IndexWriter>>>> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("writer poisoned"))?;
        if guard.is_none() {
            // One indexing thread: the machine is shared with the web server.
            match self.index.writer_with_num_threads(1, WRITER_HEAP) {
                Ok(w) => *guard = Some(w),
                Err(tantivy::TantivyError::LockFailure(LockError::LockBusy, _)) => {
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(guard))
    }

    /// Closes the writer, if open, and gives up the index's write lock.
    fn release_writer(&self) {
        if let Ok(mut guard) = self.writer.lock() {
            guard.take();
        }
    }

    /// Runs `work` with the writer, then shows its result to searches; an error while another
    /// process holds the write lock.
    fn with_writer(
        &self,
        work: impl FnOnce(&mut IndexWriter) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut guard = self
            .writer()?
            .ok_or_else(|| anyhow::anyhow!("another process holds the write lock of this index"))?;
        work(guard.as_mut().expect("writer opened"))?;
        self.reader.reload()?;
        Ok(())
    }

    fn write(&self, docs: Vec<SearchDocument>, deletes: Vec<i64>) -> anyhow::Result<()> {
        // A commit with nothing in it still writes and syncs the index's metadata.
        if docs.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let f = self.fields;
        self.with_writer(|w| {
            for id in deletes {
                w.delete_term(Term::from_field_i64(f.id, id));
            }
            for d in docs {
                w.delete_term(Term::from_field_i64(f.id, d.id));
                w.add_document(to_tantivy(&f, &d)?)?;
            }
            w.commit()?;
            Ok(())
        })
    }

    /// Merges every segment into one. A rebuild writes the index in many batches, and each
    /// search pays for every segment it opens.
    fn compact(&self) -> anyhow::Result<()> {
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() < 2 {
            return Ok(());
        }
        self.with_writer(|w| {
            w.merge(&segments).wait()?;
            w.garbage_collect_files().wait()?;
            Ok(())
        })
    }
}

fn to_tantivy(f: &Fields, d: &SearchDocument) -> anyhow::Result<TantivyDocument> {
    let mut t = TantivyDocument::default();
    t.add_i64(f.id, d.id);
    t.add_text(f.doc, serde_json::to_string(d)?);
    t.add_text(f.title, &d.title);
    t.add_text(f.description, &d.description);
    t.add_text(f.organization_name, &d.organization_name);
    for (field, values) in [
        (f.keywords, &d.keywords),
        (f.pinyin, &d.pinyin),
        (f.initials, &d.initials),
        (f.region_names, &d.region_names),
        (f.region_codes, &d.region_codes),
    ] {
        for v in values {
            t.add_text(field, v);
        }
    }
    for c in &d.certifications {
        t.add_text(f.certifications, c.code());
    }
    t.add_text(f.grade, d.grade.code());
    t.add_i64(f.category_id, d.category_id);
    for c in &d.category_ids {
        t.add_i64(f.category_ids, *c);
    }
    t.add_i64(f.organization_id, d.organization_id);
    let mask = CERTS
        .iter()
        .enumerate()
        .filter(|(_, c)| d.certifications.contains(c))
        .fold(0u64, |m, (i, _)| m | (1 << i));
    t.add_u64(f.cert_mask, mask);
    let county = d
        .county_code
        .as_deref()
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0);
    t.add_u64(f.county, county);
    t.add_i64(f.price_fen, d.price_fen);
    t.add_bool(f.in_stock, d.in_stock);
    t.add_i64(f.sold_milli, d.sold_milli);
    t.add_i64(f.created_at, d.created_at);
    if let Some(g) = d.geo {
        t.add_f64(f.lat, g.lat);
        t.add_f64(f.lng, g.lng);
    }
    Ok(t)
}

/// The embedded search engine.
pub struct EmbeddedEngine {
    dir: PathBuf,
    live: RwLock<Arc<Generation>>,
    staging: Mutex<HashMap<String, Arc<Generation>>>,
    fresh: bool,
    /// Searches run on blocking threads. More at once than there are cores is no faster,
    /// and every extra thread keeps memory of its own, so the rest wait their turn.
    searching: tokio::sync::Semaphore,
}

fn new_generation_name() -> String {
    format!(
        "g{}-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A generation whose fields are not the ones this version indexes.
#[derive(Debug, thiserror::Error)]
#[error("the search index {0} was built with other fields than this version of qudao uses")]
struct SchemaChanged(String);

fn read_current(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && dir.join(s).is_dir())
}

fn write_current(dir: &Path, name: &str) -> anyhow::Result<()> {
    let tmp = dir.join(format!("CURRENT.{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, name)?;
    std::fs::rename(&tmp, dir.join("CURRENT"))?;
    Ok(())
}

fn internal(e: impl Into<anyhow::Error>) -> SearchError {
    SearchError::Internal(e.into())
}

impl EmbeddedEngine {
    /// Opens the live index under `dir`, creating an empty one on first use; generations
    /// other than the live one are left-overs of earlier rebuilds and are removed.
    pub fn open(dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let kept = match read_current(&dir) {
            Some(name) => match Generation::open(&dir, &name, false) {
                Ok(g) => Some(g),
                // Built by an earlier version with other fields: built again from the
                // database, as on first use.
                Err(e) if e.is::<SchemaChanged>() => {
                    tracing::warn!(error = %e, "building the search index again");
                    None
                }
                Err(e) => return Err(e.context(format!("opening the search index {name}"))),
            },
            None => None,
        };
        let (generation, fresh) = match kept {
            Some(g) => (g, false),
            None => {
                let name = new_generation_name();
                let g = Generation::open(&dir, &name, true)?;
                write_current(&dir, &name)?;
                (g, true)
            }
        };
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if e.path().is_dir() && name != generation.name {
                    std::fs::remove_dir_all(e.path()).ok();
                }
            }
        }
        Ok(EmbeddedEngine {
            dir,
            live: RwLock::new(Arc::new(generation)),
            staging: Mutex::new(HashMap::new()),
            fresh,
            searching: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        })
    }

    /// True when `open` found no index and created an empty one.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    fn live(&self) -> Arc<Generation> {
        self.live.read().expect("live index lock").clone()
    }

    /// Makes `generation` live; the old one's files are removed only when `remove_old`,
    /// because a rebuild run by `qudao reindex` cannot know whether a server still reads them.
    fn switch_to(&self, generation: Arc<Generation>, remove_old: bool) {
        let old = std::mem::replace(
            &mut *self.live.write().expect("live index lock"),
            generation,
        );
        let old_dir = self.dir.join(&old.name);
        drop(old);
        if remove_old {
            // Searches still holding the old generation keep their open files until they finish.
            std::fs::remove_dir_all(old_dir).ok();
        }
    }
}

/// Runs blocking index work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(SearchError::Internal)
}

impl SearchEngine for EmbeddedEngine {
    fn name(&self) -> &'static str {
        "embedded"
    }

    /// Synonyms reach this engine with each request (see [`QueryTerm::synonyms`]).
    async fn configure(
        &self,
        _synonyms: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), SearchError> {
        Ok(())
    }

    async fn upsert(
        &self,
        target: Option<&Staging>,
        docs: Vec<SearchDocument>,
    ) -> Result<(), SearchError> {
        let g = match target {
            Some(s) => self
                .staging
                .lock()
                .expect("staging lock")
                .get(&s.0)
                .cloned()
                .ok_or_else(|| internal(anyhow::anyhow!("no staging index {}", s.0)))?,
            None => self.live(),
        };
        blocking(move || g.write(docs, Vec::new())).await
    }

    async fn delete(&self, ids: Vec<i64>) -> Result<(), SearchError> {
        let g = self.live();
        blocking(move || g.write(Vec::new(), ids)).await
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        let g = self.live();
        // The request's words carry their synonyms, so a changed vocabulary is another key.
        let key = format!("{req:?}");
        // The answer is found in, and kept for, the index as this searcher sees it.
        let searcher = g.reader.searcher();
        let known = g
            .answers
            .lock()
            .expect("answers lock")
            .get(searcher.generation().segments(), &key);
        if let Some(known) = known {
            return Ok(known);
        }
        let _turn = self.searching.acquire().await.map_err(internal)?;
        let req = req.clone();
        blocking(move || {
            let results = search(&g, &searcher, &req)?;
            g.answers.lock().expect("answers lock").keep(
                searcher.generation().segments(),
                key,
                &results,
            );
            Ok(results)
        })
        .await
    }

    async fn create_staging(
        &self,
        _synonyms: &BTreeMap<String, Vec<String>>,
    ) -> Result<Staging, SearchError> {
        let dir = self.dir.clone();
        let name = new_generation_name();
        let n = name.clone();
        let g = blocking(move || Generation::open(&dir, &n, true)).await?;
        self.staging
            .lock()
            .expect("staging lock")
            .insert(name.clone(), Arc::new(g));
        Ok(Staging(name))
    }

    async fn publish(&self, staging: Staging) -> Result<(), SearchError> {
        let g = self
            .staging
            .lock()
            .expect("staging lock")
            .remove(&staging.0)
            .ok_or_else(|| internal(anyhow::anyhow!("no staging index {}", staging.0)))?;
        let staged = g.clone();
        blocking(move || {
            staged.compact()?;
            // Whoever writes the live index claims it afresh: an instance without a relay that
            // built it must not keep the write lock from the instances that have one.
            staged.release_writer();
            Ok(())
        })
        .await?;
        write_current(&self.dir, &g.name).map_err(internal)?;
        // Left-over generations are removed by the server that notices the switch, or at the next start.
        self.switch_to(g, false);
        Ok(())
    }

    async fn discard(&self, staging: Staging) -> Result<(), SearchError> {
        drop(
            self.staging
                .lock()
                .expect("staging lock")
                .remove(&staging.0),
        );
        if staging.0 == self.live().name {
            return Ok(());
        }
        let dir = self.dir.join(&staging.0);
        blocking(move || match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        })
        .await
    }

    async fn refresh(&self) -> Result<(), SearchError> {
        let Some(current) = read_current(&self.dir) else {
            return Ok(());
        };
        if current == self.live().name {
            // Another process may hold the writer and have committed since.
            let g = self.live();
            return blocking(move || Ok(g.reader.reload()?)).await;
        }
        let dir = self.dir.clone();
        let g = blocking(move || Generation::open(&dir, &current, false)).await?;
        self.switch_to(Arc::new(g), true);
        Ok(())
    }

    async fn claim_writer(&self) -> Result<bool, SearchError> {
        let g = self.live();
        blocking(move || Ok(g.writer()?.is_some())).await
    }

    async fn health(&self) -> Result<(), SearchError> {
        let g = self.live();
        let path = self.dir.join(&g.name);
        // The files under the live index must still be there for searches to work.
        blocking(move || {
            anyhow::ensure!(path.is_dir(), "the index at {} is gone", path.display());
            g.index.searchable_segment_ids()?;
            Ok(())
        })
        .await
    }
}

/// How much each field counts when a word matches it.
const BOOST_KEYWORDS: Score = 3.0;
const BOOST_TITLE: Score = 2.0;
const BOOST_PINYIN: Score = 2.0;
const BOOST_PLACE: Score = 1.5;
const BOOST_ORGANIZATION: Score = 1.0;
const BOOST_DESCRIPTION: Score = 0.5;
/// A synonym counts a little less than the word typed.
const SYNONYM_WEIGHT: Score = 0.8;

fn boxed(q: impl Query + 'static) -> Box<dyn Query> {
    Box::new(q)
}

/// A word as a query on a jieba field: one term, or the phrase of its pieces.
fn text_query(index: &Index, field: Field, word: &str) -> Option<Box<dyn Query>> {
    let mut analyzer = index.tokenizer_for_field(field).ok()?;
    let mut stream = analyzer.token_stream(word);
    let mut terms: Vec<(usize, Term)> = Vec::new();
    let mut last_end = 0;
    while let Some(tok) = stream.next() {
        // Search mode also yields overlapping sub-words; a phrase needs only the cover.
        let start = word[..tok.offset_from].chars().count();
        if tok.offset_from < last_end {
            continue;
        }
        last_end = tok.offset_to;
        terms.push((start, Term::from_field_text(field, &tok.text)));
    }
    match terms.len() {
        0 => None,
        1 => Some(boxed(TermQuery::new(
            terms.pop()?.1,
            IndexRecordOption::WithFreqs,
        ))),
        _ => Some(boxed(PhraseQuery::new_with_offset(terms))),
    }
}

/// Everything one query word may match, with its synonyms.
fn term_clause(g: &Generation, term: &QueryTerm) -> Box<dyn Query> {
    let f = g.fields;
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let word = |field: Field, w: &str, boost: Score| -> Box<dyn Query> {
        boxed(BoostQuery::new(
            boxed(TermQuery::new(
                Term::from_field_text(field, w),
                IndexRecordOption::WithFreqs,
            )),
            boost,
        ))
    };
    let typed = term.text.as_str();
    should.push((Occur::Should, word(f.keywords, typed, BOOST_KEYWORDS)));
    should.push((Occur::Should, word(f.pinyin, typed, BOOST_PINYIN)));
    should.push((Occur::Should, word(f.initials, typed, BOOST_PINYIN)));
    should.push((Occur::Should, word(f.region_names, typed, BOOST_PLACE)));
    for (field, boost) in [
        (f.title, BOOST_TITLE),
        (f.organization_name, BOOST_ORGANIZATION),
        (f.description, BOOST_DESCRIPTION),
    ] {
        if let Some(q) = text_query(&g.index, field, typed) {
            should.push((Occur::Should, boxed(BoostQuery::new(q, boost))));
        }
    }
    for syn in &term.synonyms {
        should.push((
            Occur::Should,
            word(f.keywords, syn, BOOST_KEYWORDS * SYNONYM_WEIGHT),
        ));
        if let Some(q) = text_query(&g.index, f.title, syn) {
            should.push((
                Occur::Should,
                boxed(BoostQuery::new(q, BOOST_TITLE * SYNONYM_WEIGHT)),
            ));
        }
    }
    boxed(BooleanQuery::new(should))
}

fn filter(q: impl Query + 'static) -> (Occur, Box<dyn Query>) {
    (Occur::Must, boxed(ConstScoreQuery::new(boxed(q), 0.0)))
}

fn exact(term: Term) -> TermQuery {
    TermQuery::new(term, IndexRecordOption::Basic)
}

/// The words part of a request, as the strategy wants it.
fn words_query(g: &Generation, req: &SearchRequest) -> Option<Box<dyn Query>> {
    if req.terms.is_empty() {
        return None;
    }
    // Loosely, one of the product words is enough (腊肉 or 香肠); the others rank.
    let mut required: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for t in req.terms.iter().filter(|t| req.considered(t)) {
        if req.required(t) {
            required.push((Occur::Should, term_clause(g, t)));
        } else {
            clauses.push((Occur::Should, term_clause(g, t)));
        }
    }
    match req.strategy {
        Strategy::Strict => {
            if required.is_empty() {
                return None;
            }
            clauses.extend(required.into_iter().map(|(_, q)| (Occur::Must, q)));
        }
        Strategy::Loose if !required.is_empty() => {
            clauses.extend(required.iter().map(|(_, q)| (Occur::Should, q.box_clone())));
            clauses.push((Occur::Must, boxed(BooleanQuery::new(required))));
        }
        Strategy::Loose => {}
    }
    Some(boxed(BooleanQuery::new(clauses)))
}

fn full_query(g: &Generation, req: &SearchRequest, words: Option<&dyn Query>) -> Box<dyn Query> {
    let f = g.fields;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    match words {
        Some(w) => clauses.push((Occur::Must, w.box_clone())),
        None => clauses.push((Occur::Must, boxed(AllQuery))),
    }
    let flt = &req.filters;
    if let Some(c) = flt.category_id {
        clauses.push(filter(exact(Term::from_field_i64(f.category_ids, c))));
    }
    if let Some(code) = &flt.region_code {
        clauses.push(filter(exact(Term::from_field_text(f.region_codes, code))));
    }
    if let Some(o) = flt.organization_id {
        clauses.push(filter(exact(Term::from_field_i64(f.organization_id, o))));
    }
    if let Some(c) = flt.certification {
        clauses.push(filter(exact(Term::from_field_text(
            f.certifications,
            c.code(),
        ))));
    }
    if let Some(g) = flt.min_grade {
        let grades = g
            .at_least()
            .map(|g| Term::from_field_text(f.grade, g.code()));
        clauses.push(filter(TermSetQuery::new(grades)));
    }
    if let Some(s) = flt.in_stock {
        clauses.push(filter(exact(Term::from_field_bool(f.in_stock, s))));
    }
    if let Some(ids) = &flt.listing_ids {
        let terms = ids.iter().map(|id| Term::from_field_i64(f.id, *id));
        clauses.push(filter(TermSetQuery::new(terms)));
    }
    if flt.min_price_fen.is_some() || flt.max_price_fen.is_some() {
        let lo = flt.min_price_fen.map_or(Bound::Unbounded, |p| {
            Bound::Included(Term::from_field_i64(f.price_fen, p))
        });
        let hi = flt.max_price_fen.map_or(Bound::Unbounded, |p| {
            Bound::Included(Term::from_field_i64(f.price_fen, p))
        });
        clauses.push(filter(RangeQuery::new(lo, hi)));
    }
    if let (Some(near), Some(r)) = (req.near, req.radius_m) {
        // A box around the circle narrows the candidates; the collector keeps the circle.
        let dlat = f64::from(r) / 111_000.0;
        let dlng = dlat / near.lat.to_radians().cos().max(0.01);
        for (field, centre, d) in [(f.lat, near.lat, dlat), (f.lng, near.lng, dlng)] {
            clauses.push(filter(RangeQuery::new(
                Bound::Included(Term::from_field_f64(field, centre - d)),
                Bound::Included(Term::from_field_f64(field, centre + d)),
            )));
        }
    }
    boxed(BooleanQuery::new(clauses))
}

fn search(
    g: &Generation,
    searcher: &tantivy::Searcher,
    req: &SearchRequest,
) -> anyhow::Result<SearchResults> {
    let words = words_query(g, req);
    let query = full_query(g, req, words.as_deref());
    let collector = ResultsCollector {
        sort: req.sort,
        near: req.near,
        radius_m: req.radius_m.map(f64::from),
        keep: (req.offset() + req.per_page) as usize,
        fields: g.fields,
    };
    let (top, total, facets) = searcher.search(query.as_ref(), &collector)?;
    let highlighters = match &words {
        Some(w) => {
            let title = SnippetGenerator::create(searcher, w.as_ref(), g.fields.title)?;
            let mut description =
                SnippetGenerator::create(searcher, w.as_ref(), g.fields.description)?;
            description.set_max_num_chars(120);
            Some((title, description))
        }
        None => None,
    };
    let mut hits = Vec::new();
    for ranked in top.into_iter().skip(req.offset() as usize) {
        let stored: TantivyDocument = searcher.doc(ranked.addr)?;
        let json = stored
            .get_first(g.fields.doc)
            .and_then(|v| v.as_str())
            .context("a stored document")?;
        let doc: SearchDocument = serde_json::from_str(json)?;
        let highlight = match &highlighters {
            Some((t, d)) => Highlight {
                title: snippet_html(t, &doc.title, true),
                description: snippet_html(d, &doc.description, false),
            },
            None => plain_highlight(&doc),
        };
        let distance_m = req.near.zip(doc.geo).map(|(a, b)| distance_m(a, b));
        hits.push(Hit {
            doc,
            highlight,
            distance_m,
        });
    }
    Ok(SearchResults {
        hits,
        total,
        facets,
        strategy: req.strategy,
    })
}

/// A title or description with nothing highlighted.
pub fn plain_highlight(doc: &SearchDocument) -> Highlight {
    Highlight {
        title: highlight_html(&doc.title, &[]),
        description: highlight_html(&doc.description.chars().take(60).collect::<String>(), &[]),
    }
}

fn snippet_html(generator: &SnippetGenerator, text: &str, whole: bool) -> String {
    let s = generator.snippet(text);
    if s.highlighted().is_empty() {
        let shown: String = if whole {
            text.to_string()
        } else {
            text.chars().take(60).collect()
        };
        return highlight_html(&shown, &[]);
    }
    let (fragment, offset) = if whole {
        (text, s.fragment_range().start)
    } else {
        (s.fragment(), 0)
    };
    let ranges: Vec<(usize, usize)> = s
        .highlighted()
        .iter()
        .map(|r| (r.start + offset, r.end + offset))
        .collect();
    highlight_html(fragment, &ranges)
}

/// Orders hits: smaller is better; ties go to the lower listing id.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    key: f64,
    id: i64,
    addr: DocAddress,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.total_cmp(&other.key).then(self.id.cmp(&other.id))
    }
}

/// Collects the best `keep` hits in the requested order, the total, and the facet counts,
/// keeping only hits inside the radius when one is given.
struct ResultsCollector {
    sort: Sort,
    near: Option<Geo>,
    radius_m: Option<f64>,
    keep: usize,
    fields: Fields,
}

type Fruit = (Vec<Ranked>, u64, Facets);

struct SegmentResults {
    sort: Sort,
    near: Option<Geo>,
    radius_m: Option<f64>,
    keep: usize,
    segment: SegmentOrdinal,
    id: Column<i64>,
    price: Column<i64>,
    sold: Column<i64>,
    created: Column<i64>,
    lat: Column<f64>,
    lng: Column<f64>,
    category: Column<i64>,
    county: Column<u64>,
    certs: Column<u64>,
    heap: BinaryHeap<Ranked>,
    total: u64,
    // Counted for every hit, so hashed cheaply: the keys are our own small integers.
    category_counts: rustc_hash::FxHashMap<i64, u64>,
    county_counts: rustc_hash::FxHashMap<u64, u64>,
    cert_counts: [u64; 4],
}

impl Collector for ResultsCollector {
    type Fruit = Fruit;
    type Child = SegmentResults;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentResults> {
        let ff = reader.fast_fields();
        Ok(SegmentResults {
            sort: self.sort,
            near: self.near,
            radius_m: self.radius_m,
            keep: self.keep,
            segment,
            id: ff.i64("id")?,
            price: ff.i64("price_fen")?,
            sold: ff.i64("sold_milli")?,
            created: ff.i64("created_at")?,
            lat: ff.f64("lat")?,
            lng: ff.f64("lng")?,
            category: ff.i64("category_id")?,
            county: ff.u64("county")?,
            certs: ff.u64("cert_mask")?,
            heap: BinaryHeap::new(),
            total: 0,
            category_counts: Default::default(),
            county_counts: Default::default(),
            cert_counts: [0; 4],
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Fruit>) -> tantivy::Result<Fruit> {
        let _ = self.fields;
        let mut all: Vec<Ranked> = Vec::new();
        let mut total = 0;
        let mut facets = Facets::default();
        for (ranked, t, f) in fruits {
            all.extend(ranked);
            total += t;
            for (k, v) in f.category {
                *facets.category.entry(k).or_default() += v;
            }
            for (k, v) in f.county {
                *facets.county.entry(k).or_default() += v;
            }
            for (k, v) in f.certification {
                *facets.certification.entry(k).or_default() += v;
            }
        }
        all.sort();
        all.truncate(self.keep);
        Ok((all, total, facets))
    }
}

impl SegmentCollector for SegmentResults {
    type Fruit = Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        // Coordinates are read only when there is somewhere to measure from.
        let distance = self.near.and_then(|near| {
            let lat = self.lat.first(doc)?;
            let lng = self.lng.first(doc)?;
            Some(distance_m(near, Geo { lat, lng }))
        });
        if let Some(r) = self.radius_m
            && distance.is_none_or(|d| d > r)
        {
            return;
        }
        self.total += 1;
        if let Some(c) = self.category.first(doc) {
            *self.category_counts.entry(c).or_default() += 1;
        }
        if let Some(c) = self.county.first(doc).filter(|c| *c > 0) {
            *self.county_counts.entry(c).or_default() += 1;
        }
        let mask = self.certs.first(doc).unwrap_or(0);
        for (i, n) in self.cert_counts.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *n += 1;
            }
        }
        let value = |c: &Column<i64>| c.first(doc).unwrap_or(0) as f64;
        let key = match self.sort {
            Sort::Relevance => -f64::from(score),
            Sort::PriceAsc => value(&self.price),
            Sort::PriceDesc => -value(&self.price),
            Sort::Distance => distance.unwrap_or(f64::INFINITY),
            Sort::Newest => -value(&self.created),
            Sort::Sales => -value(&self.sold),
        };
        let ranked = Ranked {
            key,
            id: self.id.first(doc).unwrap_or(0),
            addr: DocAddress::new(self.segment, doc),
        };
        if self.heap.len() < self.keep {
            self.heap.push(ranked);
        } else if self.heap.peek().is_some_and(|worst| ranked < *worst) {
            self.heap.pop();
            self.heap.push(ranked);
        }
    }

    fn harvest(self) -> Fruit {
        let facets = Facets {
            category: self.category_counts.into_iter().collect(),
            county: self
                .county_counts
                .into_iter()
                .map(|(k, v)| (format!("{k:06}"), v))
                .collect(),
            certification: CERTS
                .iter()
                .zip(self.cert_counts)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| (c.code().to_string(), n))
                .collect(),
        };
        (self.heap.into_vec(), self.total, facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index written by a version of qudao with other fields (here: before grades were
    /// indexed) is not read with this version's fields: it is replaced by an empty one,
    /// which the server fills from the database as on first use.
    #[test]
    fn an_index_with_other_fields_is_built_again() {
        let dir = tempfile::tempdir().unwrap();
        let (current, _) = schema();
        let mut older = Schema::builder();
        for (_, entry) in current.fields().filter(|(_, e)| e.name() != "grade") {
            older.add_field(entry.clone());
        }
        std::fs::create_dir_all(dir.path().join("gold")).unwrap();
        Index::create_in_dir(dir.path().join("gold"), older.build()).unwrap();
        write_current(dir.path(), "gold").unwrap();

        let engine = EmbeddedEngine::open(dir.path()).unwrap();
        assert!(engine.is_fresh());
        let live = read_current(dir.path()).unwrap();
        assert_ne!(live, "gold");
        assert!(!dir.path().join("gold").exists());
        drop(engine);

        let again = EmbeddedEngine::open(dir.path()).unwrap();
        assert!(
            !again.is_fresh(),
            "an index of this version's fields is kept"
        );
        assert_eq!(read_current(dir.path()).unwrap(), live);
    }
}
