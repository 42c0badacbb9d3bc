"""The tax services the van offers (a catalogue, as in the brief)."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_CODES = ("invoice_sale", "invoice_issue", "tax_certificate", "appointment_any", "consult")


@dataclass(frozen=True, slots=True)
class Service:
    """A service with its typical handling time and the materials a taxpayer must bring."""

    code: str
    name_zh: str
    name_en: str
    minutes: int
    materials_zh: str
    materials_en: str
