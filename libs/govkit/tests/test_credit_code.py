"""The unified social credit code check character (GB 32100-2015 §5)."""

from __future__ import annotations

import pytest

from govkit import credit_code


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example code of GB 32100-2015's explanatory material
        "91110108MA01RB4C3A",
        "91230500MA1C7QXK2H",
        "12230500MB12345679",  # the sample package's trading center (a public institution, 事业单位)
    ],
)
def test_valid_codes(code: str) -> None:
    assert credit_code.is_valid(code)


def test_the_check_character_is_the_weighted_mod_31_complement() -> None:
    # Weights 3^(i-1) mod 31: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.
    assert [pow(3, i, 31) for i in range(17)] == [
        1,
        3,
        9,
        27,
        19,
        26,
        16,
        17,
        20,
        29,
        25,
        13,
        8,
        24,
        10,
        30,
        28,
    ]
    assert credit_code.check_character("91350100M000100Y4") == "3"


def test_a_check_character_of_zero_when_the_sum_is_a_multiple_of_31() -> None:
    body = next(
        p for p in (f"9111010800000{n:04d}" for n in range(10_000)) if credit_code.check_character(p) == "0"
    )
    assert credit_code.is_valid(body + "0")


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y4", "CREDIT_CODE_LENGTH"),
        ("91350100M000100Y433", "CREDIT_CODE_LENGTH"),
        ("91350100M000100Y44", "CREDIT_CODE_CHECK_DIGIT"),
        ("91350100I000100Y43", "CREDIT_CODE_CHARACTERS"),  # I is not among the 31 characters
        ("91350100m000100Y43", "CREDIT_CODE_CHARACTERS"),
        ("91350100O000100Y43", "CREDIT_CODE_CHARACTERS"),
    ],
)
def test_invalid_codes_say_why(code: str, problem: str) -> None:
    found = credit_code.problem(code)
    assert found is not None and found.code == problem and found.message
