#!/usr/bin/env python3
"""Reference "plain BM25" for a silkmatch match set: no model, no filters, text only.

Usage:
    python3 benches/plain_bm25.py SET_DIR [--run OUT.tsv] [--by-language] [--k 100]

SET_DIR is a match set in the flat layout: listings.jsonl (one listing per line), queries.txt (one
query listing external_id per line, optionally TAB + split name: the first column is used) and
qrels.tsv (query<TAB>doc<TAB>gain; ids may contain spaces, so it is split on TAB only).

For each query listing, the listings of the other kind (need -> offers, offer -> needs) are ranked
by bm25s (method "lucene", k1=1.5, b=0.75). Document = query = title + summary + description.
Each listing is tokenised by its own language:
  en     lowercase, bm25s's word pattern \\w\\w+, bm25s's English stop words, PyStemmer English stemmer
  zh     jieba.lcut (precise mode), lowercased; Chinese function words and tokens with no letter or
         digit dropped
  ru     lowercase words, a short Russian stop list, PyStemmer Russian stemmer
  ar     diacritics and tatweel removed, lowercase words, the article prefix ال stripped
  other  lowercase words
The top k (default 100) offers with a score > 0 are kept per query; ties are ordered by docid
descending, as trec_eval and shared/eval/score.py do. nDCG@10, Recall@100 and MRR@10 are computed
with score_query() and read_run() of ../../shared/eval/score.py on the written run (a built-in copy
of its rules is used when that file is absent); queries are those of qrels.tsv with a relevant doc.
With --run the run is kept as `qid<TAB>docid<TAB>score` (score.py's 3-column format).

Dependencies (not part of the Rust build), e.g. in a throw-away venv:
    python3 -m venv /tmp/bm25venv && /tmp/bm25venv/bin/pip install jieba PyStemmer bm25s numpy
    /tmp/bm25venv/bin/python benches/plain_bm25.py /path/to/set --by-language
"""
import argparse, importlib.util, json, logging, math, os, re, sys, tempfile
from pathlib import Path

try:
    import bm25s, jieba, Stemmer
    from bm25s.stopwords import STOPWORDS_EN
except ImportError as e:
    sys.exit(f"error: {e}; install: python3 -m venv /tmp/bm25venv && "
             "/tmp/bm25venv/bin/pip install jieba PyStemmer bm25s numpy")

jieba.setLogLevel(logging.WARNING)
WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
EN_STOP = set(STOPWORDS_EN)
ZH_STOP = set("的 了 和 与 及 或 是 在 对 为 以 等 将 把 被 从 由 于 其 该 这 那 个 之 并 而 也 都 就 可 能 "
              "中 上 下 一种 一个 我们 通过 进行 可以 具有".split())
RU_STOP = set("и в во не что на с со как а то все всё так но да к у же за бы по только от о об из или ни "
              "до для без при под над через между это этот эта эти этого этой этих том тот та те "
              "который которая которое которые которых также является может быть был была были будет "
              "его ее её их он она оно они мы вы я ты".split())
AR_DIACRITICS = re.compile("[\u064b-\u0652\u0640]")  # harakat and tatweel
STEM = {"en": Stemmer.Stemmer("english"), "ru": Stemmer.Stemmer("russian")}


def tokens(text, lang):
    """The BM25 terms of one text in one language."""
    if lang == "zh":
        return [t for t in (w.strip().lower() for w in jieba.lcut(text))
                if t and t not in ZH_STOP and any(c.isalnum() for c in t)]
    if lang == "ar":
        words = WORD.findall(AR_DIACRITICS.sub("", text).lower())
        return [w[2:] if w.startswith("ال") and len(w) > 3 else w for w in words]
    words = WORD.findall(text.lower())
    if lang == "en":
        return STEM["en"].stemWords([w for w in words if w not in EN_STOP])
    if lang == "ru":
        return STEM["ru"].stemWords([w for w in words if w not in RU_STOP])
    return words


def listing_text(r):
    return " ".join(r.get(f) or "" for f in ("title", "summary", "description"))


