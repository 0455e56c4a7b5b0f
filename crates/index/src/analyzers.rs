//! Text analysis, defined in one place. Every text field of the index uses one tokenizer,
//! `silkmatch`, that reads a language marker at the start of each value and hands the rest to that
//! language's analyzer; queries are analysed with the same per-language analyzers.
//!
//! Tantivy does not save analyzers with an index: `register` must run on create and on every open.

use tantivy::Index;

use crate::arabic::ArabicLightStemmer;
use tantivy::tokenizer::{
    AsciiFoldingFilter, BoxTokenStream, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// Name under which the dispatching tokenizer is registered; the schema's text fields use it.
pub const TOKENIZER_NAME: &str = "silkmatch";

/// Tokens longer than this (in bytes) are dropped: they are never useful words and tantivy refuses
/// terms past 64 KiB, so a pasted blob must not break indexing.
const MAX_TOKEN_BYTES: usize = 64;

/// Opens the language marker; private-use characters cannot collide with real text.
const MARKER_OPEN: char = '\u{E000}';
/// Closes the language marker.
const MARKER_CLOSE: char = '\u{E001}';

/// The analyzers silkmatch knows. Languages without one of their own use `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Analysis {
    /// English: stop words, Snowball stemming, accent folding.
    English,
    /// Chinese: jieba word segmentation (search mode), punctuation and function words dropped.
    Chinese,
    /// Russian: stop words, Snowball stemming (also used for other Cyrillic languages' loan words).
    Russian,
    /// Arabic: normalisation (diacritics, tatweel, alef forms) and Light10 stemming (`arabic.rs`).
    Arabic,
    /// French: stop words, stemming, accent folding.
    French,
    /// Spanish: stop words, stemming, accent folding.
    Spanish,
    /// Turkish: stemming.
    Turkish,
    /// German: stop words, stemming, accent folding.
    German,
    /// Everything else: Unicode word splitting and lower-casing, no stemming.
    Other,
}

impl Analysis {
    /// Every analyzer, for query expansion across languages.
    pub const ALL: [Analysis; 9] = [
        Analysis::English,
        Analysis::Chinese,
        Analysis::Russian,
        Analysis::Arabic,
        Analysis::French,
        Analysis::Spanish,
        Analysis::Turkish,
        Analysis::German,
        Analysis::Other,
    ];

    /// The analyzer for a BCP-47 primary tag.
    pub fn for_language(tag: &str) -> Analysis {
        match tag {
            "en" => Analysis::English,
            "zh" => Analysis::Chinese,
            "ru" | "be" | "uk" => Analysis::Russian,
            "ar" => Analysis::Arabic,
            "fr" => Analysis::French,
            "es" => Analysis::Spanish,
            "tr" => Analysis::Turkish,
            "de" => Analysis::German,
            _ => Analysis::Other,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Analysis::English => "en",
            Analysis::Chinese => "zh",
            Analysis::Russian => "ru",
            Analysis::Arabic => "ar",
            Analysis::French => "fr",
            Analysis::Spanish => "es",
            Analysis::Turkish => "tr",
            Analysis::German => "de",
            Analysis::Other => "xx",
        }
    }

    fn from_code(code: &str) -> Analysis {
        Analysis::ALL
            .into_iter()
            .find(|analysis| analysis.code() == code)
            .unwrap_or(Analysis::Other)
    }

    /// This language's analyzer. Built once per process (stop-word sets and filter chains are not
    /// free) and cloned per use, since a `TextAnalyzer` needs `&mut` to tokenize.
    pub fn analyzer(self) -> TextAnalyzer {
        static BUILT: std::sync::OnceLock<Vec<TextAnalyzer>> = std::sync::OnceLock::new();
        let built = BUILT.get_or_init(|| {
            Analysis::ALL
                .iter()
                .map(|analysis| analysis.build())
                .collect()
        });
        built[Analysis::ALL
            .iter()
            .position(|analysis| *analysis == self)
            .expect("ALL lists every analysis")]
        .clone()
    }

