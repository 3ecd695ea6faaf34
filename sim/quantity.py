"""Kubernetes resource quantities: parse "100Mi", "200M", "1Gi", "500m", "1.5", "2e3" and format them back.

Parsing follows resource.Quantity: a signed decimal number, then an optional suffix that is either a
binary SI suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or a decimal exponent
(e3, E-2). Values are exact `Decimal`s; callers pick the unit (bytes, cores, millicores).
Command-line sizes such as stress's `--vm-bytes 200M` use the same suffixes with a binary meaning
(`parse_size`), because that is how stress and most Unix tools read them.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB]?)$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message quotes it."""


def parse_quantity(value: str | float) -> Decimal:
    """The quantity's value in base units ("100Mi" -> 104857600, "500m" -> 0.5)."""
    if isinstance(value, bool):
        raise QuantityError(f"invalid quantity {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise QuantityError(f"invalid quantity {value!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex only lets decimals through
        raise QuantityError(f"invalid quantity {value!r}") from exc
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix in _DECIMAL:
        return base * _DECIMAL[suffix]
    return base * (Decimal(10) ** int(suffix[1:]))


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)  # type: ignore[arg-type]
    except QuantityError:
        return False
    return True


def to_bytes(value: str | float) -> int:
    """Memory or storage in bytes, rounded up as the kubelet does."""
    return int(parse_quantity(value).to_integral_value(rounding=ROUND_CEILING))


def to_millicores(value: str | float) -> int:
    """CPU in millicores, rounded up ("0.1" -> 100, "250m" -> 250, "1" -> 1000)."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding=ROUND_CEILING))


def parse_size(value: str) -> int:
    """A Unix command-line size in bytes: "200M" -> 200 MiB, "1g" -> 1 GiB, "512k", "64MB", "100Mi"."""
    text = str(value).strip()
    match = _SIZE.match(text)
    if not match:
        raise QuantityError(f"invalid size {value!r}")
    number, unit = Decimal(match.group(1)), match.group(2).lower()
    factor = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit]
    return int(number * factor)


def format_bytes(value: int) -> str:
    """The shortest exact binary form, as Kubernetes prints memory: 104857600 -> "100Mi"."""
    if value == 0:
        return "0"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


def format_kibibytes(value: int) -> str:
    """Memory the way metrics-server reports it: whole Ki."""
    return f"{max(0, value) // 1024}Ki"


def format_millicores(value: int) -> str:
    """CPU the way Kubernetes prints it: 1000 -> "1", 250 -> "250m"."""
    if value % 1000 == 0:
        return str(value // 1000)
    return f"{value}m"


def format_nanocores(millicores: float) -> str:
    """CPU usage the way metrics-server reports it: "12345678n"."""
    return f"{int(millicores * 1_000_000)}n"
