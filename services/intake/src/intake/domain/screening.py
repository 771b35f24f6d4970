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
words every declaration uses weigh little and the rare, specific ones decide. The score of a pair
is the idf-weighted cosine of their binary term vectors over name + content + goals together
(a separate name score was tried and hurt: renamed duplicates are common, and unrelated projects
often share a name pattern such as "智慧XX综合管理平台"). The statistics are those of the index plus
the query (unless a document with the query's id is indexed; it then stands for the query and is
left out of the results), so adding a declaration and then querying it gives the same scores as
querying it first.

The index keeps, per document, the sorted term hashes (``array('I')``) and an inverted index
``term → array('I') of document ordinals``. A query counts, with ``collections.Counter`` (C
speed), how many of its rarest terms each document shares (terms in more than ``MAX_DF_SHARE`` of
the documents and anything past ``CANDIDATE_POSTINGS_BUDGET`` postings are skipped: they are
boilerplate and would only cost time), then scores the best ``CANDIDATE_POOL`` candidates exactly.

How the intake service uses it
------------------------------
- One :class:`SimilarityIndex` per tenant, in process memory, built lazily on the first submit of
  that tenant from the declarations table (submitted or later, not withdrawn) and the registered
  existing systems, with :meth:`SimilarityIndex.add` per row (:meth:`SimilarityIndex.build`
  for a list), then kept up to date incrementally: ``add`` when a declaration is submitted (or
  resubmitted: ``add`` replaces a document with the same id), ``remove`` when it is withdrawn or
  deleted. Any process can rebuild it from the table, so it is a cache, not state.
- At submission, before committing::

      text = ScreeningText(id=..., org_id=..., name=..., content=necessity, goals=..., amount=...,
                           submitted_at=now)
      findings = duplicate_findings(text, index, citations=pack_citations_for_duplicates)
      findings += splitting_findings(text, same_org_last_12_months, pack_threshold,
                                     citations=pack_citations_for_splitting, index=index)
      index.add(text)  # after the commit, so a rolled-back submit leaves no trace

  The thresholds and citations of the policy pack (e.g. wuxing-2023 §8(6) 化整为零, qiaokou-2022
  §11(1)) are the caller's; nothing here knows an amount. Store each :class:`Finding` (it is
  JSON-ready via :meth:`Finding.as_dict`) with the declaration and show it to the reviewers.

Not thread-safe: the service uses it from its event loop only (queries take milliseconds).
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

TextKind = Literal["declaration", "existing_system"]
FindingKind = Literal["duplicate", "splitting"]

# --- algorithm parameters (tuned on tests/data/screening; not policy) -----------------------------

# n-gram orders over units (CJK characters, Latin/digit words) within a punctuation segment.
# Bigrams alone beat bigrams + trigrams (trigrams split paraphrases apart) and unigrams + bigrams
# (single characters match everything) on the hand-written pairs, and they halve the index.
NGRAM_ORDERS = (2,)
# A pair scoring at least this is reported as a possible duplicate. On the hand-written pairs and
# hard negatives among 1,000 background declarations every cut-off from 0.16 to 0.22 gives
# precision and recall ≥ 0.975; 0.20 is what either half of the data picks when tuned alone.
DUPLICATE_MIN_SCORE = 0.20
# How many matches a duplicate screening reports at most.
DUPLICATE_TOP = 5
# Related declarations of the same org must be at least this similar to count as parts of one
# split project: parts of one project are related, not equal, so this is below the duplicate
# cut-off, yet above what different projects of one department score with each other (≤ 0.15 on
# the hand-written hard negatives, most of which share their department).
SPLITTING_MIN_SCORE = 0.16
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
    terms = shingles(text.name) | shingles(text.content) | shingles(text.goals)
    return array("I", sorted({zlib.crc32(t.encode("utf-8")) for t in terms}))


# --- the index --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Doc:
    id: str
    kind: TextKind
    name: str  # for the reviewer's message
    terms: array[int]


