"""Screening at submission: normalisation, the similarity index, duplicate and splitting findings."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from intake.domain import screening
from intake.domain.screening import (
    DUPLICATE_MIN_SCORE,
    SPLITTING_MIN_SCORE,
    ScreeningText,
    SimilarityIndex,
    duplicate_findings,
    normalize,
    shingles,
    splitting_findings,
    text_terms,
)

CITE_DUP = ["shuangyashan-2024 §13(4)"]
CITE_SPLIT = ["wuxing-2023 §8(6)"]
THRESHOLD = Decimal("1000000")  # stands for a pack's amount; the module knows none


def text(
    doc_id: str,
    name: str,
    content: str,
    goals: str = "",
    *,
    org: str = "区城市管理局",
    amount: str = "0",
    on: date | datetime | None = None,
    kind: screening.TextKind = "declaration",
) -> ScreeningText:
    return ScreeningText(
        id=doc_id,
        org_id=org,
        name=name,
        content=content,
        goals=goals,
        amount=Decimal(amount),
        submitted_at=on,
        kind=kind,
    )


# A small tenant: unrelated declarations that share the usual boilerplate, so idf means something.
# id|org|name|content|goals
TENANT_ROWS = """
t01|区财政局|区级预算绩效管理系统|建设预算绩效管理系统，实现绩效目标申报、绩效监控和绩效自评。系统对接预算管理一体化平台。|绩效目标覆盖率100%。
t02|区城市管理局|城市照明节能改造项目|对城区路灯进行单灯控制改造，按时段自动调光，故障自动报警，降低照明能耗。|照明能耗下降25%。
t03|区教育局|智慧教育资源平台建设|建设教育资源平台，汇聚微课、课件和习题资源，支持教师上传共享和学生在线学习。|资源总量达到5万条。
t04|区医疗保障局|医保基金监管系统|建设医保基金监管系统，对定点医药机构结算数据进行审核，筛查违规行为。|追回违规基金同比提高20%。
t05|区水利局|农村饮用水水质在线监测|在农村集中供水工程安装水质在线监测仪，数据实时上传监管平台，异常自动预警。|水质达标率95%以上。
t06|区政务服务中心|政务服务好差评系统升级|对政务服务好差评系统进行升级，群众可通过多渠道评价，差评自动生成整改工单。|差评整改率100%。
t07|区林业局|森林防火视频监控系统|在重点林区建设视频监控塔，自动识别烟火并定位报警，建设防火指挥调度系统。|火情5分钟内发现。
t08|区档案馆|档案数字化加工项目|对馆藏文书档案进行数字化扫描和著录，建设档案管理系统，实现在线查询利用。|数字化率95%。
t09|区应急管理局|安全生产执法系统建设|为执法人员配备移动执法终端，执法检查、隐患整改和处罚文书全部线上生成。|执法文书电子化率100%。
t10|区人力资源和社会保障局|就业服务平台建设项目|建设就业服务平台，提供岗位发布、求职登记和就业补贴网上申领服务。|年发布岗位3万条。
t11|区司法局|公共法律服务平台|整合法律咨询、法律援助和人民调解服务，群众可通过热线和小程序获取法律服务。|法律援助网上申请率70%。
t12|区住房和城乡建设局|智慧工地监管平台建设|在建工地部署扬尘噪声监测和塔吊监控设备，超标自动报警，数据与环保部门共享。|在建工地接入率100%。
"""
TENANT = [
    text(doc_id, name, content, goals, org=org)
    for doc_id, org, name, content, goals in (row.split("|") for row in TENANT_ROWS.strip().splitlines())
]

COMMAND_A = text(
    "a",
    "智慧城管综合指挥平台",
    "依托区政务云建设智慧城管综合指挥平台，整合数字城管、渣土车监管、户外广告、市政设施等业务数据，"
    "实现城市管理问题发现、派遣、处置、核查、结案全流程闭环管理。平台接入公安视频资源，对占道经营、"
    "乱堆乱放等事件进行智能识别。",
    "事件智能识别准确率达到85%以上，按期结案率不低于95%。",
)
COMMAND_B = text(
    "b",
    "城市管理综合指挥调度系统建设",
    "拟建设城市管理综合指挥调度系统，汇聚市政设施、渣土运输、户外广告和数字城管案件等数据，对接全区"
    "公安视频资源，利用视频AI自动发现占道经营、乱堆物料等问题。案件按照发现、派遣、处置、核查、结案"
    "流程闭环流转。",
    "AI识别准确率≥85%；结案率达到95%。",
    org="区综合行政执法局",
)
BODYCAM = text(
    "cam",
    "城管执法记录仪采购项目",
    "为一线城管执法队员采购执法记录仪260台、执法数据采集工作站20套，对执法音视频统一存储和调阅，"
    "执法全过程留痕。",
    "执法记录仪配备率100%。",
)


def like(base: ScreeningText, **changes: object) -> ScreeningText:
    """A copy of a text with some fields changed (amount as a string)."""
    if isinstance(changes.get("amount"), str):
        changes["amount"] = Decimal(str(changes["amount"]))
    return replace(base, **changes)  # type: ignore[arg-type]


def tenant_index(*extra: ScreeningText) -> SimilarityIndex:
    index = SimilarityIndex()
    index.build([*TENANT, *extra])
    return index


# --- normalisation and terms ------------------------------------------------------------------------


def test_normalize_folds_full_width_case_and_whitespace() -> None:
    assert normalize("ＧＩＳ　平台\t\n 升级  １２３４５") == "gis 平台 升级 12345"


def test_terms_ignore_width_and_stray_spaces_but_not_punctuation() -> None:
    assert shingles("智慧 城管 平台") == shingles("智慧城管平台")
    assert shingles("１２３４５热线") == shingles("12345热线")
    assert "管\x1f指" in shingles("城管指挥")
    assert "管\x1f指" not in shingles("城管，指挥")  # a sentence break is no phrase


def test_latin_and_digit_words_are_units() -> None:
    terms = shingles("部署5G基站和GIS平台")
    assert {"5g", "gis", "5g\x1f基", "s\x1f平"} - terms == {"s\x1f平"}  # words stay whole
    assert {"5g", "gis", "5g\x1f基", "gis\x1f平"} <= terms


def test_terms_are_stable_hashes_over_all_three_fields() -> None:
    a = text_terms(COMMAND_A)
    assert list(a) == sorted(set(a))
    assert text_terms(COMMAND_A) == a  # CRC-32, not the per-process hash()
    goals_only = text("g", "", "", COMMAND_A.goals)
    assert set(text_terms(goals_only)) <= set(a)


# --- the index --------------------------------------------------------------------------------------


def test_paraphrased_renamed_project_is_found_and_a_same_domain_purchase_is_not() -> None:
    index = tenant_index(COMMAND_A, BODYCAM)
    matches = index.query(COMMAND_B)
    assert [m.id for m in matches] == ["a"]
    assert matches[0].score >= DUPLICATE_MIN_SCORE
    assert matches[0].kind == "declaration" and matches[0].name == "智慧城管综合指挥平台"
    assert index.query(BODYCAM) == []  # shares 城管/执法, is a different project


def test_identical_content_scores_one_and_scores_stay_in_range() -> None:
    index = tenant_index(COMMAND_A)
    twin = text("twin", COMMAND_A.name, COMMAND_A.content, COMMAND_A.goals)
    [match] = index.query(twin, min_score=0.0, top=1)
    assert match.id == "a" and math.isclose(match.score, 1.0)
    for m in index.query(COMMAND_B, min_score=0.0, top=50):
        assert 0.0 < m.score <= 1.0


def test_shared_boilerplate_alone_is_not_a_duplicate() -> None:
    index = tenant_index()
    lookalike = text(
        "x", "智慧停车系统建设项目", "建设系统，实现数据共享，提升服务能力，依托区政务云部署。", ""
    )
    assert index.query(lookalike) == []


def test_add_remove_len_contains_and_replacement() -> None:
    index = tenant_index(COMMAND_A)
    assert len(index) == len(TENANT) + 1 and "a" in index
    index.add(text("a", "城市照明节能改造", "对城区路灯进行单灯控制改造。"))  # same id: replaces
    assert len(index) == len(TENANT) + 1
    assert index.query(COMMAND_B) == []
    assert index.remove("a") is True
    assert index.remove("a") is False
    assert "a" not in index and len(index) == len(TENANT)
    assert index.ids() == sorted(t.id for t in TENANT)
    assert index.stats()["documents"] == len(TENANT)


def test_a_text_never_matches_its_own_id_and_scores_do_not_depend_on_indexing_it_first() -> None:
    before = tenant_index(COMMAND_A).query(COMMAND_B, min_score=0.0, top=50)
    index = tenant_index(COMMAND_A, COMMAND_B)
    after = index.query(COMMAND_B, min_score=0.0, top=50)
    assert "b" not in [m.id for m in after]
    assert [(m.id, m.score) for m in after] == [(m.id, m.score) for m in before]


def test_results_do_not_depend_on_insertion_order() -> None:
    docs = [*TENANT, COMMAND_A, BODYCAM]
    forward, backward = SimilarityIndex(), SimilarityIndex()
    forward.build(docs)
    backward.build(reversed(docs))
    assert forward.query(COMMAND_B, min_score=0.0, top=50) == backward.query(COMMAND_B, min_score=0.0, top=50)


def test_empty_and_single_document_indexes_return_nothing() -> None:
    index = SimilarityIndex()
    assert index.query(COMMAND_B) == []
    index.add(COMMAND_A)
    assert [m.id for m in index.query(COMMAND_B)] == ["a"]
    assert index.query(COMMAND_A) == []  # itself only
    assert index.query(text("e", "", "")) == []


def _reference_scores(docs: dict[str, ScreeningText], query: ScreeningText) -> dict[str, float]:
    """Brute force: idf-weighted binary cosine, the query counted in the statistics."""
    others = {i: set(text_terms(t)) for i, t in docs.items() if i != query.id}
    q = set(text_terms(query))
    corpus = [*others.values(), q]
    n = len(corpus)

    def w(term: int) -> float:
        df = sum(term in terms for terms in corpus)
        return (math.log((n + 1) / (df + 1)) + 1) ** 2

    qn = sum(map(w, q))
    return {i: sum(map(w, q & t)) / math.sqrt(qn * sum(map(w, t))) for i, t in others.items() if q & t}


@pytest.mark.parametrize("recent_singles", [3, 4096])
def test_incremental_index_matches_a_brute_force_reference(
    monkeypatch: pytest.MonkeyPatch, recent_singles: int
) -> None:
    # A tiny merge size exercises the sorted single-document term arrays as well as the dict.
    monkeypatch.setattr(screening, "RECENT_SINGLES", recent_singles)
    rng = random.Random(7)
    pool = [*TENANT, COMMAND_A, COMMAND_B, BODYCAM]
    index, live = SimilarityIndex(), {}
    for step in range(120):
        doc = rng.choice(pool)
        if doc.id in live and rng.random() < 0.4:
            index.remove(doc.id)
            del live[doc.id]
        else:
            index.add(doc)
            live[doc.id] = doc
        if step % 10 == 9:
            query = rng.choice(
                [*pool, text("new", "城管指挥平台升级", "整合数字城管和公安视频资源，智能识别占道经营。")]
            )
            if query.id in live:
                continue  # the reference treats the query as not indexed
            got = {m.id: m.score for m in index.query(query, min_score=0.0, top=100)}
            want = _reference_scores(live, query)
            assert got.keys() == want.keys()
            for doc_id, score in want.items():
                assert got[doc_id] == pytest.approx(score, abs=1e-4)


def test_similarity_is_symmetric_and_counts_both_texts() -> None:
    index = tenant_index()
    ab, ba = index.similarity(COMMAND_A, COMMAND_B), index.similarity(COMMAND_B, COMMAND_A)
    assert ab == pytest.approx(ba)
    assert ab >= DUPLICATE_MIN_SCORE
    assert index.similarity(COMMAND_A, BODYCAM) < SPLITTING_MIN_SCORE
    assert index.similarity(COMMAND_A, text("e", "", "")) == 0.0


# --- duplicate findings -----------------------------------------------------------------------------


def test_duplicate_finding_names_the_match_with_its_score_and_citations() -> None:
    index = tenant_index(COMMAND_A)
    [finding] = duplicate_findings(COMMAND_B, index, citations=CITE_DUP)
    assert finding.kind == "duplicate"
    assert finding.related_ids == ("a",)
    assert finding.citations == tuple(CITE_DUP)
    assert "「智慧城管综合指挥平台」" in finding.message_zh and "申报项目" in finding.message_zh
    assert f"{finding.score:.2f}" in finding.message_zh
    assert finding.as_dict()["related_ids"] == ["a"]


def test_duplicate_of_a_registered_existing_system_says_so() -> None:
    system = text("sys-1", COMMAND_A.name, COMMAND_A.content, COMMAND_A.goals, kind="existing_system")
    index = tenant_index(system)
    [finding] = duplicate_findings(COMMAND_B, index, citations=CITE_DUP)
    assert "已建系统" in finding.message_zh
    assert finding.details["related_kind"] == "existing_system"


def test_no_duplicate_finding_below_the_cut_off_and_top_limits_the_list() -> None:
    index = tenant_index(COMMAND_A, BODYCAM)
    assert duplicate_findings(BODYCAM, index, citations=CITE_DUP) == []
    copies = [text(f"c{i}", COMMAND_A.name, COMMAND_A.content, COMMAND_A.goals) for i in range(8)]
    index.build(copies)
    found = duplicate_findings(COMMAND_B, index, citations=CITE_DUP, top=3)
    assert len(found) == 3
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)


# --- splitting findings -----------------------------------------------------------------------------

ORG = "区城市管理局"
PART_1 = text(
    "p1",
    "城区智慧停车诱导系统（一期）停车诱导屏建设",
    "在城区主要道路和商圈周边设置停车诱导屏24块，实时发布周边停车场空余泊位信息，引导车辆就近停放。",
    "主要商圈停车诱导屏全覆盖，寻找车位时间缩短30%。",
    amount="450000",
    on=date(2025, 3, 10),
)
PART_2 = text(
    "p2",
    "城区智慧停车诱导系统（二期）停车场数据接入",
    "将城区46个公共停车场的出入口道闸数据接入智慧停车诱导系统，实时采集空余泊位数量，为停车诱导屏和"
    "手机小程序提供数据。",
    "公共停车场数据接入率100%。",
    amount="380000",
    on=date(2025, 7, 1),
)
CANDIDATE = text(
    "p3",
    "城区智慧停车诱导系统（三期）停车小程序",
    "开发智慧停车微信小程序，市民可查询城区公共停车场空余泊位、导航前往并在线缴纳停车费，数据来源于停车"
    "诱导系统。",
    "小程序注册用户达到5万人，城区停车场在线缴费率60%。",
    amount="300000",
    on=datetime(2025, 11, 20, 9, 30, tzinfo=UTC),
)
LIGHTING = text(
    "l1",
    "城市照明节能改造",
    "对城区路灯进行单灯控制改造，按时段自动调光，故障自动报警，统计各路段照明能耗。",
    "照明能耗下降25%。",
    amount="400000",
    on=date(2025, 6, 1),
)


def split(candidate: ScreeningText = CANDIDATE, *peers: ScreeningText, **kwargs: object) -> list:
    index = tenant_index(*peers)
    return splitting_findings(
        candidate,
        list(peers),
        THRESHOLD,
        citations=CITE_SPLIT,
        index=index,
        **kwargs,  # type: ignore[arg-type]
    )


def test_parts_each_under_the_threshold_whose_sum_crosses_it_are_flagged() -> None:
    [finding] = split(CANDIDATE, PART_1, PART_2, LIGHTING)
    assert finding.kind == "splitting"
    assert set(finding.related_ids) == {"p1", "p2"}  # not the unrelated lighting project
    assert finding.citations == tuple(CITE_SPLIT)
    assert finding.score >= SPLITTING_MIN_SCORE
    assert finding.details["total"] == "1130000" and finding.details["threshold"] == "1000000"
    assert "100万元" in finding.message_zh and "113万元" in finding.message_zh
    assert "「城区智慧停车诱导系统（一期）停车诱导屏建设」（45万元）" in finding.message_zh


def test_sum_exactly_at_the_threshold_crosses_it_and_one_yuan_less_does_not() -> None:
    at = like(PART_2, amount="250000")
    assert split(CANDIDATE, PART_1, at)  # 300k + 450k + 250k = 100万 (以上 includes the number)
    below = like(PART_2, amount="249999")
    assert split(CANDIDATE, PART_1, below) == []


def test_exclusive_threshold_reading() -> None:
    at = like(PART_2, amount="250000")
    assert split(CANDIDATE, PART_1, at, threshold_inclusive=False) == []  # 超过: must exceed
    over = like(PART_2, amount="250001")
    [finding] = split(CANDIDATE, PART_1, over, threshold_inclusive=False)
    assert "超过100万元" in finding.message_zh


def test_a_part_already_at_the_threshold_is_not_splitting() -> None:
    big = like(PART_1, amount="1000000")
    assert split(CANDIDATE, big) == []  # the peer faces the stricter rule itself
    big_candidate = text(
        "p3", CANDIDATE.name, CANDIDATE.content, CANDIDATE.goals, amount="1000000", on=date(2025, 11, 20)
    )
    assert split(big_candidate, PART_1, PART_2) == []


def test_only_declarations_within_twelve_calendar_months_count() -> None:
    leap_candidate = text(
        "p3", CANDIDATE.name, CANDIDATE.content, CANDIDATE.goals, amount="300000", on=date(2024, 2, 29)
    )

    def part(doc_id: str, base: ScreeningText, on: date) -> ScreeningText:
        return text(doc_id, base.name, base.content, base.goals, amount=str(base.amount), on=on)

    # 2024-02-29 minus 12 months is 2023-02-28 (clamped): that day is inside, the day before is not.
    inside = split(
        leap_candidate, part("p1", PART_1, date(2023, 2, 28)), part("p2", PART_2, date(2024, 1, 5))
    )
    assert len(inside) == 1
    outside = split(
        leap_candidate, part("p1", PART_1, date(2023, 2, 27)), part("p2", PART_2, date(2024, 1, 5))
    )
    assert outside == []
    # Later declarations count too (screening again after a peer was submitted).
    later = split(leap_candidate, part("p1", PART_1, date(2025, 2, 28)), part("p2", PART_2, date(2024, 3, 1)))
    assert len(later) == 1


def test_other_orgs_existing_systems_undated_and_own_id_are_ignored() -> None:
    other_org = text(
        "p1",
        PART_1.name,
        PART_1.content,
        PART_1.goals,
        org="区交通运输局",
        amount="450000",
        on=PART_1.submitted_at,
    )
    assert split(CANDIDATE, other_org, PART_2) == []
    system = text("p1", PART_1.name, PART_1.content, PART_1.goals, amount="450000", kind="existing_system")
    assert split(CANDIDATE, system, PART_2) == []
    undated = text("p1", PART_1.name, PART_1.content, PART_1.goals, amount="450000")
    assert split(CANDIDATE, undated, PART_2) == []
    earlier_self = text(
        "p3", CANDIDATE.name, CANDIDATE.content, CANDIDATE.goals, amount="800000", on=date(2025, 5, 1)
    )
    assert split(CANDIDATE, earlier_self, PART_1) == []


def test_dissimilar_projects_of_the_same_org_are_not_parts() -> None:
    cheap_lighting = [
        text(
            f"l{i}",
            LIGHTING.name + f"（{i}）",
            LIGHTING.content,
            LIGHTING.goals,
            amount="400000",
            on=date(2025, 6, i),
        )
        for i in range(1, 4)
    ]
    assert split(CANDIDATE, *cheap_lighting) == []


def test_splitting_without_the_tenant_index_uses_the_texts_given() -> None:
    # Three statistics-poor documents: only a plain case (one project cut by area) is expected.
    def area(doc_id: str, where: str, count: int, amount: str, on: date) -> ScreeningText:
        return text(
            doc_id,
            f"{where}片区老旧小区智慧安防改造",
            f"对{where}片区{count}个老旧小区实施智慧安防改造，在小区出入口安装人脸识别门禁和车辆道闸，"
            "在楼道和周界安装视频监控，数据接入区智慧安防小区平台。",
            f"改造小区{count}个，小区发案率下降30%。",
            org="区公安分局",
            amount=amount,
            on=on,
        )

    east, west = (
        area("e", "城东", 12, "460000", date(2025, 3, 1)),
        area("w", "城西", 10, "430000", date(2025, 5, 20)),
    )
    north = area("n", "城北", 9, "390000", date(2025, 9, 12))
    [finding] = splitting_findings(north, [east, west], THRESHOLD, citations=CITE_SPLIT)
    assert finding.related_ids == ("e", "w")


def test_splitting_needs_the_candidates_submission_date() -> None:
    undated = text("p3", CANDIDATE.name, CANDIDATE.content, amount="300000")
    with pytest.raises(ValueError, match="submission date"):
        splitting_findings(undated, [PART_1], THRESHOLD, citations=CITE_SPLIT)


def test_indexed_pairs_score_as_the_general_measure_does() -> None:
    index = tenant_index(PART_1, PART_2, COMMAND_A, COMMAND_B, BODYCAM)
    docs = [index.document(d) for d in ("p1", "p2", "a", "b", "cam", "t02")]
    assert all(d is not None for d in docs)
    for x in docs:
        for y in docs:
            assert x is not None and y is not None
            expected = index.terms_similarity(x.terms, True, y.terms, True)
            assert math.isclose(index.indexed_similarity(x, y), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_splitting_from_the_index_documents_and_the_query_scores_finds_the_same_parts() -> None:
    """How the service screens: parts are the index's documents near the candidate, and the
    candidate's scores come from the query it already made."""
    index = tenant_index(PART_1, PART_2, LIGHTING)
    matches = index.query(CANDIDATE, top=20, min_score=SPLITTING_MIN_SCORE * screening.SPLITTING_NAME_FACTOR)
    near = [d for m in matches if (d := index.document(m.id)) is not None]
    from_index = splitting_findings(
        CANDIDATE,
        near,
        THRESHOLD,
        citations=CITE_SPLIT,
        index=index,
        candidate_scores={m.id: m.score for m in matches},
    )
    from_texts = splitting_findings(
        CANDIDATE, [PART_1, PART_2, LIGHTING], THRESHOLD, citations=CITE_SPLIT, index=index
    )
    assert [f.related_ids for f in from_index] == [f.related_ids for f in from_texts] == [("p1", "p2")]
    assert from_index[0].details["total"] == from_texts[0].details["total"] == "1130000"
    assert math.isclose(from_index[0].score, from_texts[0].score, abs_tol=1e-4)