    fn build(self) -> TextAnalyzer {
        let words = || {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(LowerCaser)
        };
        let stemmed = |language: Language, fold_accents: bool| {
            let base = words()
                .filter(
                    StopWordFilter::new(language)
                        .expect("tantivy ships stop words for this language"),
                )
                .filter(Stemmer::new(language));
            if fold_accents {
                base.filter(AsciiFoldingFilter).build()
            } else {
                base.build()
            }
        };
        match self {
            Analysis::English => words()
                .filter(StopWordFilter::remove(
                    ENGLISH_STOP_WORDS.iter().map(|word| word.to_string()),
                ))
                .filter(Stemmer::new(Language::English))
                .filter(AsciiFoldingFilter)
                .build(),
            Analysis::Chinese => TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
                .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                .filter(WordsOnly)
                .filter(LowerCaser)
                .filter(StopWordFilter::remove(
                    CHINESE_STOP_WORDS.iter().map(|word| word.to_string()),
                ))
                .build(),
            Analysis::Russian => stemmed(Language::Russian, false),
            Analysis::Arabic => words().filter(ArabicLightStemmer).build(),
            Analysis::French => stemmed(Language::French, true),
            Analysis::Spanish => stemmed(Language::Spanish, true),
            Analysis::Turkish => words().filter(Stemmer::new(Language::Turkish)).build(),
            Analysis::German => stemmed(Language::German, true),
            Analysis::Other => words().build(),
        }
    }

    /// The terms matching weighs `text` by: the index's terms, except that Chinese is cut into
    /// whole words only (jieba's default mode) with generic words dropped. The index cuts Chinese in
    /// search mode, adding every dictionary sub-word of a long word (超临界 → 临界, 超临界), which
    /// helps a short query find a long word but, as a listing's own terms, counts one concept
    /// several times and fills its discriminative terms with fragments (docs/matching.md,
    /// "Chinese"). Every whole word is also an index term, so candidates are still found by them.
    pub fn matching_terms(self, text: &str) -> Vec<String> {
        if self != Analysis::Chinese {
            return self.terms(text);
        }
        static WHOLE_WORDS: std::sync::OnceLock<TextAnalyzer> = std::sync::OnceLock::new();
        let mut analyzer = WHOLE_WORDS
            .get_or_init(|| {
                TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::with_search_mode(false))
                    .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
                    .filter(WordsOnly)
                    .filter(LowerCaser)
                    .filter(StopWordFilter::remove(
                        CHINESE_STOP_WORDS
                            .iter()
                            .chain(CHINESE_GENERIC_WORDS)
                            .map(|word| word.to_string()),
                    ))
                    .build()
            })
            .clone();
        tokens(&mut analyzer, text)
    }

    /// The analysed terms of `text`, in order, duplicates kept (term frequency matters to queries).
    pub fn terms(self, text: &str) -> Vec<String> {
        tokens(&mut self.analyzer(), text)
    }
}

/// The tokens `analyzer` makes of `text`, in order, duplicates kept.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

/// Prefixes `text` with the marker that tells the index tokenizer which analyzer to use.
pub fn mark_language(analysis: Analysis, text: &str) -> String {
    let mut marked = String::with_capacity(text.len() + 8);
    marked.push(MARKER_OPEN);
    marked.push_str(analysis.code());
    marked.push(MARKER_CLOSE);
    marked.push_str(text);
    marked
}

/// Splits a marked value into its analyzer and the text proper (unmarked text uses `Other`).
fn split_marker(text: &str) -> (Analysis, &str, usize) {
    if let Some(rest) = text.strip_prefix(MARKER_OPEN)
        && let Some((code, body)) = rest.split_once(MARKER_CLOSE)
    {
        let offset = text.len() - body.len();
        return (Analysis::from_code(code), body, offset);
    }
    (Analysis::Other, text, 0)
}

/// Registers the dispatching tokenizer on an index (on create and after every open).
pub fn register(index: &Index) {
    index
        .tokenizers()
        .register(TOKENIZER_NAME, MultilingualTokenizer::new());
}

/// The index-time tokenizer: one analyzer per language, chosen by each value's marker.
#[derive(Clone)]
pub struct MultilingualTokenizer {
    analyzers: Vec<(Analysis, TextAnalyzer)>,
}

impl MultilingualTokenizer {
    /// Builds every analyzer once; the tokenizer is cloned per indexing thread.
    pub fn new() -> MultilingualTokenizer {
        MultilingualTokenizer {
            analyzers: Analysis::ALL
                .into_iter()
                .map(|analysis| (analysis, analysis.analyzer()))
                .collect(),
        }
    }
}

