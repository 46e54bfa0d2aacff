"""The one way the engine reads XML (BPMN, DMN): lxml with every dangerous feature off.

No entity is expanded (billion laughs), no DTD or external file is loaded, nothing is fetched
from the network (XXE), no document over `MAX_XML_BYTES` or deeper than lxml's default limits
is built (huge_tree off), and a document that declares a DOCTYPE is refused outright: BPMN and
DMN never need one. Every parser in the engine calls `parse`, so check and deploy agree.
"""

from __future__ import annotations

import re

from lxml import etree

MAX_XML_BYTES = 5 * 1024 * 1024  # a large process diagram is ~0.1 MB
# A DOCTYPE can only stand in the prolog: after the declaration, comments and instructions.
_DOCTYPE = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!DOCTYPE", re.S)
MSG_DOCTYPE = "a DOCTYPE is not allowed in BPMN or DMN files (entities are never expanded)"


class XmlRefused(ValueError):
    """The file is not XML the engine will read; the message says why (English, like the checks)."""


def parser() -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers are not shared between threads)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse(data: str | bytes) -> etree._Element:
    """The root element of a BPMN/DMN document; `XmlRefused` for anything unsafe or malformed."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise XmlRefused(
            f"file too large ({len(raw) // 1024} KB; at most {MAX_XML_BYTES // 1024 // 1024} MB)"
        )
    if _DOCTYPE.match(raw):
        raise XmlRefused(MSG_DOCTYPE)
    try:
        root = etree.fromstring(raw, parser())
    except etree.XMLSyntaxError as err:
        raise XmlRefused(f"not well-formed XML: {err}") from None
    if root is None:
        raise XmlRefused("not well-formed XML: empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRefused(MSG_DOCTYPE)
    return root
