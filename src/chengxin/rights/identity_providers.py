"""实名核验: who confirms that an ID number, a name and a phone belong together.

A deployment plugs in its real provider (公安 identity check, a carrier's 三要素 check)
by registering a factory under a name. Two ship with the platform:

- `disabled` — the default outside demo mode: online registration is refused with a
  clear message, people register at the credit office's counter instead;
- `demo` — only when demo_mode is on: accepts any ID number whose check digit passes
  and a non-empty name, and says plainly that it checked nothing real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chengxin.config import Settings
from chengxin.errors import AppError
from chengxin.identity import is_valid_id_number


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    reason: str = ""  # a code for programs; never quotes the input
    verified_by: str = ""
    demonstration: bool = False  # True: no real check was made
    note: str = ""


class IdentityProvider(Protocol):
    name: str

    def verify(self, id18: str, name: str, phone: str) -> VerificationResult: ...


class VerificationUnavailable(AppError):
    status = 503
    code = "identity_verification_unavailable"


UNAVAILABLE_MESSAGE = "未配置实名核验服务，暂不能在线注册，请到信用办窗口办理"


class DisabledProvider:
    name = "disabled"

    def verify(self, id18: str, name: str, phone: str) -> VerificationResult:
        raise VerificationUnavailable(UNAVAILABLE_MESSAGE)


class DemoIdentityProvider:
    """A demonstration stand-in, refused outright unless demo mode is on."""

    name = "demo"
    NOTE = "演示用核验：仅检查身份证号码校验位和姓名非空，并非真实的实名核验"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def verify(self, id18: str, name: str, phone: str) -> VerificationResult:
        if not self.settings.demo_mode:
            raise VerificationUnavailable(UNAVAILABLE_MESSAGE)
        if not is_valid_id_number(id18) or not (name or "").strip():
            return VerificationResult(False, "identity_mismatch", self.name, True, self.NOTE)
        return VerificationResult(True, "", self.name, True, self.NOTE)


ProviderFactory = Callable[[Settings], IdentityProvider]
_FACTORIES: dict[str, ProviderFactory] = {
    "disabled": lambda settings: DisabledProvider(),
    "demo": DemoIdentityProvider,
}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """For a deployment's own provider (a plugin module calls this at start-up)."""
    _FACTORIES[name] = factory


def provider_name(settings: Settings) -> str:
    # Settings has no identity_provider field yet (see the report): until it does,
    # demo mode picks the demo provider and everything else the disabled one.
    configured = getattr(settings, "identity_provider", None)
    if configured:
        return str(configured)
    return "demo" if settings.demo_mode else "disabled"


def provider_for(settings: Settings, name: str | None = None) -> IdentityProvider:
    chosen = name or provider_name(settings)
    factory = _FACTORIES.get(chosen)
    if factory is None:
        # A misconfiguration is not the user's fault, and must not look like success.
        raise VerificationUnavailable(UNAVAILABLE_MESSAGE)
    return factory(settings)
