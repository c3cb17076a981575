"""The VVT care types with their own beds, by code and by the Dutch name providers use."""

from __future__ import annotations

# Code (as in the definitions `vvt.beds.<code>.available`) -> the name on the ELV spreadsheets.
CARE_TYPES: dict[str, str] = {
    "elv_low_complex": "ELV laag complex",
    "elv_high_complex": "ELV hoog complex",
    "elv_palliative": "ELV palliatief",
    "grz": "GRZ",
    "wlz_crisis": "Wlz-crisis",
}


def _normal(text: str) -> str:
    # Spreadsheets differ in case, hyphens and spacing ("Wlz crisis", "ELV  Laag complex");
    # none of these variants is ambiguous, so they all name the same care type.
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


_BY_NAME = {_normal(name): code for code, name in CARE_TYPES.items()} | {
    _normal(code): code for code in CARE_TYPES}


def care_type_of(text: str) -> str | None:
    """The care type code for a Dutch name or a code (case-insensitive), or None."""
    return _BY_NAME.get(_normal(text))


def accepted_names() -> str:
    """The names a provider may use, for error messages."""
    return ", ".join(f"{name!r} ({code})" for code, name in CARE_TYPES.items())


def bed_codes(care_type: str) -> dict[str, str]:
    """The definitions of a care type's beds, by figure (available, total)."""
    return {"available": f"vvt.beds.{care_type}.available", "total": f"vvt.beds.{care_type}.total"}
