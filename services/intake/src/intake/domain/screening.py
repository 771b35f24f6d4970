"""Screening at submission: possible duplicate construction and possible project splitting.

Pure: no I/O, no clock, no framework. Findings are flags for the reviewer, never rejections.

Similarity (see docs/adr/0008-duplicate-screening.md)
-------------------------------------------------------
Chinese needs no word segmenter here. A text is normalised (NFKC: full-width letters, digits and
punctuation become half-width; lower case; whitespace ignored) and cut at punctuation into
segments. A segment is a run of *units*: one CJK character, or one Latin/digit word ("5g",
"12345", "gis"). The terms of a text are the unit bigrams of every segment plus its Latin/digit
words, hashed with CRC-32 (stable across processes, unlike ``hash``). Bigrams survive paraphrase,
reordering and renaming far better than words: "城市管理综合指挥调度系统" and "智慧城管综合指挥平台"
still share 综合, 合指, 指挥, ...

Boilerplate (项目, 系统, 平台, 建设, 提升, ...) is not deleted by a word list: every term is weighted
by its inverse document frequency in the tenant's index, ``idf = ln((N+1)/(df+1)) + 1``, so the
words every declaration uses weigh little and the rare, specific ones decide. The duplicate score
of a pair is the idf-weighted cosine of their binary term vectors over name + content + goals
together (an extra name-only score did not help on the hand-written data and hurt at weight 0.2:
renamed duplicates are common, and unrelated projects share name patterns such as
"智慧XX综合管理平台"). The statistics are those of the index plus the query (unless a document with
the query's id is indexed; it then stands for the query and is left out of the results), so
adding a declaration and then querying it gives the same scores as querying it first, and
scores do not depend on the order documents were added in. Chinese numerals are left as they
are (二期 ≠ 2期); full-width digits become ASCII.

The index keeps, per document, its sorted term hashes (``array('I')``); an inverted index
``term → array('I') of ordinals`` for terms in two or more documents; and, since most distinct
terms occur once, those in sorted parallel arrays (8 bytes a term instead of ~150 in a dict). A
query counts, with ``collections.Counter`` (C speed), how many of its rarest terms each document
shares (terms in more than ``MAX_DF_SHARE`` of the documents and anything past
``CANDIDATE_POSTINGS_BUDGET`` postings are skipped: they are boilerplate and would only cost
time), then scores the best ``CANDIDATE_POOL`` candidates exactly. A document's norm is
Σ idf² = k·c² − 2c·ΣL + ΣL² (c = ln(N+1) + 1, L = ln(df+1)); ΣL and ΣL² are cached per document,
exact while the index is unchanged and an estimate for a while after, used only to skip
candidates far below the cut-off (the others are rescored exactly).

Splitting links the candidate's org's other declarations of the last 12 months that are each
under the pack's threshold, by all-text similarity or by name similarity (discounted), directly
or through another part, and flags when the candidate and its parts together reach the threshold.

How the intake service uses it
------------------------------
- One :class:`SimilarityIndex` per tenant, in process memory (~14 MB per 10,000 declarations with
  the benchmark's vocabulary, ~17 MB with a 150,000-term one; :meth:`SimilarityIndex.stats` gives
  the sizes), built from the declarations table (submitted or later, not withdrawn) and the
  registered existing systems. Building 10,000 takes ~3 s of CPU: build a fresh index in a worker
  thread (``await asyncio.to_thread(fresh.build, texts)``) and only then publish it for the
  tenant, so the event loop never waits and no query meets a half-built index. Then keep it up to
  date: ``add`` when a declaration is submitted or resubmitted (``add`` replaces a document with
  the same id), ``remove`` when it is withdrawn or deleted. Any process can rebuild it from the
  table, so it is a cache, not state.
- At submission, before committing::

      text = ScreeningText(id=..., org_id=..., name=..., content=necessity, goals=..., amount=...,
                           submitted_at=now)
      findings = duplicate_findings(text, index, citations=pack_citations_for_duplicates)
      findings += splitting_findings(text, org_declarations_last_12_months, pack_threshold,
                                     citations=pack_citations_for_splitting, index=index)
      index.add(text)  # after the commit, so a rolled-back submit leaves no trace

  The thresholds and citations of the policy pack (e.g. wuxing-2023 §8(6) 化整为零, qiaokou-2022
  §11(1), shuangyashan-2024 §13(4)) are the caller's; nothing here knows an amount. Store each
  :class:`Finding` (JSON-ready via :meth:`Finding.as_dict`) with the declaration and its audit row,
  and show it to the reviewers.

Not thread-safe: the service uses it from its event loop only (queries take milliseconds).
"""

