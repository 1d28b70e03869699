"""Type stubs of the compiled module ``cryptr_guard._native`` (checked with ``mypy.stubtest``)."""

from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union, final

__all__ = [
    "__version__",
    "CORE_CODES",
    "KeySet",
    "Validator",
    "Verified",
    "TokenCache",
    "KeySetCache",
    "rs256_verify",
]

__version__: str
CORE_CODES: Tuple[str, ...]

@final
class KeySet:
    @staticmethod
    def from_jwks(data: Union[bytes, str], *, min_rsa_bits: int = 2048) -> KeySet: ...
    @property
    def kids(self) -> List[Optional[str]]: ...
    @property
    def skipped(self) -> List[Tuple[Optional[str], str]]: ...
    @property
    def fingerprint(self) -> bytes: ...
    def __len__(self) -> int: ...

@final
class TokenCache:
    def __new__(cls, capacity: int = 10000) -> TokenCache: ...
    @property
    def capacity(self) -> int: ...
    @property
    def stats(self) -> Dict[str, int]: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

@final
class Validator:
    def __new__(
        cls,
        issuer: Union[str, Sequence[str]],
        audiences: Union[str, Sequence[str]],
        *,
        leeway: int = 0,
        required_claims: Optional[Sequence[str]] = ("exp", "iss", "aud"),
        typ: Optional[str] = None,
        max_token_len: int = 8192,
    ) -> Validator: ...
    def validate(
        self,
        token: Union[str, bytes],
        keys: KeySet,
        *,
        now: Optional[int] = None,
        cache: Optional[TokenCache] = None,
    ) -> Dict[str, Any]: ...
    def verify(
        self,
        token: Union[str, bytes],
        keys: KeySet,
        *,
        now: Optional[int] = None,
        cache: Optional[TokenCache] = None,
    ) -> Verified: ...
    @property
    def issuers(self) -> List[str]: ...
    @property
    def audiences(self) -> List[str]: ...
    @property
    def leeway(self) -> int: ...

@final
class Verified:
    @property
    def kid(self) -> Optional[str]: ...
    @property
    def claims(self) -> Dict[str, Any]: ...
    @property
    def payload(self) -> bytes: ...

@final
class KeySetCache:
    def __new__(cls, *, min_rsa_bits: int = 2048) -> KeySetCache: ...
    def poll(
        self, now: int
    ) -> Tuple[Literal["use_current", "refresh", "fetch", "wait", "unavailable"], Optional[int]]: ...
    def poll_current(
        self, now: int
    ) -> Tuple[
        Literal["use_current", "refresh", "fetch", "wait", "unavailable"], Optional[int], Optional[KeySet]
    ]: ...
    def unknown_key(self, now: int) -> Optional[int]: ...
    def fetch_succeeded(
        self, ticket: int, now: int, body: bytes, cache_control: Optional[str] = None
    ) -> bool: ...
    def fetch_failed(self, ticket: int, now: int) -> bool: ...
    def current(self, now: int) -> Optional[KeySet]: ...
    def fetch_in_flight(self, now: int) -> bool: ...
    def retry_after(self, now: int) -> int: ...
    @property
    def generation(self) -> int: ...

def rs256_verify(jwk: Union[Dict[str, Any], str, bytes], message: bytes, signature: bytes) -> bool: ...
