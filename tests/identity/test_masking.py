import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chengxin.identity import (
    loggable_path,
    make_id_number,
    mask_id_number,
    mask_name,
    mask_org_name,
    mask_phone,
    scrub_text,
)

ID = "41052719800101123X"


@pytest.mark.parametrize(
    ("audience", "expected"),
    [("public", "4105**********123X"), ("staff", "410527********123X"), ("self", ID)],
)
def test_mask_id_number(audience, expected):
    assert mask_id_number(ID, audience) == expected
    assert len(mask_id_number(ID, audience)) == 18


@pytest.mark.parametrize("audience", ["public", "staff", "self"])
def test_empty_values_mask_to_empty(audience):
    for fn in (mask_id_number, mask_name, mask_phone, mask_org_name):
        assert fn(None, audience) == ""
        assert fn("", audience) == ""


def test_unknown_audience_refused():
    with pytest.raises(ValueError):
        mask_id_number(ID, "admin")  # type: ignore[arg-type]


def test_short_malformed_id_fully_hidden():
    assert mask_id_number("1234567", "public") == "*******"


@pytest.mark.parametrize(
    ("name", "audience", "expected"),
    [
        ("张三", "public", "张*"),
        ("欧阳娜娜", "public", "欧***"),
        ("欧阳修", "staff", "欧**"),
        ("张三", "self", "张三"),
        ("李", "public", "*"),
    ],
)
def test_mask_name(name, audience, expected):
    assert mask_name(name, audience) == expected


def test_org_name_unchanged():
    assert mask_org_name("北京某某科技有限公司", "public") == "北京某某科技有限公司"


@pytest.mark.parametrize(
    ("audience", "expected"),
    [("public", "138****8000"), ("staff", "138****8000"), ("self", "13800138000")],
)
def test_mask_phone(audience, expected):
    assert mask_phone("13800138000", audience) == expected


def test_scrub_sentence_with_id_and_phone():
    text = f"当事人张三（身份证号{ID}，联系电话13800138000）于20240101欠款12345.67元。"
    assert scrub_text(text) == (
        "当事人张三（身份证号4105**********123X，联系电话138****8000）于20240101欠款12345.67元。"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("号码11010519491231002x。", "号码1101**********002X。"),
        ("旧证110105491231002号", "旧证1101**********1002号"),
        ("证号 410527 19800101 123X 止", "证号 4105**********123X 止"),
        ("电话+86 138-0013-8000", "电话+86 138****8000"),
        ("电话8613800138000", "电话86138****8000"),
        ("tel:139 1234 5678.", "tel:139****5678."),
    ],
)
def test_scrub_other_forms(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "日期20240101，金额1,234,567.89元",
        "订单号1234567890123456789012",  # long digit run: not an ID
        "账号 12381380013800099999",  # phone-like digits inside a longer run
        "编号12345678901",  # 11 digits but not a mobile prefix
        "",
    ],
)
def test_scrub_leaves_other_numbers(text):
    assert scrub_text(text) == text


def test_scrub_none():
    assert scrub_text(None) == ""


def test_loggable_path_masks_an_id_number_segment_and_keeps_the_rest():
    assert loggable_path("/api/v1/persons/11010519491231002X/archive.pdf") == (
        "/api/v1/persons/1101**********002X/archive.pdf")
    assert loggable_path("/api/v1/lists/123456789012345678901") == (
        "/api/v1/lists/123456789012345678901")  # a longer digit run is no ID number
    assert loggable_path("/x" * 150) == ("/x" * 100)


_HANZI = "的是在了不和有大这主中人上为们地个用工时要动国产以我到"
chinese = st.text(alphabet=_HANZI, max_size=8)
# Separators between numbers: two numbers written back to back are one longer digit run.
separators = st.text(alphabet=_HANZI, min_size=1, max_size=8)
ids = st.builds(
    make_id_number,
    st.sampled_from(["110105", "360426", "410527", "650102"]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 1, 1)),
    st.integers(min_value=0, max_value=999),
)
phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(chinese, ids, separators, phones, chinese)
def test_scrub_never_leaks_embedded_identifiers(a, id18, b, phone, c):
    out = scrub_text(a + id18 + b + phone + c)
    assert id18 not in out
    assert phone not in out
    assert mask_id_number(id18, "public") in out
    assert mask_phone(phone, "public") in out


@given(st.lists(st.tuples(separators, st.integers(min_value=0, max_value=10**10 - 1))))
def test_scrub_keeps_short_numbers(parts):
    text = "".join(f"{words}{number}" for words, number in parts)
    assert scrub_text(text) == text