class SimilarityIndex:
    """An in-memory inverted index of declarations and existing systems (one per tenant)."""

    def __init__(self) -> None:
        self._postings: dict[int, array[int]] = {}
        self._docs: list[_Doc | None] = []  # by ordinal; None once removed
        self._ordinal: dict[str, int] = {}
        self._idf2_cache: tuple[int, list[float]] = (-1, [])

    def __len__(self) -> int:
        return len(self._ordinal)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ordinal

    def add(self, text: ScreeningText) -> None:
        """Index a text; a text with an id already indexed replaces it."""
        if text.id in self._ordinal:
            self.remove(text.id)
        terms = text_terms(text)
        ordinal = len(self._docs)
        self._docs.append(_Doc(id=text.id, kind=text.kind, name=text.name, terms=terms))
        self._ordinal[text.id] = ordinal
        postings = self._postings
        for term in terms:
            bucket = postings.get(term)
            if bucket is None:
                postings[term] = array("I", (ordinal,))
            else:
                bucket.append(ordinal)

    def build(self, texts: Iterable[ScreeningText]) -> None:
        """Index many texts (same as ``add`` for each)."""
        for text in texts:
            self.add(text)

    def remove(self, doc_id: str) -> bool:
        """Forget a document; False if it was not indexed."""
        ordinal = self._ordinal.pop(doc_id, None)
        if ordinal is None:
            return False
        doc = self._docs[ordinal]
        assert doc is not None
        self._docs[ordinal] = None
        for term in doc.terms:
            bucket = self._postings[term]
            if len(bucket) == 1:
                del self._postings[term]
            else:
                bucket.remove(ordinal)
        return True

    def ids(self) -> list[str]:
        """The indexed ids, sorted."""
        return sorted(self._ordinal)

    def query(
        self, text: ScreeningText, *, top: int = DUPLICATE_TOP, min_score: float = DUPLICATE_MIN_SCORE
    ) -> list[Match]:
        """The ``top`` indexed documents most similar to ``text`` scoring ≥ ``min_score``.

        Best first; ties by id. A document with the text's own id is never returned.
        """
        terms = text_terms(text)
        self_ordinal = self._ordinal.get(text.id)
        # The query counts in the statistics; if its id is indexed, that document stands for it.
        virtual = 1 if self_ordinal is None else 0
        n = len(self._ordinal) + virtual
        if n <= 1 or not terms:
            return []
        table = self._idf2_table(n)
        query = _Query(terms, self._postings, table, virtual)
        matches = []
        for ordinal in self._candidates(terms, n, self_ordinal):
            doc = self._docs[ordinal]
            assert doc is not None
            score = query.cosine(doc.terms)
            if score >= min_score:
                matches.append(Match(id=doc.id, score=round(score, 4), kind=doc.kind, name=doc.name))
        matches.sort(key=lambda m: (-m.score, m.id))
        return matches[:top]

    def similarity(self, a: ScreeningText, b: ScreeningText) -> float:
        """The score of two texts under this index's statistics, both counted as if indexed.

        Neither needs to be indexed (an indexed copy with the same id is counted once).
        """
        a_terms, b_terms = text_terms(a), text_terms(b)
        if not a_terms or not b_terms:
            return 0.0
        extra = [t for t in (a, b) if t.id not in self._ordinal]
        table = self._idf2_table(len(self._ordinal) + len(extra))
        extra_terms = [set(text_terms(t)) for t in extra]

        def weight(term: int) -> float:
            return table[self._df(term) + sum(term in e for e in extra_terms)]

        shared = set(a_terms).intersection(b_terms)
        dot = sum(weight(t) for t in shared)
        return dot / math.sqrt(sum(map(weight, a_terms)) * sum(map(weight, b_terms)))

    # --- internals ---

    def _df(self, term: int) -> int:
        bucket = self._postings.get(term)
        return len(bucket) if bucket is not None else 0

    def _idf2_table(self, n: int) -> list[float]:
        """idf² by document frequency 0..n+1 for a corpus of n documents (cached for the last n)."""
        cached_n, table = self._idf2_cache
        if cached_n != n:
            log_n1 = math.log(n + 1)
            table = [(log_n1 - math.log(df + 1) + 1.0) ** 2 for df in range(n + 2)]
            self._idf2_cache = (n, table)
        return table

    def _candidates(self, terms: array[int], n: int, self_ordinal: int | None) -> list[int]:
        """Ordinals sharing the most rare terms with the query (rarest terms first, budgeted)."""
        postings = self._postings
        cap = max(MIN_DF_CAP, int(MAX_DF_SHARE * n))
        present = sorted((len(b), t) for t in terms if (b := postings.get(t)) is not None and len(b) <= cap)
        counts: Counter[int] = Counter()
        spent = 0
        for df, term in present:
            if spent + df > CANDIDATE_POSTINGS_BUDGET:
                break
            counts.update(postings[term])
            spent += df
        if self_ordinal is not None:
            counts.pop(self_ordinal, None)
        # Ties by ordinal keep the pool deterministic.
        best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:CANDIDATE_POOL]
        return [ordinal for ordinal, _ in best]