from __future__ import annotations

import calendar
import heapq
import math
import re
import unicodedata
import zlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from typing import Any, Literal

TextKind = Literal["declaration", "existing_system"]
FindingKind = Literal["duplicate", "splitting"]

# --- algorithm parameters (tuned on tests/data/screening; not policy) -----------------------------

# n-gram orders over units (CJK characters, Latin/digit words) within a punctuation segment.
# On the hand-written data bigrams alone, bigrams + trigrams and unigrams + bigrams all reach
# precision = recall = 0.9875 at their best cut-off; bigrams alone keep half the postings and
# stay good over a wider range of cut-offs than bigrams + trigrams.
NGRAM_ORDERS = (2,)
# A pair scoring at least this is reported as a possible duplicate. On the hand-written pairs and
# hard negatives among 1,000 background declarations cut-offs 0.16-0.20 give precision and recall
# ≥ 0.975 (0.14-0.24: ≥ 0.94); 0.20 is what either half of the data picks when tuned alone.
DUPLICATE_MIN_SCORE = 0.20
# How many matches a duplicate screening reports at most.
DUPLICATE_TOP = 5
# Related declarations of the same org must be at least this similar to count as parts of one
# split project: parts of one project are related, not equal, so this is below the duplicate
# cut-off, yet above what different projects of one department score with each other (≤ 0.15 on
# the hand-written hard negatives; the weakest link a hand-written split group needs is 0.18).
SPLITTING_MIN_SCORE = 0.16
# Parts of one project often keep its name stem ("…（一期）…", "…（二期）…") while their contents
# differ, so a part may also link by its name similarity times this factor (names of hand-written
# split parts keeping a stem score ≥ 0.48, those of different projects of one department ≤ 0.27).
SPLITTING_NAME_FACTOR = 0.5
# "Within 12 months" of the issue, in calendar months (a leap day makes 12 months 366 days).
SPLITTING_WINDOW_MONTHS = 12
# Candidate generation: terms in more than this share of the documents are not looked up
# (they still count in the exact score, with their small idf) ...
MAX_DF_SHARE = 0.05
# ... but never fewer than this many documents (small indexes have no boilerplate statistics).
MIN_DF_CAP = 50
# ... and at most this many postings are counted per query (rarest terms first).
CANDIDATE_POSTINGS_BUDGET = 40_000
# Documents scored exactly per query (the best by shared rare terms).
CANDIDATE_POOL = 60
# A document's cached norm sums are used as an estimate while fewer than this share of N documents
# were added or removed since they were computed; candidates whose estimated score is below
# ESTIMATE_MARGIN × the cut-off are skipped, the others are scored exactly.
STALE_SHARE = 0.05
ESTIMATE_MARGIN = 0.8
# Reported scores are rounded to 4 decimals (ties then go by id).
SCORE_ROUNDING = 1e-4
# Terms found in one document wait in a dict until this many are merged into sorted arrays.
RECENT_SINGLES = 4096
# Content beyond this many characters adds time and memory but not evidence.
MAX_FIELD_CHARS = 4000

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SEGMENT_BREAK = re.compile(rf"[^{_CJK}a-z0-9\s]+")
_UNIT = re.compile(rf"[a-z0-9]+|[{_CJK}]")


# --- texts, matches, findings ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningText:
    """What screening knows of a declaration or a registered existing system.

    ``content`` is the description (for a declaration: 必要性 and construction content), ``goals``
    the performance goals (绩效目标); an existing system has amount 0 and no ``submitted_at``.
    """

    id: str
    org_id: str
    name: str
    content: str
    goals: str
    amount: Decimal = Decimal("0")
    submitted_at: date | datetime | None = None
    kind: TextKind = "declaration"


