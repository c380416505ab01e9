import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chengxin import clock
from chengxin.identity import (
    IdentityError,
    IdInfo,
    age_on,
    check_char,
    is_valid_id_number,
    make_id_number,
    normalize_id_number,
    parse_id_number,
)
from chengxin.identity.gb11643 import PROVINCE_CODES

TODAY = dt.date(2024, 6, 1)
GOOD = ["11010519491231002X", "360426199101010071"]


def code_of(raw: str, today: dt.date = TODAY) -> str:
    with pytest.raises(IdentityError) as info:
        normalize_id_number(raw, today=today)
    return info.value.code


@pytest.mark.parametrize("number", GOOD)
def test_known_good_numbers_validate_unchanged(number):
    assert normalize_id_number(number, today=TODAY) == number
    assert is_valid_id_number(number, today=TODAY)


def test_check_char_of_known_numbers():
    assert check_char("11010519491231002") == "X"
    assert check_char("36042619910101007") == "1"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310021", "id_number_checksum"),
        ("360426199101010072", "id_number_checksum"),
        ("110105194902300020", "id_number_date"),  # 30 February
        ("110105189912310020", "id_number_date"),  # before 1900
        ("110105202501010020", "id_number_future"),
        ("990105194912310020", "id_number_region"),
        ("100105194912310020", "id_number_region"),
        ("11010519491231002X1", "id_number_format"),  # 19 chars
        ("1101051949123100", "id_number_format"),
        ("11010519491231002Y", "id_number_format"),
        ("1101051949123100AX", "id_number_format"),
        ("ABCDEFGHIJKLMNOPQR", "id_number_format"),
        ("１１０１０５１９４９１２３１００２Ｘ", "id_number_format"),  # full-width digits
        ("110105 19491231002X", "id_number_format"),
        ("", "id_number_format"),
    ],
)
def test_known_bad_numbers_give_specific_code(raw, code):
    assert code_of(raw) == code
    assert not is_valid_id_number(raw, today=TODAY)


def test_future_is_relative_to_today():
    number = make_id_number("110105", dt.date(2024, 6, 2), 2)
    assert code_of(number, today=dt.date(2024, 6, 1)) == "id_number_future"
    assert normalize_id_number(number, today=dt.date(2024, 6, 2)) == number


def test_default_today_comes_from_platform_clock():
    number = make_id_number("110105", dt.date(2001, 1, 1), 2)
    with clock.frozen(dt.datetime(2000, 6, 1, tzinfo=dt.UTC)):
        assert not is_valid_id_number(number)
    assert is_valid_id_number(number)


def test_non_string_is_format_error():
    with pytest.raises(IdentityError) as info:
        normalize_id_number(11010519491231002, today=TODAY)  # type: ignore[arg-type]
    assert info.value.code == "id_number_format"


def test_whitespace_and_lower_case_x_accepted():
    assert normalize_id_number(" \t11010519491231002x\u3000\n", today=TODAY) == GOOD[0]


def test_fifteen_digit_number_is_upgraded():
    assert normalize_id_number("110105491231002", today=TODAY) == "11010519491231002X"
    assert normalize_id_number("360426910101007", today=TODAY) == "360426199101010071"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("990105491231002", "id_number_region"), ("110105490230002", "id_number_date")],
)
def test_bad_fifteen_digit_numbers(raw, code):
    assert code_of(raw) == code


def test_parse_known_numbers():
    assert parse_id_number("11010519491231002X") == IdInfo(
        region_code="110105", province_code="11", birth_date=dt.date(1949, 12, 31), sex="F"
    )
    info = parse_id_number("360426199101010071")
    assert (info.birth_date, info.sex, info.province_code) == (dt.date(1991, 1, 1), "M", "36")


def test_parse_rejects_unnormalised_input():
    with pytest.raises(IdentityError):
        parse_id_number("11010519491231002x")


def test_age_around_birthday():
    number = "360426199101010071"
    assert age_on(number, dt.date(2023, 12, 31)) == 32
    assert age_on(number, dt.date(2024, 1, 1)) == 33
    assert age_on(number, dt.date(1991, 1, 1)) == 0


def test_age_for_leap_day_birthday():
    number = make_id_number("110105", dt.date(2000, 2, 29), 1)
    assert age_on(number, dt.date(2018, 2, 28)) == 17
    assert age_on(number, dt.date(2018, 3, 1)) == 18
    assert age_on(number, dt.date(2020, 2, 29)) == 20


def test_age_before_birth_raises():
    with pytest.raises(ValueError):
        age_on("360426199101010071", dt.date(1990, 1, 1))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("990105", dt.date(1990, 1, 1), 1), "id_number_region"),
        (("11010", dt.date(1990, 1, 1), 1), "id_number_format"),
        (("110105", dt.date(1899, 12, 31), 1), "id_number_date"),
    ],
)
def test_make_rejects_bad_inputs(args, code):
    with pytest.raises(IdentityError) as info:
        make_id_number(*args)
    assert info.value.code == code


@pytest.mark.parametrize("sequence", [-1, 1000])
def test_make_rejects_bad_sequence(sequence):
    with pytest.raises(ValueError):
        make_id_number("110105", dt.date(1990, 1, 1), sequence)


regions = st.builds(
    lambda p, rest: p + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_id_number, regions, births, sequences)


@given(regions, births, sequences)
def test_made_numbers_validate_and_parse_back(region, birth, sequence):
    number = make_id_number(region, birth, sequence)
    assert normalize_id_number(number, today=TODAY) == number
    info = parse_id_number(number)
    assert (info.region_code, info.province_code) == (region, region[:2])
    assert info.birth_date == birth
    assert info.sex == ("M" if sequence % 2 else "F")


@given(valid_ids, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_char_change_is_rejected(number, position, replacement):
    if number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = number[:position] + replacement + number[position + 1 :]
    assert not is_valid_id_number(changed, today=TODAY)


@given(valid_ids, st.booleans(), st.sampled_from(["", " ", "\u3000", "\t"]))
def test_normalize_is_idempotent_on_decorated_input(number, lower, pad):
    raw = pad + (number.lower() if lower else number) + pad
    once = normalize_id_number(raw, today=TODAY)
    assert once == number
    assert normalize_id_number(once, today=TODAY) == once


@given(st.text(max_size=25))
def test_normalize_is_idempotent_or_rejects_any_text(raw):
    try:
        once = normalize_id_number(raw, today=TODAY)
    except IdentityError as err:
        assert err.code.startswith("id_number_")
        return
    assert normalize_id_number(once, today=TODAY) == once
    assert len(once) == 18


@given(valid_ids)
def test_fifteen_digit_form_upgrades_to_same_number(number):
    if not number[6:8] == "19":
        return
    old = number[:6] + number[8:17]
    assert normalize_id_number(old, today=TODAY) == number


def _iso7064_mod11_2(first17: str) -> str:
    # Independent reference: ISO 7064 MOD 11-2 in its recursive (Horner) form, so the
    # weight table and the "10X98765432" map in the module are checked, not copied.
    p = 0
    for c in first17:
        p = (p + int(c)) * 2 % 11
    value = (12 - p) % 11
    return "X" if value == 10 else str(value)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_check_char_matches_iso7064_reference(first17):
    assert check_char(first17) == _iso7064_mod11_2(first17)


def test_check_char_covers_every_remainder():
    # One first17 per value of S mod 11, so each entry of the map is exercised.
    seen = {check_char(f"{n:017d}") for n in range(200)}
    assert seen == set("0123456789X")
