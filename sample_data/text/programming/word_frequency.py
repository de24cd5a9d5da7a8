"""Count the most common words in a text file.

A small command-line program showing a few everyday Python tools: reading a file with a context
manager, normalising text with a regular expression, and counting with collections.Counter.

Usage: python word_frequency.py FILE [--top N]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[a-z']+")
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in",
    "is", "it", "of", "on", "or", "that", "the", "this", "to", "was", "with",
})


def count_words(text: str, skip_stop_words: bool = True) -> Counter[str]:
    """Lower-case the text, split it into words and count them."""
    words = WORD.findall(text.lower())
    if skip_stop_words:
        words = [word for word in words if word not in STOP_WORDS]
    return Counter(words)


def main() -> None:
    parser = argparse.ArgumentParser(description="Show the most frequent words in a text file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=10, help="how many words to show")
    args = parser.parse_args()
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        parser.error(f"cannot read {args.file}: {exc.strerror}")
    for word, count in count_words(text).most_common(args.top):
        print(f"{count:6d}  {word}")


if __name__ == "__main__":
    main()
