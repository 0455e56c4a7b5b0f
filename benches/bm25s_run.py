#!/usr/bin/env python3
"""BM25 baseline run with bm25s, for benches/text_relevance.sh.

Usage:
    bm25s_run.py COLLECTION_DIR OUT_RUN_FILE [--k 100]

COLLECTION_DIR holds `docs.jsonl` (`{"id","title","text"}`) and `queries.jsonl` (`{"id","text"}`),
the format of ../shared/eval/*/. Each document is indexed as `title + " " + text` with bm25s's
default tokenizer, English stop words (`stopwords="en"`) and PyStemmer's Snowball English stemmer;
BM25 with bm25s's defaults (k1=1.5, b=0.75, method "lucene"), single thread. The top k documents
per query are written as a TREC run: `qid Q0 docid rank score bm25s`.

Scores are written at full float precision, so the ranking that ../shared/eval/score.py rebuilds
(score descending, ties by docid descending, as trec_eval does) is the one bm25s scored.
"""
import argparse
import json
import os
import sys
import time

try:
    import bm25s
    import Stemmer
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.exit(f"error: {e}; run benches/text_relevance.sh, which installs bm25s and PyStemmer into its venv")


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not valid JSON: {e}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("collection", help="collection folder (docs.jsonl, queries.jsonl)")
    ap.add_argument("run", help="TREC run file to write")
    ap.add_argument("--k", type=int, default=100, help="documents per query (default 100)")
    a = ap.parse_args(argv)

    docs = read_jsonl(os.path.join(a.collection, "docs.jsonl"))
    queries = read_jsonl(os.path.join(a.collection, "queries.jsonl"))
    if not docs or not queries:
        sys.exit(f"{a.collection}: no documents or no queries")
    doc_ids = [str(d["id"]) for d in docs]
    corpus = [(d.get("title") or "") + " " + (d.get("text") or "") for d in docs]

    t0 = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    corpus_tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(corpus_tokens, show_progress=False)
    t1 = time.perf_counter()

    k = min(a.k, len(docs))
    query_tokens = bm25s.tokenize([q["text"] for q in queries], stopwords="en", stemmer=stemmer, show_progress=False)
    results, scores = retriever.retrieve(query_tokens, k=k, show_progress=False, n_threads=0)
    t2 = time.perf_counter()

    lines = []
    for qi, q in enumerate(queries):
        rank = 0
        for di, score in zip(results[qi], scores[qi]):
            score = float(score)
            if score <= 0.0:
                # No query term in this document: bm25s pads the top k with arbitrary zero-score docs.
                continue
            rank += 1
            lines.append(f"{q['id']} Q0 {doc_ids[int(di)]} {rank} {score!r} bm25s\n")
    with open(a.run, "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(
        f"bm25s {bm25s.__version__}: {len(docs)} docs indexed in {t1 - t0:.2f}s, "
        f"{len(queries)} queries in {t2 - t1:.2f}s, {len(lines)} run lines -> {a.run}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
