"""Personal and organisation identifiers: validation, encryption at rest, masking.

Pure functions only (no database), so every layer can use them.
"""

from chengxin.identity.crypto import (
    BlindIndex,
    CipherError,
    FieldCipher,
    generate_key,
    key_from_text,
    key_to_text,
)
from chengxin.identity.errors import IdentityError
from chengxin.identity.gb11643 import (
    IdInfo,
    age_on,
    check_char,
    is_valid_id_number,
    make_id_number,
    normalize_id_number,
    parse_id_number,
)
from chengxin.identity.masking import (
    Audience,
    loggable_path,
    mask_id_number,
    mask_name,
    mask_org_name,
    mask_phone,
    scrub_text,
)
from chengxin.identity.phone import normalize_phone
from chengxin.identity.uscc import (
    is_valid_uscc,
    make_uscc,
    normalize_uscc,
    org_code_check_char,
    uscc_check_char,
)

__all__ = [
    "Audience",
    "BlindIndex",
    "CipherError",
    "FieldCipher",
    "IdInfo",
    "IdentityError",
    "age_on",
    "check_char",
    "generate_key",
    "is_valid_id_number",
    "is_valid_uscc",
    "key_from_text",
    "key_to_text",
    "loggable_path",
    "make_id_number",
    "make_uscc",
    "mask_id_number",
    "mask_name",
    "mask_org_name",
    "mask_phone",
    "normalize_id_number",
    "normalize_phone",
    "normalize_uscc",
    "org_code_check_char",
    "parse_id_number",
    "scrub_text",
    "uscc_check_char",
]
