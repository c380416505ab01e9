"""Field encryption at rest (AES-256-GCM) and blind indexes (HMAC-SHA256).

Tokens look like "v1.<key_id>.<urlsafe-b64(nonce + ciphertext)>" so old rows stay readable
after a key rotation and can be found and re-encrypted. The field name goes in as
associated data: a ciphertext copied into another column will not decrypt there.
Error messages never carry plaintext, tokens or key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12  # GCM's native nonce size; random per message
_VERSION = "v1"
# No "." in key ids: it is the token separator.
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class CipherError(Exception):
    """Encryption or decryption failed; the message is safe to log."""


def generate_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_to_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def key_from_text(text: str) -> bytes:
    """Decode a key from the key file; strict, so a truncated or mangled key fails loudly."""
    try:
        key = base64.b64decode(text.strip(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("密钥文本不是有效的 base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"密钥长度应为 {KEY_BYTES} 字节")
    return key


def _b64encode(data: bytes) -> str:
    # Padding dropped: it carries no information and "=" is awkward in URLs and CSVs.
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise CipherError("密文格式错误") from None


class FieldCipher:
    def __init__(self, keys: dict[str, bytes], current_key_id: str) -> None:
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise CipherError("密钥编号只能包含字母、数字、下划线和连字符")
            if len(key) != KEY_BYTES:
                raise CipherError(f"字段加密密钥长度应为 {KEY_BYTES} 字节")
        if current_key_id not in keys:
            raise CipherError("当前密钥编号不在密钥集中")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = current_key_id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        return self._encrypt_with(self.current_key_id, plaintext, context)

    def _encrypt_with(self, key_id: str, plaintext: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aeads[key_id].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return f"{_VERSION}.{key_id}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        key_id, payload = self._split(token)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise CipherError("密文使用了未知的密钥编号")
        data = _b64decode(payload)
        try:
            plain = aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], context.encode())
            return plain.decode("utf-8")
        except (InvalidTag, ValueError):
            # One message for tampering, wrong key and wrong context: telling them
            # apart would help an attacker more than an operator.
            raise CipherError("密文无法解密（已被篡改、密钥或用途不符）") from None

    def key_id_of(self, token: str) -> str:
        return self._split(token)[0]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.current_key_id

    def self_test(self) -> None:
        """Start-up check: every key round-trips and a wrong context is refused."""
        probe = "自检 self-test " + os.urandom(8).hex()
        for key_id in self._aeads:
            token = self._encrypt_with(key_id, probe, "chengxin.self_test")
            if self.decrypt(token, context="chengxin.self_test") != probe:
                raise CipherError("字段加密自检失败：解密结果不一致")
            try:
                self.decrypt(token, context="chengxin.self_test.other")
            except CipherError:
                continue
            raise CipherError("字段加密自检失败：用途校验未生效")

    @staticmethod
    def _split(token: str) -> tuple[str, str]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != _VERSION or not _KEY_ID.fullmatch(parts[1]):
            raise CipherError("密文格式错误")
        return parts[1], parts[2]


class BlindIndex:
    """Deterministic keyed digest for equality look-ups on encrypted columns."""

    def __init__(self, key: bytes) -> None:
        # Shorter keys would make offline guessing of ID numbers (a small space) cheaper.
        if len(key) < KEY_BYTES:
            raise ValueError(f"盲索引密钥长度至少为 {KEY_BYTES} 字节")
        self._key = bytes(key)

    def digest(self, normalized_value: str, *, domain: str) -> str:
        # NUL in the domain would let ("a\0b", "c") collide with ("a", "b\0c").
        if not domain or "\x00" in domain:
            raise ValueError("盲索引域名不能为空或包含 NUL 字符")
        message = (domain + "\x00" + normalized_value).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
