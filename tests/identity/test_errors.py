import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from chengxin.identity import (
    IdentityError,
    make_id_number,
    normalize_id_number,
    normalize_phone,
    normalize_uscc,
)

TODAY = dt.date(2024, 6, 1)


def _texts(err: IdentityError) -> list[str]:
    return [err.message, str(err), repr(err), *map(str, err.args)]


def test_error_is_value_error_with_code_and_chinese_message():
    try:
        normalize_id_number("110105194912310021", today=TODAY)
    except ValueError as err:
        assert isinstance(err, IdentityError)
        assert err.code == "id_number_checksum"
        assert err.message == "身份证号码校验位错误"
        assert str(err) == err.message
    else:
        raise AssertionError("checksum error not raised")


def test_unknown_code_gets_generic_message():
    assert IdentityError("something_else").message == "身份信息格式错误"


def test_error_carries_no_cause_that_could_quote_the_input():
    try:
        normalize_id_number("110105194902300020", today=TODAY)
    except IdentityError as err:
        assert err.__cause__ is None and err.__suppress_context__
    else:
        raise AssertionError("date error not raised")


alnum = st.text(alphabet="0123456789ABCDEFXYZxyz+-", min_size=6, max_size=24)


@given(alnum)
def test_messages_never_contain_the_input(raw):
    for normalize in (
        lambda v: normalize_id_number(v, today=TODAY),
        normalize_uscc,
        normalize_phone,
    ):
        try:
            normalize(raw)
        except IdentityError as err:
            assert all(raw not in text and raw.upper() not in text for text in _texts(err))


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=16),
)
def test_messages_never_contain_a_near_miss_id(birth, sequence, position):
    number = make_id_number("110105", birth, sequence)
    digit = str((int(number[position]) + 1) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    try:
        normalize_id_number(changed, today=TODAY)
    except IdentityError as err:
        assert all(changed not in text and changed[:17] not in text for text in _texts(err))
    else:
        raise AssertionError("single-digit change not detected")
