"""Phone numbers: E.164 normalisation and where (which time zones) a number rings.

``phonenumbers`` carries its metadata as Python data, so these are pure functions.
"""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import timezone as pn_timezone

UNKNOWN_ZONE = "Etc/Unknown"


MAX_STORED_ZONES = 8  # numbers with more zones (toll-free) are looked up at dial time


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    text = raw.strip()
    if not text:
        raise ValueError("empty number")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid number {raw!r}: {exc._msg}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"invalid number {raw!r} for region {region.upper()}")
    return parsed


def normalize(raw: str, region: str = "US") -> str:
    """Return ``raw`` (any national or international format) as E.164.

    ValueError says why a number is refused: unparsable, or not a valid number for
    its country according to phonenumbers' metadata.
    """
    return phonenumbers.format_number(_parse(raw, region), phonenumbers.PhoneNumberFormat.E164)


def describe(raw: str, region: str = "US") -> tuple[str, str, tuple[str, ...]]:
    """``raw`` as (E.164, ISO country, IANA zones); ValueError as for :func:`normalize`."""
    parsed = _parse(raw, region)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    country = phonenumbers.region_code_for_number(parsed) or ""
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != UNKNOWN_ZONE)
    return e164, country, zones


@functools.lru_cache(maxsize=65536)
def number_info(e164: str) -> tuple[str, tuple[str, ...]]:
    """(ISO country, IANA zones) of an E.164 number; zones are empty when unknown."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "", ()
    country = phonenumbers.region_code_for_number(parsed) or ""
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != UNKNOWN_ZONE)
    return country, zones
