"""Caps on an uploaded instrument, checked before the file is parsed in full.

A workbook's sheets are counted row by row while streaming (stopping at the first row over a cap),
its zip members' unpacked sizes are read from the directory, and a YAML file is composed by a safe
loader that counts aliases and the nodes they would expand to, so that neither a 300,000-row
choices sheet nor a "billion laughs" document costs more than a fraction of a second or a few MB.
A :class:`Deadline` bounds the whole check. Every refusal is an :class:`InstrumentError` with a code.
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

import yaml
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused

from surveys.errors import Code, InstrumentError, Problem
from surveys.messages import sheet_place

XLSX_SURVEY_SHEETS = ("survey",)
XLSX_CHOICE_SHEETS = ("choices", "external_choices")
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True)
class Limits:
    """What one uploaded instrument may hold (the web app reads them from its settings)."""

    max_bytes: int = 5_000_000  #: the file as uploaded
    max_unpacked_bytes: int = 40_000_000  #: an XLSX's members once unzipped
    max_rows: int = 3_000  #: rows of the survey sheet (questions, groups, notes)
    max_choices: int = 20_000  #: rows of the choices sheets
    max_depth: int = 10  #: groups (and repeats) inside one another
    max_yaml_aliases: int = 200  #: '*alias' references in a YAML file
    max_yaml_nodes: int = 200_000  #: YAML nodes once every alias is expanded
    seconds: float = 15.0  #: the time budget of the whole check


@dataclass
class Deadline:
    """The time budget of one upload; :meth:`check` raises once it is spent."""

    file: str
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise InstrumentError([Problem(Code.TOO_SLOW, self.file, value=f"{self.seconds:g}")])


def check_size(path: Path, name: str, limits: Limits) -> None:
    if path.stat().st_size > limits.max_bytes:
        raise InstrumentError([Problem(Code.TOO_LARGE, name, value=f"> {limits.max_bytes:,} bytes")])


def scan_workbook(path: Path, name: str, limits: Limits, deadline: Deadline) -> None:
    """Refuse a workbook over a cap, reading no more of it than the first row over the cap.

    The sheets' XML is streamed from the zip (expat; no DTDs, no entities), and only rows that hold
    a value count, so a sheet that claims a million blank rows costs nothing.
    """
    check_size(path, name, limits)
    if not zipfile.is_zipfile(path):
        return  # not an XLSX (an old .xls, or garbage): pyxform says what it is
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > limits.max_unpacked_bytes or len(members) > 10_000:
            raise InstrumentError([Problem(Code.TOO_LARGE, name,
                                           value=f"> {limits.max_unpacked_bytes:,} bytes unzipped")])
        try:
            sheets = _sheet_members(archive)
        except (KeyError, ValueError, ElementTree.ParseError, DefusedXmlException):
            return  # not a workbook pyxform can read: it says so
        for title, member in sheets.items():
            cap = limits.max_rows if title.strip().lower() in XLSX_SURVEY_SHEETS else \
                limits.max_choices if title.strip().lower() in XLSX_CHOICE_SHEETS else None
            if cap is not None and member in archive.namelist():
                with archive.open(member) as stream:
                    _count(stream, title, name, cap, deadline)


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its XML member, from the workbook and its relationships."""
    with archive.open("xl/_rels/workbook.xml.rels") as stream:
        targets = {e.get("Id"): e.get("Target", "") for _, e in defused.iterparse(stream, forbid_dtd=True)
                   if e.tag.endswith("}Relationship")}
    with archive.open("xl/workbook.xml") as stream:
        sheets = [(e.get("name", ""), e.get(f"{{{RELS}}}id")) for _, e in defused.iterparse(stream, forbid_dtd=True)
                  if e.tag.endswith("}sheet")]
    found = {}
    for title, rel in sheets:
        target = targets.get(rel, "")
        found[title] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return found


class _Over(Exception):
    """The first row over the cap (its number as the sheet says it)."""


def _forbidden(*_args) -> None:
    raise ValueError("a DTD or an entity in a sheet")


def _count(stream: Any, title: str, name: str, cap: int, deadline: Deadline) -> None:
    """Count the rows of a sheet holding a value (the header too), up to ``cap`` + 1: expat calls back
    per element, nothing is kept, DTDs and entities are refused."""
    seen = {"rows": 0, "valued": False, "row": ""}

    def start(tag: str, attributes: dict) -> None:
        local = tag.rpartition(":")[2]
        if local == "row":
            seen["valued"], seen["row"] = False, attributes.get("r", "")
        elif local in ("v", "is"):
            seen["valued"] = True

    def end(tag: str) -> None:
        if tag.rpartition(":")[2] == "row" and seen["valued"]:
            seen["rows"] += 1
            if seen["rows"] > cap + 1:  # the header row does not count
                raise _Over(seen["row"])

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _forbidden
    try:
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
            deadline.check()
        parser.Parse(b"", True)
    except _Over as over:
        raise InstrumentError([Problem(Code.TOO_MANY_ROWS, name, sheet_place(title, int(over.args[0])), title,
                                       f"{cap:,}")]) from None
    except (expat.ExpatError, ValueError):
        return  # not a sheet pyxform can read: it says so


def check_depth(children: list, name: str, limits: Limits, level: int = 1) -> None:
    """Refuse groups nested deeper than the cap (pyxform's tree of the survey sheet)."""
    for child in children:
        if isinstance(child, dict) and child.get("children"):
            if level > limits.max_depth:
                raise InstrumentError([Problem(Code.TOO_DEEP, name, field="type", value=f"{limits.max_depth}")])
            check_depth(child["children"], name, limits, level + 1)


class _CountingLoader(yaml.SafeLoader):
    """PyYAML's safe loader that counts the aliases it meets while composing the document."""

    max_aliases = 0
    aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                raise _TooManyAliases(self.aliases)
        return super().compose_node(parent, index)


class _TooManyAliases(Exception):
    pass


def safe_yaml(text: str, name: str, limits: Limits, deadline: Deadline) -> Any:
    """Parse YAML with the safe loader, refusing too many aliases, too many expanded nodes or too deep
    a document before anything is built from it."""
    loader = _CountingLoader(text)
    loader.max_aliases = limits.max_yaml_aliases
    try:
        try:
            node = loader.get_single_node()
        except _TooManyAliases as exc:
            raise InstrumentError([Problem(Code.TOO_MANY_ALIASES, name,
                                           value=f"> {limits.max_yaml_aliases:,} ({exc.args[0]:,}+)")]) from None
        if node is None:
            return None
        deadline.check()
        size, deep = _expanded(node)
        if size > limits.max_yaml_nodes:
            raise InstrumentError([Problem(Code.TOO_MANY_ALIASES, name,
                                           value=f"{size:,} > {limits.max_yaml_nodes:,} nodes")])
        if deep > 4 * limits.max_depth + 8:
            raise InstrumentError([Problem(Code.TOO_DEEP, name, value=f"{4 * limits.max_depth + 8}")])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded(root: yaml.Node) -> tuple[int, int]:
    """Nodes of the document once aliases are expanded, and its depth: each shared node is measured
    once (memoised by identity), so a billion laughs is measured in microseconds; a recursive
    alias counts as endless."""
    sizes: dict[int, tuple[int, int]] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not done:
            if id(node) in visiting:  # an alias inside its own anchor: endless once expanded
                return 1 << 62, 1 << 30
            visiting.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        size = 1 + sum(sizes[id(c)][0] for c in children)
        depth = 1 + max((sizes[id(c)][1] for c in children), default=0)
        sizes[id(node)] = (min(size, 1 << 62), depth)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