@dataclass(frozen=True)
class Match:
    """One indexed document similar to a query."""

    id: str
    score: float
    kind: TextKind
    name: str = ""


@dataclass(frozen=True)
class Finding:
    """A screening flag for the reviewer, with the policy citations the caller passed in."""

    kind: FindingKind
    score: float
    related_ids: tuple[str, ...]
    message_zh: str
    citations: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts in details are already strings)."""
        return {
            "kind": self.kind,
            "score": self.score,
            "related_ids": list(self.related_ids),
            "message_zh": self.message_zh,
            "citations": list(self.citations),
            "details": dict(self.details),
        }


# --- normalisation and terms ----------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC (full → half width), lower case, runs of whitespace → one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def units(segment: str) -> list[str]:
    """The units of a normalised segment: each CJK character, each Latin/digit word."""
    return _UNIT.findall(segment)


def shingles(text: str, orders: Sequence[int] | None = None) -> set[str]:
    """The terms of a text: unit n-grams within each punctuation segment, plus Latin/digit words.

    Whitespace does not break a segment (a stray space inside a Chinese phrase is common);
    punctuation does (n-grams across a sentence boundary are noise).
    """
    terms: set[str] = set()
    for segment in _SEGMENT_BREAK.split(normalize(text)[:MAX_FIELD_CHARS]):
        parts = units(segment)
        terms.update(p for p in parts if p.isascii())
        for n in NGRAM_ORDERS if orders is None else orders:
            # Words are joined with a separator CJK characters never carry, so "a"+"bc" ≠ "ab"+"c".
            terms.update("\x1f".join(parts[i : i + n]) for i in range(len(parts) - n + 1))
    return terms


def text_terms(text: ScreeningText) -> array[int]:
    """The terms of a text's name, content and goals as sorted unique CRC-32 hashes."""
    return _fields_terms(text.name, text.content, text.goals)


def name_terms(text: ScreeningText) -> array[int]:
    """The terms of a text's name alone, as sorted unique CRC-32 hashes."""
    return _fields_terms(text.name, "", "")


# One screening tokenises its candidate for the duplicate query, the splitting neighbours and the
# splitting links; the cache makes that once. Callers never mutate the arrays.
@lru_cache(maxsize=256)
def _fields_terms(name: str, content: str, goals: str) -> array[int]:
    terms = shingles(name) | shingles(content) | shingles(goals)
    return array("I", sorted({zlib.crc32(t.encode("utf-8")) for t in terms}))


