"""The one error type for malformed identifiers.

Messages are fixed Chinese sentences chosen by code, never built from the input: they end
up in API responses and logs, and an ID number quoted there would be a personal-data leak.
"""

from __future__ import annotations

_MESSAGES = {
    "id_number_format": "身份证号码格式错误，应为18位（或15位）数字，末位可为X",
    "id_number_region": "身份证号码地区码无效",
    "id_number_date": "身份证号码中的出生日期无效",
    "id_number_future": "身份证号码中的出生日期晚于今天",
    "id_number_checksum": "身份证号码校验位错误",
    "uscc_format": "统一社会信用代码格式错误，应为18位数字或大写字母",
    "uscc_checksum": "统一社会信用代码校验位错误",
    "uscc_org_code": "统一社会信用代码中的组织机构代码校验位错误",
    "phone_format": "手机号码格式错误，应为11位中国大陆手机号码",
}
_FALLBACK = "身份信息格式错误"


class IdentityError(ValueError):
    """A rejected identifier; `code` is stable for programs, `message` is for people."""

    def __init__(self, code: str) -> None:
        # Only a code is accepted (no free-form message) so no caller can smuggle the
        # offending value into the text.
        self.code = code
        self.message = _MESSAGES.get(code, _FALLBACK)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"IdentityError({self.code!r})"
