"""The expert draw: reproducible from its seed, avoiding every conflict, replacements exclude the panel."""

from dataclasses import replace
from datetime import date

import pytest

from govkit.errors import AppError
from review.domain import experts as x
from review.domain.experts import ConflictContext, Expert


def library() -> list[Expert]:
    return [
        Expert(id=f"e{i:02d}", tenant_id="city", name=f"专家{i}", org=f"大学{i}", specialties=("软件",))
        for i in range(1, 13)
    ] + [
        Expert(id="e20", tenant_id="city", name="同单位", org="市城管局"),
        Expert(
            id="e21", tenant_id="city", name="设计关联", org="大学21", affiliations=("某某设计院有限公司",)
        ),
        Expert(id="e22", tenant_id="city", name="投标关联", org="ＡＢＣ 科技"),
        Expert(id="e23", tenant_id="city", name="失信", org="大学23", discredited=True),
        Expert(id="e24", tenant_id="city", name="出差", org="大学24", available=False),
    ]


CONTEXT = ConflictContext(
    declaring_org_ids=("unit-1", "市城管局"), designer_orgs=("某某设计院有限公司",), bidders=("abc科技",)
)


def test_conflicts_are_excluded_with_their_reasons() -> None:
    screening = x.screen(library(), CONTEXT)
    assert screening.excluded == {
        "e20": "same_org",
        "e21": "designer",
        "e22": "bidder",  # full-width letters and spaces compare equal
        "e23": "discredited",
        "e24": "unavailable",
    }
    assert screening.candidates == tuple(f"e{i:02d}" for i in range(1, 13))


def test_the_same_seed_gives_the_same_panel_whatever_the_input_order() -> None:
    candidates = x.screen(library(), CONTEXT).candidates
    first = x.draw(candidates, 5, "seed-2025-0001")
    again = x.draw(list(reversed(candidates)), 5, "seed-2025-0001")
    assert first == again and len(set(first)) == 5
    assert x.draw(candidates, 5, "seed-2025-0002") != first
    assert not set(first) & {"e20", "e21", "e22", "e23", "e24"}


def test_replay_confirms_a_recorded_draw_and_catches_a_forged_one() -> None:
    from datetime import UTC, datetime

    candidates = x.screen(library(), CONTEXT).candidates
    drawn = x.draw(candidates, 3, "s")
    record = x.Draw(
        id="d",
        tenant_id="t",
        case_id="c",
        stage="plan",
        seed="s",
        size=3,
        candidates=candidates,
        excluded={},
        drawn=drawn,
        drawn_by="u",
        drawn_at=datetime.now(UTC),
    )
    assert x.replay(record)
    forged = x.Draw(**{**record.__dict__, "drawn": tuple(reversed(drawn))})
    assert not x.replay(forged)


def test_replacement_never_draws_someone_already_on_the_panel() -> None:
    candidates = x.screen(library(), CONTEXT).candidates
    panel = x.draw(candidates, 5, "first")
    again = x.screen(library(), CONTEXT, on_panel=panel)
    assert set(again.excluded) >= set(panel)
    replacement = x.draw(again.candidates, 1, "replacement-1")
    assert replacement[0] not in panel


def test_specialty_filter_and_a_pool_too_small() -> None:
    screening = x.screen(library(), CONTEXT, specialty="网络安全")
    assert screening.candidates == ()
    with pytest.raises(AppError) as err:
        x.draw(screening.candidates, 3, "s")
    assert err.value.code == "EXPERT_POOL_TOO_SMALL"
    with pytest.raises(AppError):
        x.draw(("a",), 0, "s")


def test_decline_then_accept_is_refused() -> None:
    member = x.PanelMember(
        id="m", tenant_id="t", case_id="c", draw_id="d", expert_id="e01", status=x.MemberStatus.INVITED
    )
    declined = x.decline(member, "出差")
    assert declined.status is x.MemberStatus.DECLINED
    with pytest.raises(AppError):
        x.accept(declined)


def test_a_replacement_keeps_the_conflicts_the_first_draw_found() -> None:
    first = x.screen(library(), CONTEXT)
    # The replacement request does not repeat the bidders: the earlier exclusions still hold.
    again = x.screen(
        library(),
        ConflictContext(declaring_org_ids=("unit-1",)),
        on_panel=("e01",),
        conflicts_before=first.excluded,
    )
    assert again.excluded["e22"] == "bidder" and again.excluded["e21"] == "designer"
    assert again.excluded["e20"] == "same_org" and again.excluded["e01"] == "on_panel"
    # A state reason (discredited, unavailable) is judged afresh, not copied.
    assert again.excluded["e23"] == "discredited"


def test_a_listing_lapses_the_day_after_its_period_ends() -> None:
    listed = Expert(
        id="e1",
        tenant_id="t",
        name="甲",
        org="院",
        discredited=True,
        discredited_reason="泄露评审信息",
        discredited_until=date(2025, 6, 30),
    )
    assert listed.as_of(date(2025, 6, 30)) is listed
    lapsed = listed.as_of(date(2025, 7, 1))
    assert not lapsed.discredited and lapsed.discredited_reason == "" and lapsed.discredited_until is None
    context = ConflictContext(declaring_org_ids=("unit",))
    assert x.screen([listed], context).excluded == {"e1": "discredited"}
    assert x.screen([lapsed], context).candidates == ("e1",)
    until_removed = replace(listed, discredited_until=None)
    assert until_removed.as_of(date(2099, 1, 1)).discredited