# --- the index --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """What the index keeps of a text: its terms and the facts splitting screening needs (the
    texts themselves stay in the database)."""

    id: str
    kind: TextKind
    name: str  # for the reviewer's message
    terms: array[int]
    name_terms: array[int]
    org_id: str
    amount: Decimal
    submitted_at: date | datetime | None


# What ``postings.get`` returns for a single: a bucket of one document (only its length is read).
_SINGLE_BUCKET = array("I", (0,))


class _Singles:
    """Terms found in exactly one document, and that document's ordinal.

    Most distinct terms of a real corpus occur once; a dict entry with its int key and an array
    costs ~150 bytes, sorted parallel arrays 8. New ones wait in a small dict until
    ``RECENT_SINGLES`` of them are merged in (one C-level copy of the arrays).
    """

    __slots__ = ("docs", "recent", "terms")

    def __init__(self) -> None:
        self.terms = array("I")
        self.docs = array("I")
        self.recent: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.terms) + len(self.recent)

    def get(self, term: int) -> int | None:
        """The ordinal of the one document with the term, if it has exactly one."""
        ordinal = self.recent.get(term)
        if ordinal is not None:
            return ordinal
        i = bisect_left(self.terms, term)
        if i < len(self.terms) and self.terms[i] == term:
            return self.docs[i]
        return None

    def pop(self, term: int) -> int | None:
        """Take the term out; its ordinal, or None if it was not a single."""
        ordinal = self.recent.pop(term, None)
        if ordinal is not None:
            return ordinal
        i = bisect_left(self.terms, term)
        if i < len(self.terms) and self.terms[i] == term:
            ordinal = self.docs[i]
            del self.terms[i]
            del self.docs[i]
            return ordinal
        return None

    def put(self, term: int, ordinal: int) -> None:
        """Record a term found in one document only."""
        self.recent[term] = ordinal
        if len(self.recent) >= RECENT_SINGLES:
            self.merge()

    def merge(self) -> None:
        """Merge the recent singles into the sorted arrays."""
        terms, docs = array("I"), array("I")
        start = 0
        for term, ordinal in sorted(self.recent.items()):
            i = bisect_left(self.terms, term, start)
            terms += self.terms[start:i]
            docs += self.docs[start:i]
            terms.append(term)
            docs.append(ordinal)
            start = i
        terms += self.terms[start:]
        docs += self.docs[start:]
        self.terms, self.docs, self.recent = terms, docs, {}


class SimilarityIndex:
    """An in-memory inverted index of declarations and existing systems (one per tenant).

    idf² = (c − L)² with c = ln(N+1) + 1 and L = ln(df+1), so the sum of idf² over a set of k
    terms is k·c² − 2c·ΣL + ΣL². ΣL and ΣL² depend on document frequencies only, not on N: they
    are summed from lookup lists of L and L² by df and cached per document, so a new declaration
    (N + 1) invalidates no table.
    """

    def __init__(self) -> None:
        self._postings: dict[int, array[int]] = {}  # terms in two or more documents
        self._singles = _Singles()  # terms in exactly one
        self._docs: list[IndexedDocument | None] = []  # by ordinal; None once removed
        self._ordinal: dict[str, int] = {}
        self._log = [0.0]  # ln(df + 1) by df
        self._log2 = [0.0]  # its square
        # Per document: ΣL and ΣL² over its terms at index version _sum_version (exact while the
        # index is unchanged, a close estimate for a while after).
        self._version = 0
        self._sum_l = array("d")
        self._sum_l2 = array("d")
        self._sum_version = array("q")

    def __len__(self) -> int:
        return len(self._ordinal)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ordinal

    def stats(self) -> dict[str, int]:
        """Sizes, for logs and metrics: documents, distinct terms, postings."""
        postings = sum(map(len, self._postings.values())) + len(self._singles)
        return {
            "documents": len(self._ordinal),
            "terms": len(self._postings) + len(self._singles),
            "postings": postings,
        }

    def add(self, text: ScreeningText) -> None:
        """Index a text; a text with an id already indexed replaces it."""
        ordinal = self._add(text)
        self._refresh_sums(ordinal)

    def build(self, texts: Iterable[ScreeningText]) -> None:
        """Index many texts (as ``add`` for each, with the norm sums computed once at the end)."""
        added = [self._add(text) for text in texts]
        for ordinal in added:
            if self._docs[ordinal] is not None:  # a later text with the same id replaced it
                self._refresh_sums(ordinal)

    def remove(self, doc_id: str) -> bool:
        """Forget a document; False if it was not indexed."""
        ordinal = self._ordinal.pop(doc_id, None)
        if ordinal is None:
            return False
        doc = self._docs[ordinal]
        assert doc is not None
        self._docs[ordinal] = None
        self._version += 1
        postings, singles = self._postings, self._singles
        for term in doc.terms:
            bucket = postings.get(term)
            if bucket is None:
                singles.pop(term)
            elif len(bucket) == 2:  # noqa: PLR2004 - two documents → one: back to the singles
                del postings[term]
                singles.put(term, bucket[0] if bucket[1] == ordinal else bucket[1])
            else:
                bucket.remove(ordinal)
        return True

    def ids(self) -> list[str]:
        """The indexed ids, sorted."""
        return sorted(self._ordinal)

    def document(self, doc_id: str) -> IndexedDocument | None:
        """What the index keeps of a document, or None when it is not indexed."""
        ordinal = self._ordinal.get(doc_id)
        return None if ordinal is None else self._docs[ordinal]

    def query(
        self, text: ScreeningText, *, top: int = DUPLICATE_TOP, min_score: float = DUPLICATE_MIN_SCORE
    ) -> list[Match]:
        """The ``top`` indexed documents most similar to ``text`` scoring ≥ ``min_score``.

        Best first; ties by id. A document with the text's own id is never returned. Scores are
        exact under the current statistics (estimates only decide which candidates to skip).
        """
        terms = text_terms(text)
        self_ordinal = self._ordinal.get(text.id)
        # The query counts in the statistics; if its id is indexed, that document stands for it.
        virtual = 1 if self_ordinal is None else 0
        n = len(self._ordinal) + virtual
        if n <= 1 or not terms:
            return []
        c = math.log(n + 1) + 1.0
        c2 = c * c
        log, log2 = self._log, self._log2
        df = {t: self._df(t) for t in terms}
        weight = {t: (c - log[d + virtual]) ** 2 for t, d in df.items()}
        query_terms = frozenset(weight)
        query_norm2 = sum(weight.values())
        scored: list[tuple[float, int]] = []  # (exact score, ordinal)
        # Candidates whose cached norm sums are an estimate: (estimated score, ordinal, dot, correction).
        estimated: list[tuple[float, int, float, float]] = []
        for ordinal in self._candidates(df, n, self_ordinal):
            doc = self._docs[ordinal]
            assert doc is not None
            shared = query_terms.intersection(doc.terms)
            if not shared:
                continue
            dot = sum(map(weight.__getitem__, shared))
            correction = 0.0
            if virtual:
                # A shared term's df also counts the virtual query: the document's norm changes by
                # idf²(df + 1) − idf²(df) for each.
                dfs = list(map(df.__getitem__, shared))
                indexed = (
                    len(dfs) * c2 - 2 * c * sum(map(log.__getitem__, dfs)) + sum(map(log2.__getitem__, dfs))
                )
                correction = dot - indexed
            if self._sum_version[ordinal] != self._version:
                stale = self._sum_version[ordinal]
                if stale >= 0 and self._version - stale <= n * STALE_SHARE:
                    estimate = self._score(ordinal, dot, correction, query_norm2, c)
                    if estimate >= min_score * ESTIMATE_MARGIN:  # else far below the cut-off
                        estimated.append((estimate, ordinal, dot, correction))
                    continue
                self._refresh_sums(ordinal)
            scored.append((self._score(ordinal, dot, correction, query_norm2, c), ordinal))
        # An estimate is within ESTIMATE_MARGIN of the exact score either way. The top-th best lower
        # bound (exact scores, margin × estimates) is a score the results reach, so an estimated
        # candidate whose upper bound (estimate / margin) stays below it, by more than the rounding
        # of reported scores, cannot be among them and is not scored exactly.
        lows = sorted([s for s, _ in scored] + [e * ESTIMATE_MARGIN for e, *_ in estimated], reverse=True)
        floor = lows[top - 1] - SCORE_ROUNDING if top and len(lows) >= top else -math.inf
        for estimate, ordinal, dot, correction in estimated:
            if estimate / ESTIMATE_MARGIN < floor:
                continue
            self._refresh_sums(ordinal)
            scored.append((self._score(ordinal, dot, correction, query_norm2, c), ordinal))
        matches = []
        for score, ordinal in scored:
            if score >= min_score:
                doc = self._docs[ordinal]
                assert doc is not None
                matches.append(Match(id=doc.id, score=round(score, 4), kind=doc.kind, name=doc.name))
        matches.sort(key=lambda m: (-m.score, m.id))
        return matches[:top]

    def _score(self, ordinal: int, dot: float, correction: float, query_norm2: float, c: float) -> float:
        """A candidate's score from its cached norm sums (exact when they are current)."""
        doc = self._docs[ordinal]
        assert doc is not None
        norm2 = len(doc.terms) * (c * c) - 2 * c * self._sum_l[ordinal] + self._sum_l2[ordinal]
        return dot / math.sqrt(query_norm2 * (norm2 + correction))

    def similarity(self, a: ScreeningText, b: ScreeningText) -> float:
        """The score of two texts under this index's statistics, both counted as if indexed.

        Neither needs to be indexed (an indexed copy with the same id is counted once).
        """
        return self.terms_similarity(text_terms(a), a.id in self, text_terms(b), b.id in self)

    def terms_similarity(
        self, a_terms: array[int], a_indexed: bool, b_terms: array[int], b_indexed: bool
    ) -> float:
        """:meth:`similarity` from term hashes (for callers comparing the same texts repeatedly);
        a text not indexed counts as one more document."""
        if not a_terms or not b_terms:
            return 0.0
        a_set, b_set = set(a_terms), set(b_terms)
        extra = [terms for terms, indexed in ((a_set, a_indexed), (b_set, b_indexed)) if not indexed]
        c = math.log(len(self._ordinal) + len(extra) + 1) + 1.0
        log, df = self._log_of, self._df
        # Each term's weight once (a shared term is needed three times), summed in set order.
        weight = {t: (c - log(df(t) + sum(t in e for e in extra))) ** 2 for t in a_set | b_set}
        get = weight.__getitem__
        dot = sum(map(get, a_set & b_set))
        return dot / math.sqrt(sum(map(get, a_set)) * sum(map(get, b_set)))

    def indexed_similarity(self, a: IndexedDocument, b: IndexedDocument) -> float:
        """:meth:`terms_similarity` of two indexed documents, from the norms the index caches (only
        the shared terms are weighed: a pair of parts is compared in microseconds)."""
        oa, ob = self._ordinal.get(a.id), self._ordinal.get(b.id)
        if oa is None or ob is None or self._docs[oa] is not a or self._docs[ob] is not b:
            return self.terms_similarity(a.terms, a.id in self, b.terms, b.id in self)
        c = math.log(len(self._ordinal) + 1) + 1.0
        log, df = self._log, self._df
        dot = sum((c - log[df(t)]) ** 2 for t in set(a.terms).intersection(b.terms))
        if not dot:
            return 0.0
        norms = 1.0
        for ordinal, doc in ((oa, a), (ob, b)):
            if self._sum_version[ordinal] != self._version:
                self._refresh_sums(ordinal)
            norms *= len(doc.terms) * c * c - 2 * c * self._sum_l[ordinal] + self._sum_l2[ordinal]
        return dot / math.sqrt(norms)

    # --- internals ---

    def _add(self, text: ScreeningText) -> int:
        if text.id in self._ordinal:
            self.remove(text.id)
        terms = text_terms(text)
        ordinal = len(self._docs)
        self._docs.append(
            IndexedDocument(
                id=text.id,
                kind=text.kind,
                name=text.name,
                terms=terms,
                name_terms=name_terms(text),
                org_id=text.org_id,
                amount=text.amount,
                submitted_at=text.submitted_at,
            )
        )
        self._ordinal[text.id] = ordinal
        self._sum_l.append(0.0)
        self._sum_l2.append(0.0)
        self._sum_version.append(-1)
        self._version += 1
        self._extend_logs(len(self._docs) + 2)  # a df never exceeds the documents + 2 virtual ones
        postings, singles = self._postings, self._singles
        for term in terms:
            bucket = postings.get(term)
            if bucket is not None:
                bucket.append(ordinal)
                continue
            other = singles.pop(term)
            if other is None:
                singles.put(term, ordinal)
            else:
                postings[term] = array("I", (other, ordinal))
        return ordinal

    def _df(self, term: int) -> int:
        bucket = self._postings.get(term)
        if bucket is not None:
            return len(bucket)
        return 0 if self._singles.get(term) is None else 1

    def _log_of(self, df: int) -> float:
        return self._log[df] if df < len(self._log) else math.log(df + 1)

    def _extend_logs(self, size: int) -> None:
        for df in range(len(self._log), size + 1):
            value = math.log(df + 1)
            self._log.append(value)
            self._log2.append(value * value)

    def _refresh_sums(self, ordinal: int) -> None:
        """ΣL and ΣL² over the document's terms under the current dfs, cached."""
        doc = self._docs[ordinal]
        assert doc is not None
        # An indexed document's term is either in the postings or a single (df 1, which the
        # one-element stand-in gives). Maps, not a comprehension: this runs for most candidates
        # of every query after an add, and C-level iteration is several times faster.
        dfs = list(map(len, map(self._postings.get, doc.terms, repeat(_SINGLE_BUCKET))))
        self._sum_l[ordinal] = sum(map(self._log.__getitem__, dfs))
        self._sum_l2[ordinal] = sum(map(self._log2.__getitem__, dfs))
        self._sum_version[ordinal] = self._version

    def _candidates(self, df: Mapping[int, int], n: int, self_ordinal: int | None) -> list[int]:
        """Ordinals sharing the most rare terms with the query (rarest terms first, budgeted)."""
        postings, singles = self._postings, self._singles
        cap = max(MIN_DF_CAP, int(MAX_DF_SHARE * n))
        counts: Counter[int] = Counter(
            o for t, d in df.items() if d == 1 and (o := singles.get(t)) is not None
        )
        spent = len(counts)
        for d, term in sorted((d, t) for t, d in df.items() if 1 < d <= cap):
            if spent + d > CANDIDATE_POSTINGS_BUDGET:
                break
            counts.update(postings[term])
            spent += d
        if self_ordinal is not None:
            counts.pop(self_ordinal, None)
        if len(counts) <= CANDIDATE_POOL:
            return sorted(counts)
        # The pool: every count above the pool's lowest count, then ties at it by ordinal, so the
        # pool does not depend on the order the counts were made in.
        lowest = heapq.nlargest(CANDIDATE_POOL, counts.values())[-1]
        pool = [o for o, c in counts.items() if c > lowest]
        ties = sorted(o for o, c in counts.items() if c == lowest)
        return pool + ties[: CANDIDATE_POOL - len(pool)]


