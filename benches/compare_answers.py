#!/usr/bin/env python3
"""Compares the answers of two `silkmatch` builds on one data directory, for changes meant to make
matching or search faster without changing what they return.

Usage:  benches/compare_answers.py BEFORE_BIN AFTER_BIN [DATA]    (DATA defaults to index/, the demo)

For every published listing (up to 300): `match KIND ID --k 20 --explain --json` in the four
directions, and two searches (its title, and the title's first two words) with `--json`, which
include snippets. Match answers are compared exactly, or within 1e-5 on numbers, since freshness
moves with the clock between the two runs; search answers exactly. Exit status 1 if any differ.
"""
import json
import subprocess
import sys


def run(binary, data, *args):
    out = subprocess.run([binary, "--data", data, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def close(a, b, path):
    """Equal, numbers within 1e-5; prints the first difference found."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or abs(a - b) > 1e-5:
            print("differs:", path, a, b)
            return False
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            print("differs:", path, sorted(a.keys() ^ b.keys()))
            return False
        return all(close(a[key], b[key], f"{path}/{key}") for key in a)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            print("differs:", path, f"{len(a)} against {len(b)} items")
            return False
        return all(close(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if a != b:
        print("differs:", path, a, b)
        return False
    return True


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    before, after = sys.argv[1], sys.argv[2]
    data = sys.argv[3] if len(sys.argv) == 4 else "index"
    hits = []
    for offset in (0, 100, 200):
        hits += run(before, data, "search", "", "--limit", "100", "--offset", str(offset), "--json")["hits"]
    matches = [0, 0, 0]  # identical, equal within 1e-5, different
    for hit in hits:
        for direction in ("text", "reciprocal", "forward", "backward"):
            args = ("match", hit["kind"], hit["id"], "--k", "20", "--direction", direction, "--explain", "--json")
            a, b = run(before, data, *args), run(after, data, *args)
            matches[0 if a == b else 1 if close(a, b, f"match {hit['id']} {direction}") else 2] += 1
    searches = [0, 0]  # identical, different
    snippets = 0
    for hit in hits:
        for query in (hit["title"], " ".join(hit["title"].split()[:2])):
            a = run(before, data, "search", query, "--limit", "20", "--json")
            b = run(after, data, "search", query, "--limit", "20", "--json")
            snippets += sum(len(found.get("snippets", [])) for found in a["hits"])
            same = a == b
            if not same:
                print("differs: search", repr(query))
            searches[0 if same else 1] += 1
    print(f"{sum(matches)} match requests: {matches[0]} identical, {matches[1]} equal within 1e-5, "
          f"{matches[2]} different")
    print(f"{sum(searches)} searches ({snippets} snippets): {searches[0]} identical, {searches[1]} different")
    sys.exit(1 if matches[2] or searches[1] else 0)


if __name__ == "__main__":
    main()
