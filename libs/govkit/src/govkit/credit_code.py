"""The unified social credit code (统一社会信用代码), GB 32100-2015.

Eighteen characters: the registration authority (1), the organisation category (1), the
administrative division (6, GB/T 2260), the organisation code (9, GB 11714) and a check character
(1). Characters come from the 31 of §4.2 (the digits and the capitals without I, O, Z, S, V); the
check character is computed over the first 17 by the weighted modulo-31 sum of §5 (the weight of
position i is 3^(i-1) mod 31).
"""

from __future__ import annotations

from dataclasses import dataclass

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_MODULUS = len(CHARSET)
LENGTH = 18
_WEIGHTS = tuple(pow(3, i, _MODULUS) for i in range(LENGTH - 1))


@dataclass(frozen=True)
class CreditCodeProblem:
    """Why a code is not a valid unified social credit code (Chinese for the clerk)."""

    code: str
    message: str


def check_character(first17: str) -> str:
    """The check character GB 32100-2015 §5 gives for the first 17 characters."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def problem(value: str) -> CreditCodeProblem | None:
    """None for a valid code; otherwise what is wrong with it."""
    if len(value) != LENGTH:
        return CreditCodeProblem(
            "CREDIT_CODE_LENGTH", f"统一社会信用代码应为{LENGTH}位，当前为{len(value)}位。"
        )
    bad = sorted({c for c in value if c not in CHARSET})
    if bad:
        return CreditCodeProblem(
            "CREDIT_CODE_CHARACTERS",
            "统一社会信用代码含有不允许的字符：" + "、".join(bad) + "（不使用I、O、Z、S、V及小写字母）。",
        )
    if check_character(value[:-1]) != value[-1]:
        return CreditCodeProblem(
            "CREDIT_CODE_CHECK_DIGIT", "统一社会信用代码校验位不正确，请核对后重新填写。"
        )
    return None


def is_valid(value: str) -> bool:
    """True for an 18-character code whose check character is right."""
    return problem(value) is None
