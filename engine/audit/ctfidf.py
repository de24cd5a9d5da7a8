"""Class-based TF-IDF (BERTopic's c-TF-IDF): the words that set one cluster's text apart from the others.

All documents of a cluster are joined into one class document. A term's weight in class c is
    W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))
with tf the term's count in the class, |c| the class's number of terms, f(t) the term's count over all
classes and A the average number of terms per class. A word frequent in one cluster and rare elsewhere
scores high; a word every cluster uses scores low, whatever a stop-word list forgets."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only: numbers and one-letter tokens never name a cluster

_STOP_LIST = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either else ever every few
    for from further had has have having he her here hers herself him himself his how however i if in
    into is it its itself just like made make many may me might more most much must my myself no nor
    not now of off on once one only or other our ours ourselves out over own same she should since so
    some such than that the their theirs them themselves then there these they this those though
    through thus to too two under until up upon us very was we well were what when where which while
    who whom whose why will with within without would yet you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_LIST.split())


def tokens(text: str) -> list[str]:
    """Lower-cased words of two letters or more, numbers and stop words dropped."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


@dataclass(frozen=True)
class ClassTerms:
    """c-TF-IDF weights: weights[c, j] is the weight of vocab[j] in class c."""

    vocab: list[str]
    weights: np.ndarray  # [classes, terms] float64

    def top(self, c: int, n: int) -> list[tuple[str, float]]:
        """The n terms of class c with the highest positive weight; ties by the term, for stable names."""
        row = self.weights[c]
        nonzero = np.flatnonzero(row > 0)
        order = sorted(nonzero.tolist(), key=lambda j: (-row[j], self.vocab[j]))[:n]
        return [(self.vocab[j], float(row[j])) for j in order]


def class_counts(documents: Iterable[str]) -> Counter[str]:
    """Term counts of one class: its documents' tokens together."""
    counts: Counter[str] = Counter()
    for doc in documents:
        counts.update(tokens(doc))
    return counts


def class_tfidf(classes: Sequence[Counter[str] | dict[str, float]]) -> ClassTerms:
    """c-TF-IDF over per-class term counts (or weights, e.g. summed classifier probabilities)."""
    vocab = sorted({t for counts in classes for t in counts})
    where = {t: j for j, t in enumerate(vocab)}
    tf = np.zeros((len(classes), len(vocab)), np.float64)
    for c, counts in enumerate(classes):
        if counts:
            cols = np.fromiter((where[t] for t in counts), np.int64, len(counts))
            tf[c, cols] = np.fromiter(counts.values(), np.float64, len(counts))
    if not vocab:
        return ClassTerms(vocab, tf)
    per_class = tf.sum(axis=1)
    frequency = tf.sum(axis=0)
    average = per_class.mean()
    idf = np.log(1.0 + average / frequency)
    weights = tf / np.maximum(per_class, 1e-12)[:, None] * idf[None, :]
    return ClassTerms(vocab, weights)