impl Default for MultilingualTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Tokenizer for MultilingualTokenizer {
    type TokenStream<'a> = ShiftedOffsets<BoxTokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        let (analysis, body, offset) = split_marker(text);
        let analyzer = &mut self
            .analyzers
            .iter_mut()
            .find(|(candidate, _)| *candidate == analysis)
            .expect("every analysis is built")
            .1;
        ShiftedOffsets {
            inner: analyzer.token_stream(body),
            offset,
        }
    }
}

/// Moves token offsets past the marker so they point into the original value.
pub struct ShiftedOffsets<T> {
    inner: T,
    offset: usize,
}

impl<T: TokenStream> TokenStream for ShiftedOffsets<T> {
    fn advance(&mut self) -> bool {
        if !self.inner.advance() {
            return false;
        }
        let offset = self.offset;
        let token = self.inner.token_mut();
        token.offset_from += offset;
        token.offset_to += offset;
        true
    }

    fn token(&self) -> &Token {
        self.inner.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.inner.token_mut()
    }
}

/// Drops tokens with no letter or digit: jieba emits punctuation and spaces as tokens.
#[derive(Clone, Copy)]
struct WordsOnly;

impl TokenFilter for WordsOnly {
    type Tokenizer<T: Tokenizer> = WordsOnlyFilter<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsOnlyFilter<T> {
        WordsOnlyFilter(tokenizer)
    }
}

#[derive(Clone)]
struct WordsOnlyFilter<T>(T);

impl<T: Tokenizer> Tokenizer for WordsOnlyFilter<T> {
    type TokenStream<'a> = WordsOnlyStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsOnlyStream(self.0.token_stream(text))
    }
}

struct WordsOnlyStream<S>(S);

impl<S: TokenStream> TokenStream for WordsOnlyStream<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }
    fn token(&self) -> &Token {
        self.0.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// English stop words: the Snowball/NLTK list. Tantivy's default list (Lucene's 33 words) leaves
/// verbose queries ("I am interested in articles about ...") full of noise terms.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shan't",
    "she",
    "should",
    "shouldn't",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "wasn't",
    "we",
    "were",
    "weren't",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "s",
    "t",
    "also",
    "may",
    "might",
    "must",
    "shall",
    "upon",
    "via",
    "within",
    "without",
    "etc",
    "e",
    "g",
    "ie",
    "eg",
];

/// Stemmed English words that phrase a request rather than name its subject ("I am interested in
/// articles about ...", "we are looking for ..."). Dropped from queries only, never from documents,
/// where they may be content. Measured on CACM's verbose queries: nDCG@10 0.489 → 0.503.
const ENGLISH_REQUEST_WORDS: &[&str] = &[
    "articl",
    "paper",
    "document",
    "interest",
    "describ",
    "discuss",
    "deal",
    "exist",
    "like",
    "want",
    "find",
    "look",
    "pleas",
    "anyth",
    "someth",
    "regard",
    "concern",
    "publish",
    "written",
    "seek",
    "wish",
    "particular",
    "especi",
];

/// Whether `term`, produced by `analysis`, is request phrasing to leave out of a query.
pub fn is_request_word(analysis: Analysis, term: &str) -> bool {
    analysis == Analysis::English && ENGLISH_REQUEST_WORDS.contains(&term)
}

/// Words of Chinese technology listings that say what kind of text it is, not what it is about
/// (technology, system, method, device, research, application...): matching leaves them out of a
/// listing's terms. Search keeps them (a user may type them).
const CHINESE_GENERIC_WORDS: &[&str] = &[
    "技术",
    "系统",
    "方法",
    "装置",
    "设备",
    "研究",
    "应用",
    "开发",
    "研制",
    "实现",
    "提供",
    "采用",
    "包括",
    "用于",
    "基于",
    "提高",
    "解决",
    "问题",
    "领域",
    "产品",
    "项目",
    "需求",
    "需要",
    "要求",
    "相关",
    "主要",
    "能够",
    "使用",
    "利用",
    "以及",
    "方面",
    "目前",
    "具备",
    "合作",
    "寻求",
    "企业",
    "公司",
    "单位",
    "有限公司",
    "一定",
    "较",
    "更",
    "很",
    "非常",
    "如何",
    "哪些",
    "所",
    "其中",
];