# --- findings ---------------------------------------------------------------------------------------

_KIND_ZH: dict[str, str] = {"declaration": "申报项目", "existing_system": "已建系统"}


def duplicate_findings(
    candidate: ScreeningText,
    index: SimilarityIndex,
    *,
    citations: Sequence[str],
    top: int = DUPLICATE_TOP,
    min_score: float = DUPLICATE_MIN_SCORE,
    matches: Sequence[Match] | None = None,
) -> list[Finding]:
    """Possible duplicate construction: one finding per match scoring ≥ ``min_score`` (best first).

    The candidate's own id in the index is ignored, so screening a resubmission does not match
    itself. ``matches``: the result of a wider ``index.query`` for the candidate already made
    (at least ``top`` results, a lower cut-off), so one query serves several screenings.
    """
    if matches is None:
        matches = index.query(candidate, top=top, min_score=min_score)
    findings = []
    for match in [m for m in matches if m.score >= min_score][:top]:
        what = _KIND_ZH[match.kind]
        findings.append(
            Finding(
                kind="duplicate",
                score=match.score,
                related_ids=(match.id,),
                message_zh=(
                    f"疑似重复建设：与{what}「{match.name}」内容相似度 {match.score:.2f}，"
                    "请评审人员核实是否重复建设或可整合、复用。"
                ),
                citations=tuple(citations),
                details={"related_kind": match.kind, "related_name": match.name},
            )
        )
    return findings