def load_scorer(path):
    """score.py's read_run and score_query, or a copy of their rules if the file is missing."""
    if path.is_file():
        spec = importlib.util.spec_from_file_location("score", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.read_run, mod.score_query, str(path)

    def read_run(p):  # score desc, then docid desc; the first row of a (qid, doc) pair wins
        run = {}
        for line in open(p, encoding="utf-8"):
            q, d, s = line.rstrip("\r\n").split("\t")
            run.setdefault(q, []).append((float(s), d))
        out = {}
        for q, docs in run.items():
            docs.sort(key=lambda sd: sd[1], reverse=True)
            docs.sort(key=lambda sd: sd[0], reverse=True)
            out[q] = list(dict.fromkeys(d for _, d in docs))
        return out

    def score_query(rels, ranking, k, rk):
        relevant = {d for d, g in rels.items() if g > 0}
        gains = sorted((g for g in rels.values() if g > 0), reverse=True)
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]) if rels.get(d, 0) > 0)
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
        rr = next((1.0 / (i + 1) for i, d in enumerate(ranking[:k]) if d in relevant), 0.0)
        return {"ndcg": dcg / idcg if idcg > 0 else 0.0, "mrr": rr,
                "recall": sum(1 for d in ranking[:rk] if d in relevant) / len(relevant)}
    return read_run, score_query, "built-in copy of score.py's rules"


def read_qrels(path):
    qrels = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        p = line.rstrip("\r\n").split("\t")
        if len(p) != 3:
            sys.exit(f"{path}:{n}: expected query<TAB>doc<TAB>gain, got {len(p)} fields")
        qrels.setdefault(p[0], {})[p[1]] = float(p[2]) if "." in p[2] else int(p[2])
    return qrels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set_dir", type=Path)
    ap.add_argument("--run", help="write the run here (qid<TAB>docid<TAB>score)")
    ap.add_argument("--k", type=int, default=100, help="results per query (default 100)")
    ap.add_argument("--by-language", action="store_true", help="also print metrics per query language")
    ap.add_argument("--scorer", type=Path, default=Path(__file__).resolve().parents[2] / "shared/eval/score.py")
    a = ap.parse_args()

    listings = [json.loads(l) for l in open(a.set_dir / "listings.jsonl", encoding="utf-8") if l.strip()]
    by_id = {r["external_id"]: r for r in listings}
    qids = [l.rstrip("\r\n").split("\t")[0] for l in open(a.set_dir / "queries.txt", encoding="utf-8") if l.strip()]
    missing = [q for q in qids if q not in by_id]
    if missing:
        sys.exit(f"{len(missing)} queries are not in listings.jsonl, e.g. {missing[0]!r}")

    indexes = {}  # kind -> (doc ids, bm25s index)

    def index_of(kind):
        if kind not in indexes:
            docs = [r for r in listings if r["kind"] == kind]
            model = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
            model.index([tokens(listing_text(r), r.get("language", "")) for r in docs], show_progress=False)
            indexes[kind] = ([r["external_id"] for r in docs], model)
            print(f"indexed {len(docs)} {kind} listings, {len(model.vocab_dict)} terms", file=sys.stderr)
        return indexes[kind]

    lines = []
    for q in qids:
        r = by_id[q]
        ids, model = index_of("offer" if r["kind"] == "need" else "need")
        terms = [t for t in tokens(listing_text(r), r.get("language", "")) if t in model.vocab_dict]
        if not terms:
            print(f"warning: {q}: no query term is in the index", file=sys.stderr)
            continue
        scores = model.get_scores(terms)
        hits = [(float(s), ids[i]) for i, s in enumerate(scores) if s > 0]
        for s, d in sorted(hits, reverse=True)[:a.k]:  # score desc, docid desc
            lines.append(f"{q}\t{d}\t{s!r}\n")

    out = a.run or tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False).name
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(lines)
    read_run, score_query, scorer = load_scorer(a.scorer)
    run = read_run(out)
    if not a.run:
        os.unlink(out)

    qrels = read_qrels(a.set_dir / "qrels.tsv")
    judged = sorted(q for q, rels in qrels.items() if any(g > 0 for g in rels.values()))
    if set(judged) - set(qids):
        print(f"warning: {len(set(judged) - set(qids))} qrels queries are not in queries.txt (scored 0)", file=sys.stderr)
    per = {q: score_query(qrels[q], run.get(q, []), 10, 100) for q in judged}
    names = {"ndcg": "nDCG@10", "recall": "Recall@100", "mrr": "MRR@10"}

    def avg(qs):
        return "\t".join(f"{sum(per[q][m] for q in qs) / len(qs):.4f}" for m in names)

    print(f"# {a.set_dir}: {len(judged)} queries, scored with {scorer}" + (f", run -> {a.run}" if a.run else ""))
    print("group\tqueries\t" + "\t".join(names.values()))
    print(f"all\t{len(judged)}\t{avg(judged)}")
    if a.by_language:
        langs = {}
        for q in judged:
            langs.setdefault(by_id[q]["language"] if q in by_id else "?", []).append(q)
        for lang, qs in sorted(langs.items()):
            print(f"{lang}\t{len(qs)}\t{avg(qs)}")


if __name__ == "__main__":
    main()