/// Chinese function words that jieba keeps as tokens but that carry no topic.
const CHINESE_STOP_WORDS: &[&str] = &[
    "的", "了", "和", "与", "及", "或", "是", "在", "对", "为", "以", "等", "将", "把", "被", "从",
    "由", "于", "其", "该", "这", "那", "个", "之", "并", "而", "也", "都", "就", "可", "能", "中",
    "上", "下", "一种", "一个", "我们", "通过", "进行", "可以", "具有",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn index_terms(analysis: Analysis, text: &str) -> Vec<String> {
        let mut tokenizer = MultilingualTokenizer::new();
        let marked = mark_language(analysis, text);
        let mut stream = tokenizer.token_stream(&marked);
        let mut terms = Vec::new();
        while stream.advance() {
            let token = stream.token();
            assert_eq!(
                &marked[token.offset_from..token.offset_to]
                    .to_lowercase()
                    .is_empty(),
                &false
            );
            terms.push(token.text.clone());
        }
        terms
    }

    #[test]
    fn chinese_is_segmented_into_words() {
        let terms = index_terms(Analysis::Chinese, "废旧锂电池回收技术，提高锂的回收率。");
        assert!(terms.contains(&"锂电池".to_string()), "{terms:?}");
        assert!(terms.contains(&"回收".to_string()), "{terms:?}");
        assert!(
            !terms.iter().any(|term| term == "，" || term == "的"),
            "{terms:?}"
        );
    }

    #[test]
    fn matching_cuts_chinese_into_whole_words_the_index_also_holds() {
        let text = "超临界二氧化碳无水染色成套技术与装备，提高染色系统的效率。";
        let whole = Analysis::Chinese.matching_terms(text);
        let indexed = index_terms(Analysis::Chinese, text);
        assert!(whole.contains(&"超临界".to_string()), "{whole:?}");
        // No sub-words of a longer word (the index has 临界 beside 超临界), no generic words.
        assert!(!whole.contains(&"临界".to_string()), "{whole:?}");
        assert!(indexed.contains(&"临界".to_string()), "{indexed:?}");
        for generic in ["技术", "系统", "提高"] {
            assert!(!whole.iter().any(|term| term == generic), "{whole:?}");
        }
        // Every whole word is an index term, so the candidate scan finds listings by it.
        for term in &whole {
            assert!(indexed.contains(term), "{term} not indexed: {indexed:?}");
        }
        // Other languages are analysed for matching exactly as for the index.
        let english = "Waterless textile dyeing with supercritical CO2";
        assert_eq!(
            Analysis::English.matching_terms(english),
            Analysis::English.terms(english)
        );
    }

    #[test]
    fn russian_inflections_share_a_stem() {
        let forms = [
            "аккумулятор",
            "аккумуляторов",
            "аккумуляторами",
            "аккумулятора",
        ];
        let stems: Vec<Vec<String>> = forms
            .iter()
            .map(|form| Analysis::Russian.terms(form))
            .collect();
        assert!(stems.windows(2).all(|pair| pair[0] == pair[1]), "{stems:?}");
    }

    #[test]
    fn arabic_is_normalised_and_stemmed() {
        // With and without the definite article and a plural suffix.
        let plain = Analysis::Arabic.terms("بطارية");
        let with_article = Analysis::Arabic.terms("البطارية");
        assert_eq!(plain, with_article);
    }

    #[test]
    fn english_drops_stop_words_and_stems() {
        assert_eq!(
            Analysis::English.terms("I am interested in Recycling of batteries"),
            vec!["interest", "recycl", "batteri"]
        );
    }

    #[test]
    fn offsets_point_into_the_marked_value() {
        let marked = mark_language(Analysis::English, "solar pumps");
        let mut tokenizer = MultilingualTokenizer::new();
        let mut stream = tokenizer.token_stream(&marked);
        assert!(stream.advance());
        assert_eq!(
            &marked[stream.token().offset_from..stream.token().offset_to],
            "solar"
        );
    }

    #[test]
    fn hostile_text_does_not_break_analysis() {
        let long_token = "x".repeat(100_000);
        let mixed = format!("锂电池recycling аккумулятор بطارية {long_token} 🚀🚀 \u{0}\u{E000}zh");
        for analysis in Analysis::ALL {
            let terms = analysis.terms(&mixed);
            assert!(
                terms.iter().all(|term| term.len() <= MAX_TOKEN_BYTES),
                "{analysis:?}"
            );
        }
        assert!(
            index_terms(Analysis::Other, &mixed)
                .iter()
                .all(|term| term.len() <= MAX_TOKEN_BYTES)
        );
    }
}