class _Query:
    """A query's terms with their idf² weights, ready to be scored against indexed documents."""

    def __init__(
        self, terms: array[int], postings: dict[int, array[int]], table: list[float], virtual: int
    ) -> None:
        self.postings = postings
        self.table = table
        self.virtual = virtual
        self.weight = {
            t: table[(len(b) if (b := postings.get(t)) is not None else 0) + virtual] for t in terms
        }
        self.terms = self.weight.keys()
        self.norm2 = sum(self.weight.values())

    def cosine(self, doc_terms: array[int]) -> float:
        """idf-weighted binary cosine of the query and an indexed document."""
        shared = self.terms & set(doc_terms)
        if not shared:
            return 0.0
        table, postings = self.table, self.postings
        # The document's norm over its own terms (C-level maps), then corrected for the shared terms
        # whose df also counts the (virtual) query.
        doc_norm2 = sum(map(table.__getitem__, map(len, map(postings.__getitem__, doc_terms))))
        dot = 0.0
        for term in shared:
            weight = self.weight[term]
            dot += weight
            if self.virtual:
                doc_norm2 += weight - table[len(postings[term])]
        return dot / math.sqrt(self.norm2 * doc_norm2)


# --- findings ---------------------------------------------------------------------------------------

_KIND_ZH: dict[str, str] = {"declaration": "申报项目", "existing_system": "已建系统"}


def duplicate_findings(
    candidate: ScreeningText,
    index: SimilarityIndex,
    *,
    citations: Sequence[str],
    top: int = DUPLICATE_TOP,
    min_score: float = DUPLICATE_MIN_SCORE,
) -> list[Finding]:
    """Possible duplicate construction: one finding per match scoring ≥ ``min_score`` (best first).

    The candidate's own id in the index is ignored, so screening a resubmission does not match
    itself.
    """
    findings = []
    for match in index.query(candidate, top=top, min_score=min_score):
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
    same_org_recent: Sequence[ScreeningText],
    threshold: Decimal,
    *,
    citations: Sequence[str],
    index: SimilarityIndex | None = None,
    window_months: int = SPLITTING_WINDOW_MONTHS,
    similarity_min: float = SPLITTING_MIN_SCORE,
    threshold_inclusive: bool = True,
) -> list[Finding]:
    """Possible project splitting (化整为零): at most one finding.

    Flags when the candidate and the other declarations of the same org submitted within
    ``window_months`` of it (either side, inclusive) and at least ``similarity_min`` similar to it
    are each under ``threshold`` while their sum reaches it. ``threshold`` is the pack's amount
    from which the stricter rule applies; with ``threshold_inclusive`` (以上, the packs' reading)
    "under" is ``< threshold`` and "crosses" is ``sum ≥ threshold``, otherwise (超过) ``≤`` and ``>``.
    Other orgs, existing systems, undated texts and the candidate's own id are ignored, so the
    caller may pass a loose superset. ``index`` supplies the tenant's term statistics; without it
    the similarity uses a small index of the texts given.
    """
    if candidate.submitted_at is None:
        raise ValueError("splitting screening needs the candidate's submission date")

    def under(amount: Decimal) -> bool:
        return amount < threshold if threshold_inclusive else amount <= threshold

    if not under(candidate.amount):
        return []  # already at the threshold: the stricter rule applies to it anyway
    start = _add_months(_as_date(candidate.submitted_at), -window_months)
    end = _add_months(_as_date(candidate.submitted_at), window_months)
    peers = [
        t
        for t in same_org_recent
        if t.org_id == candidate.org_id
        and t.id != candidate.id
        and t.kind == "declaration"
        and t.submitted_at is not None
        and start <= _as_date(t.submitted_at) <= end
        and under(t.amount)
    ]
    if not peers:
        return []
    if index is None:
        index = SimilarityIndex()
        index.build(peers)
    scored = sorted(
        ((index.similarity(candidate, t), t) for t in peers), key=lambda pair: (-pair[0], pair[1].id)
    )
    parts = [(round(score, 4), t) for score, t in scored if score >= similarity_min]
    total = candidate.amount + sum((t.amount for _, t in parts), Decimal("0"))
    crosses = total >= threshold if threshold_inclusive else total > threshold
    if not parts or not crosses:
        return []
    names = "、".join(f"「{t.name}」（{_money(t.amount)}）" for _, t in parts)
    below, reaches = ("低于", "达到") if threshold_inclusive else ("未超过", "超过")
    return [
        Finding(
            kind="splitting",
            score=min(score for score, _ in parts),
            related_ids=tuple(t.id for _, t in parts),
            message_zh=(
                f"疑似拆分项目（化整为零）：本单位{window_months}个月内申报的相似项目{names}"
                f"与本项目（{_money(candidate.amount)}）单项金额均{below}{_money(threshold)}，"
                f"合计{_money(total)}，{reaches}{_money(threshold)}的标准，"
                "请评审人员核实是否为同一项目拆分申报。"
            ),
            citations=tuple(citations),
            details={
                "threshold": str(threshold),
                "total": str(total),
                "amount": str(candidate.amount),
                "related": [
                    {"id": t.id, "name": t.name, "amount": str(t.amount), "score": score}
                    for score, t in parts
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
