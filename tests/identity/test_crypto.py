import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.identity import (
    BlindIndex,
    CipherError,
    FieldCipher,
    generate_key,
    key_from_text,
    key_to_text,
)

K1, K2 = generate_key(), generate_key()
CTX = "person.id_number"


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({"k1": K1, "k2": K2}, current_key_id="k2")


def test_round_trip_and_token_shape(cipher):
    token = cipher.encrypt("11010519491231002X", context=CTX)
    version, key_id, payload = token.split(".")
    assert (version, key_id) == ("v1", "k2")
    assert "11010519491231002X" not in token
    # 12-byte nonce + 18-byte plaintext + 16-byte tag
    assert len(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == 12 + 18 + 16
    assert cipher.decrypt(token, context=CTX) == "11010519491231002X"


@settings(max_examples=50)
@given(st.text(max_size=200), st.text(min_size=1, max_size=30))
def test_round_trip_any_text(plaintext, context):
    cipher = FieldCipher({"k1": K1}, current_key_id="k1")
    assert cipher.decrypt(cipher.encrypt(plaintext, context=context), context=context) == plaintext


def test_same_value_encrypts_differently(cipher):
    assert cipher.encrypt("张三", context=CTX) != cipher.encrypt("张三", context=CTX)


def test_wrong_context_fails(cipher):
    token = cipher.encrypt("13800138000", context="person.phone")
    with pytest.raises(CipherError):
        cipher.decrypt(token, context=CTX)


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampered_token_fails(cipher, position):
    token = cipher.encrypt("秘密", context=CTX)
    prefix, payload = token.rsplit(".", 1)
    data = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data[position] ^= 0x01
    forged = prefix + "." + base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")
    with pytest.raises(CipherError):
        cipher.decrypt(forged, context=CTX)


def test_token_moved_to_other_key_id_fails(cipher):
    token = cipher.encrypt("秘密", context=CTX)
    with pytest.raises(CipherError):
        cipher.decrypt(token.replace("v1.k2.", "v1.k1.", 1), context=CTX)


@pytest.mark.parametrize(
    "token", ["", "garbage", "v2.k1.AAAA", "v1.k1", "v1.k1.!!!!", "v1.k1.AAAA", "v1..AAAA"]
)
def test_malformed_tokens_fail_safely(cipher, token):
    with pytest.raises(CipherError) as info:
        cipher.decrypt(token, context=CTX)
    assert token not in str(info.value) or token == ""


def test_unknown_key_id_fails(cipher):
    other = FieldCipher({"k9": generate_key()}, current_key_id="k9")
    token = other.encrypt("秘密", context=CTX)
    with pytest.raises(CipherError) as info:
        cipher.decrypt(token, context=CTX)
    assert "秘密" not in str(info.value)
    assert "k9" not in str(info.value)


def test_rotation_detection(cipher):
    old = FieldCipher({"k1": K1}, current_key_id="k1").encrypt("秘密", context=CTX)
    new = cipher.encrypt("秘密", context=CTX)
    assert cipher.key_id_of(old) == "k1"
    assert cipher.needs_rotation(old)
    assert not cipher.needs_rotation(new)
    # Old tokens stay readable after rotation.
    assert cipher.decrypt(old, context=CTX) == "秘密"


def test_self_test_passes(cipher):
    cipher.self_test()


def test_self_test_catches_broken_cipher(cipher, monkeypatch):
    monkeypatch.setattr(FieldCipher, "decrypt", lambda self, token, *, context: "wrong")
    with pytest.raises(CipherError):
        cipher.self_test()


@pytest.mark.parametrize(
    ("keys", "current"),
    [({"k1": b"short"}, "k1"), ({"k1": K1}, "k2"), ({"a.b": K1}, "a.b"), ({"": K1}, "")],
)
def test_bad_configuration_rejected(keys, current):
    with pytest.raises(CipherError):
        FieldCipher(keys, current_key_id=current)


def test_key_text_round_trip():
    key = generate_key()
    assert len(key) == 32
    assert key != generate_key()
    text = key_to_text(key)
    assert key_from_text(text) == key
    assert key_from_text(text + "\n") == key


@pytest.mark.parametrize("text", ["", "not base64!", key_to_text(b"x" * 16)])
def test_key_from_bad_text(text):
    with pytest.raises(ValueError):
        key_from_text(text)


def test_blind_index_deterministic_and_domain_separated():
    index = BlindIndex(K1)
    a = index.digest("11010519491231002X", domain="person.id_number")
    assert a == index.digest("11010519491231002X", domain="person.id_number")
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != index.digest("11010519491231002X", domain="person.phone")
    assert a != index.digest("11010519491231002Y", domain="person.id_number")
    assert a != BlindIndex(K2).digest("11010519491231002X", domain="person.id_number")


def test_blind_index_boundary_between_domain_and_value_is_unambiguous():
    index = BlindIndex(K1)
    assert index.digest("bc", domain="a") != index.digest("c", domain="ab")


@pytest.mark.parametrize("domain", ["", "a\x00b"])
def test_blind_index_rejects_bad_domain(domain):
    with pytest.raises(ValueError):
        BlindIndex(K1).digest("x", domain=domain)


def test_blind_index_rejects_short_key():
    with pytest.raises(ValueError):
        BlindIndex(b"k" * 16)
