import pytest
from hypothesis import given
from hypothesis import strategies as st

from chengxin.identity import (
    IdentityError,
    is_valid_uscc,
    make_uscc,
    normalize_uscc,
    org_code_check_char,
    uscc_check_char,
)
from chengxin.identity.uscc import ALPHABET

GOOD = ["91110000600037341L", "91350100M000100Y43"]


@pytest.mark.parametrize("code", GOOD)
def test_known_good_codes_pass_every_check(code):
    assert normalize_uscc(code) == code
    assert uscc_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]


def test_org_code_check_values_worked_by_hand():
    # 6*3 + 3*5 + 7*8 + 3*4 + 4*2 = 109; 109 % 11 = 10; 11 - 10 = 1
    assert org_code_check_char("60003734") == "1"
    # M=22, Y=34: 22*3 + 1*5 + 34*2 = 139; 139 % 11 = 7; 11 - 7 = 4
    assert org_code_check_char("M000100Y") == "4"


def test_org_code_check_special_values():
    # 6*2 = 12; 12 % 11 = 1; c = 10 -> "X"
    assert org_code_check_char("00000006") == "X"
    # 1*4 + 9*2 = 22; 22 % 11 = 0; c = 11 -> "0"
    assert org_code_check_char("00000019") == "0"
    # Z = 35: 35*2 = 70; 70 % 11 = 4; c = 7
    assert org_code_check_char("0000000Z") == "7"


def test_lower_case_and_whitespace_normalised():
    assert normalize_uscc("  91350100m000100y43\n") == GOOD[1]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("91110000600037341M", "uscc_checksum"),
        ("9111000060003734", "uscc_format"),
        ("91110000600037341LL", "uscc_format"),
        ("9111000O600037341L", "uscc_format"),  # letter in the region part
        ("91110000I00037341L", "uscc_format"),  # I is not in the alphabet
        ("", "uscc_format"),
    ],
)
def test_known_bad_codes(raw, code):
    with pytest.raises(IdentityError) as info:
        normalize_uscc(raw)
    assert info.value.code == code
    assert not is_valid_uscc(raw)


def test_org_code_error_when_only_outer_check_is_right():
    first17 = "91110000" + "60003734" + "2"  # wrong org check char
    code = first17 + uscc_check_char(first17)
    with pytest.raises(IdentityError) as info:
        normalize_uscc(code)
    assert info.value.code == "uscc_org_code"


def test_letter_registration_authority_accepted():
    for first in "ANY":
        code = make_uscc(first, "1", "110000", "MA00A1B2")
        assert code[0] == first
        assert normalize_uscc(code) == code


alphabet_char = st.sampled_from(ALPHABET)
regions = st.from_regex(r"[0-9]{6}", fullmatch=True)
bodies = st.text(alphabet=ALPHABET, min_size=8, max_size=8)
valid_codes = st.builds(make_uscc, alphabet_char, alphabet_char, regions, bodies)


@given(alphabet_char, alphabet_char, regions, bodies)
def test_made_codes_validate(registration, category, region, body):
    code = make_uscc(registration, category, region, body)
    assert normalize_uscc(code) == code
    assert code[:16] == registration + category + region + body


@given(valid_codes, st.integers(min_value=0, max_value=17), alphabet_char)
def test_any_single_char_change_is_rejected(code, position, replacement):
    if code[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_uscc(changed)


@given(st.text(max_size=25))
def test_normalize_is_idempotent_or_rejects(raw):
    try:
        once = normalize_uscc(raw)
    except IdentityError as err:
        assert err.code.startswith("uscc_")
        return
    assert normalize_uscc(once) == once


def test_make_rejects_bad_parts():
    with pytest.raises(IdentityError):
        make_uscc("9", "1", "11000A", "60003734")
    with pytest.raises(IdentityError):
        make_uscc("S", "1", "110000", "60003734")
    with pytest.raises(IdentityError):
        make_uscc("9", "1", "110000", "6000373")


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_check_char_matches_powers_of_three_reference(first17):
    # GB 32100's weights are 3**i mod 31; recomputing them here checks the module's table.
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    assert uscc_check_char(first17) == ALPHABET[-total % 31]
