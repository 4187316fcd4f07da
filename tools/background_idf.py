#!/usr/bin/env python3
"""Writes src/dedup/background_idf.txt.gz, the background word frequencies event clustering
weighs terms with (README "Event clusters").

Source: the `wordfreq` package (PyPI, 3.1.1; English frequencies from Wikipedia, news, books,
subtitles, web text and more), so the weights depend neither on the window nor on our own
benchmark corpora. Run: `pip install wordfreq==3.1.1 && python3 tools/background_idf.py`.

Format, one line per Zipf value (log10 of occurrences per billion words, one decimal):
`<zipf times ten> <word> <word> ...`, words lower-case and made of letters and digits only
(the clusterer's own tokens), the most frequent lines first.
"""
import gzip
import os
import sys
from collections import defaultdict

import wordfreq

WORDS = int(os.environ.get("WORDS", "60000"))
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "dedup", "background_idf.txt.gz")


def main() -> None:
    by_zipf = defaultdict(list)
    kept = 0
    for word in wordfreq.top_n_list("en", WORDS * 2):
        if kept >= WORDS:
            break
        if not word.isalnum() or len(word) < 2:
            continue
        z = round(wordfreq.zipf_frequency(word, "en") * 10)
        by_zipf[z].append(word)
        kept += 1
    lines = [f"{z} " + " ".join(sorted(ws)) for z, ws in sorted(by_zipf.items(), reverse=True)]
    data = ("\n".join(lines) + "\n").encode()
    # mtime=0: the same input gives the same bytes.
    with open(OUT, "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{kept} words, {len(lines)} lines, {len(data)} bytes -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
