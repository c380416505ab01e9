import pytest
from hypothesis import given
from hypothesis import strategies as st

from chengxin.identity import IdentityError, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        " 138 0013 8000 ",
        "138-0013-8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "008613800138000",
        "0086-138-0013-8000",
    ],
)
def test_accepted_forms(raw):
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "12800138000",  # second digit 2
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "23800138000",
        "+8513800138000",
        "86138001380000",
        "1380013800a",
        "１３８００１３８０００",  # full-width digits
        "",
    ],
)
def test_rejected_forms(raw):
    with pytest.raises(IdentityError) as info:
        normalize_phone(raw)
    assert info.value.code == "phone_format"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086"]))
def test_normalize_strips_prefix_and_is_idempotent(number, prefix):
    once = normalize_phone(prefix + number)
    assert once == number
    assert normalize_phone(once) == once