def splitting_findings(
    candidate: ScreeningText,
    same_org_recent: Sequence[ScreeningText | IndexedDocument],
    threshold: Decimal,
    *,
    citations: Sequence[str],
    index: SimilarityIndex | None = None,
    window_months: int = SPLITTING_WINDOW_MONTHS,
    similarity_min: float = SPLITTING_MIN_SCORE,
    threshold_inclusive: bool = True,
    candidate_scores: Mapping[str, float] | None = None,
) -> list[Finding]:
    """Possible project splitting (化整为零): at most one finding.

    The parts are the other declarations of the candidate's org submitted within
    ``window_months`` of it (either side, inclusive), each under ``threshold``, linked to the
    candidate by similarity ≥ ``similarity_min`` directly or through another part (a third phase
    may resemble the second more than the first). Flags when the candidate is under the threshold
    too and candidate + parts reach it. ``threshold`` is the pack's amount from which the stricter
    rule applies; with ``threshold_inclusive`` (以上, the packs' reading) "under" is ``< threshold``
    and "reach" is ``sum ≥ threshold``, otherwise (超过) ``≤`` and ``>``. Other orgs, existing
    systems, undated texts and the candidate's own id are ignored, so the caller may pass a loose
    superset. ``index`` supplies the tenant's term statistics (pass the tenant's index); without
    it a small index of the texts given stands in, whose statistics are much weaker. Parts may be
    the index's own documents (``SimilarityIndex.document``): their stored terms are used as they
    are, so a screening re-reads no peer's text.
    ``candidate_scores``: the
    candidate's whole-text scores against indexed ids, from the ``index.query`` the caller already
    made (the same measure), so they are not computed twice.
    """
    if candidate.submitted_at is None:
        raise ValueError("splitting screening needs the candidate's submission date")

    def under(amount: Decimal) -> bool:
        return amount < threshold if threshold_inclusive else amount <= threshold

    if not under(candidate.amount):
        return []  # already at the threshold: the stricter rule applies to it anyway
    day = _as_date(candidate.submitted_at)
    start, end = _add_months(day, -window_months), _add_months(day, window_months)
    peers = sorted(
        (
            t
            for t in same_org_recent
            if t.org_id == candidate.org_id
            and t.id != candidate.id
            and t.kind == "declaration"
            and t.submitted_at is not None
            and start <= _as_date(t.submitted_at) <= end
            and under(t.amount)
        ),
        key=lambda t: t.id,
    )
    if not peers:
        return []
    if index is None:
        index = SimilarityIndex()
        index.build([candidate, *(t for t in peers if isinstance(t, ScreeningText))])
    similarity_index = index

    def terms_of(t: ScreeningText | IndexedDocument) -> tuple[array[int], bool, array[int]]:
        if isinstance(t, IndexedDocument):
            return t.terms, True, t.name_terms
        return text_terms(t), t.id in similarity_index, name_terms(t)

    terms = {t.id: terms_of(t) for t in [candidate, *peers]}

    def link(x: ScreeningText | IndexedDocument, y: ScreeningText | IndexedDocument) -> float:
        # All text, or the names (parts keep a project's name stem), discounted.
        (x_all, x_in, x_name), (y_all, y_in, y_name) = terms[x.id], terms[y.id]
        by_name = index.terms_similarity(x_name, False, y_name, False)
        if x is candidate and candidate_scores is not None and y.id in candidate_scores:
            whole = candidate_scores[y.id]
        elif isinstance(x, IndexedDocument) and isinstance(y, IndexedDocument):
            whole = similarity_index.indexed_similarity(x, y)
        else:
            whole = index.terms_similarity(x_all, x_in, y_all, y_in)
        return max(whole, SPLITTING_NAME_FACTOR * by_name)

    # Single linkage from the candidate, breadth first (deterministic: peers in id order).
    parts: list[tuple[ScreeningText | IndexedDocument, float, str | None]] = []  # (part, score, via)
    frontier: list[ScreeningText | IndexedDocument] = [candidate]
    remaining = peers
    while frontier and remaining:
        node = frontier.pop(0)
        unlinked = []
        for peer in remaining:
            score = link(node, peer)
            if score >= similarity_min:
                parts.append((peer, round(score, 4), None if node is candidate else node.id))
                frontier.append(peer)
            else:
                unlinked.append(peer)
        remaining = unlinked
    total = candidate.amount + sum((t.amount for t, _, _ in parts), Decimal("0"))
    reaches = total >= threshold if threshold_inclusive else total > threshold
    if not parts or not reaches:
        return []
    names = "、".join(f"「{t.name}」（{_money(t.amount)}）" for t, _, _ in parts)
    below, reach = ("低于", "达到") if threshold_inclusive else ("未超过", "超过")
    return [
        Finding(
            kind="splitting",
            score=min(score for _, score, _ in parts),
            related_ids=tuple(t.id for t, _, _ in parts),
            message_zh=(
                f"疑似拆分项目（化整为零）：本单位{window_months}个月内申报的相似项目{names}"
                f"与本项目（{_money(candidate.amount)}）单项金额均{below}{_money(threshold)}，"
                f"合计{_money(total)}，{reach}{_money(threshold)}的标准，"
                "请评审人员核实是否为同一项目拆分申报。"
            ),
            citations=tuple(citations),
            details={
                "threshold": str(threshold),
                "total": str(total),
                "amount": str(candidate.amount),
                "related": [
                    {"id": t.id, "name": t.name, "amount": str(t.amount), "score": score, "via": via}
                    for t, score, via in parts
                ],
            },
        )
    ]


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier if negative), clamped to the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _money(amount: Decimal) -> str:
    """Amounts as written in the documents: 万元 when whole, else 元."""
    wan = amount / Decimal(10000)
    if wan == wan.to_integral_value():
        return f"{wan.quantize(Decimal(1))}万元"
    return f"{amount}元"
