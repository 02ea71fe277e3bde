"""One pyxform question node -> one question of our plain-data instrument (used by :mod:`surveys.xlsform`).

Our own extra columns (``competence``, ``correct``, ``province``, ``khaosat_type`` ...) are kept by
pyxform as plain keys, so an exported instrument comes back unchanged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from surveys import attachments
from surveys.errors import Code
from surveys.messages import Message, sheet_place
from surveys.questions import XLSFORM_TYPES
from surveys.questions.contact import recognised

if TYPE_CHECKING:
    from surveys.xlsform import Mapper

#: pyxform's own names of the media and device types, as the author wrote them in the 'type' column
AUTHOR_NAMES = {"photo": "image", "audio": "audio", "video": "video", "file": "file", "barcode": "barcode",
                "background-audio": "background-audio", "image": "image"}
SUPPORTED = Message("instrument.why.xlsform_types_taken")
MEDIA = Message("instrument.why.no_media")
TRUE = frozenset({"yes", "true", "true()", "1"})
FALSE = frozenset({"", "no", "false", "false()", "0"})
METADATA = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email",
    "audit", "start-geopoint", "background-audio", "imei", "uri:deviceid",
})


def convert_question(m: Mapper, node: dict, where: str) -> dict[str, Any] | None:
    kind = str(node.get("type") or "")
    name = node.get("name")
    bind = node.get("bind") or {}
    if kind in METADATA or (kind == "calculate" and bind.get("jr:preload")):
        m.warnings.append(Message("xlsform.metadata_not_imported", {"row": m.rows.get(name, "?"), "name": name,
                                                                   "kind": kind}))
        return None
    ours = node.get("khaosat_type")
    if kind == "repeat":
        return _repeat(m, node, where)
    if kind == "group":
        return _grid(m, node, where)
    if kind not in XLSFORM_TYPES:
        m.problem(Code.UNSUPPORTED, name, "type", AUTHOR_NAMES.get(kind, kind),
                  MEDIA if kind in AUTHOR_NAMES else SUPPORTED)
        return None
    q: dict[str, Any] = {"name": name, "type": ours or XLSFORM_TYPES[kind]}
    _texts(m, node, q)
    _binds(m, node, q, name)
    if q["type"] == "text" and not ours:
        _contact(m, q)
    appearance = (node.get("control") or {}).get("appearance")
    if appearance:
        if appearance == "likert" and q["type"] == "single":
            q["type"] = "likert"
        else:
            q["appearance"] = appearance
    if kind in ("select one", "select all that apply") and q["type"] not in ("yesno", "area"):
        q["choices"] = _choices(m, node, where)
        if node.get("choice_filter"):
            q["choice_filter"] = node["choice_filter"]
    _columns(node, q, kind)
    if q.get("multiple") is not None:
        q["multiple"] = bool(q["multiple"])
    return q


def _contact(m: Mapper, q: dict[str, Any]) -> None:
    """A text whose constraint is a phone-number or e-mail ``regex()`` becomes that contact type, kept
    with the contact details; the type checks the answer itself (a phone's ``+84`` becomes ``0``, which
    the author's pattern may not take), so the constraint is kept only to say why (``x_contact_from``).
    The contact details hold one phone and one e-mail: a second such text stays a text."""
    words = " ".join([q["name"], *(q.get("label") or {}).values()])
    kind = recognised(q.get("constraint"), words)
    if kind is not None and kind not in m.contacts:
        m.contacts.add(kind)
        q["type"], q["x_contact_from"] = kind, q.pop("constraint")
        q.pop("constraint_message", None)


def _columns(node: dict, q: dict[str, Any], kind: str) -> None:
    """A range's bounds, our own extra columns, and a ``correct`` column making a knowledge item."""
    if kind == "range":
        params = node.get("parameters") or {}
        for ours_key, theirs in (("min", "start"), ("max", "end")):
            if params.get(theirs) not in (None, ""):
                q[ours_key] = _number(params[theirs])
    for column in ("competence", "province", "min_rows", "max_rows", "min", "max", "multiple"):
        if node.get(column) not in (None, ""):
            q[column] = _number(node[column]) if column not in ("competence",) else str(node[column])
    if node.get("correct") not in (None, ""):
        q["type"] = "knowledge"
        q["correct"] = str(node["correct"]).split()
        if kind == "select all that apply":
            q["multiple"] = True


def _sibling_refs(src: str) -> str:
    """pyxform writes ``../name`` for a sibling (e.g. or_other); our names are flat, so it is ``${name}``."""
    return re.sub(r"\.\./([A-Za-z_][A-Za-z0-9_-]*)", r"${\1}", src)


def _texts(m: Mapper, node: dict, q: dict) -> None:
    for ours, theirs in (("label", "label"), ("hint", "hint")):
        text = m.column_text(node, theirs)
        if text:
            q[ours] = text


def _binds(m: Mapper, node: dict, q: dict, name: str) -> None:
    bind = node.get("bind") or {}
    for ours, theirs in (("relevant", "relevant"), ("constraint", "constraint"), ("calculation", "calculate")):
        if bind.get(theirs):
            q[ours] = _sibling_refs(str(bind[theirs]))
    message = bind.get("jr:constraintMsg")
    if message:
        q["constraint_message"] = m.text(message)
    required = str(bind.get("required") or "").strip().lower()
    if required in TRUE:
        q["required"] = True
    elif required not in FALSE:
        m.problem(Code.UNSUPPORTED, name, "required", bind.get("required"),
                  Message("instrument.why.required_yes_or_no"))
    if bind.get("readonly") and str(bind["readonly"]).lower() not in FALSE and q["type"] != "calculate":
        m.warnings.append(Message("xlsform.read_only_ignored", {"row": m.rows.get(name, "?"), "name": name}))


def _choices(m: Mapper, node: dict, where: str) -> list[dict[str, Any]]:
    list_name = str(node.get("itemset") or node.get("list_name") or "")
    if list_name.lower().endswith(".csv"):
        return _attached(m, node, list_name)
    items = node.get("choices") or (m.tree.get("choices") or {}).get(list_name, [])
    for i, item in enumerate(items):
        row = m.choice_rows.get((list_name, item.get("name")), "?")
        m.places[f"{where}.choices[{i}]"] = sheet_place("choices", row)
    return [m.choice(list_name, c) for c in items]


def _attached(m: Mapper, node: dict, file: str) -> list[dict[str, Any]]:
    """``select_one_from_file file.csv``: the choices of the CSV uploaded with the form."""
    path = m.attachments.get(file)
    if path is None:
        m.problem(Code.MISSING_ATTACHMENT, node.get("name"), "type", file)
        return []
    try:
        items = attachments.read_choices(path)
    except attachments.AttachmentError as exc:
        m.problem(Code.BAD_ATTACHMENT, node.get("name"), "type", file, exc.detail)
        return []
    return [m.choice(file, item) for item in items]


def _number(value: Any) -> Any:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number == int(number) else number


def _grid(m: Mapper, node: dict, where: str) -> dict[str, Any] | None:
    """A ``table-list`` group, which pyxform expands into a label note, a header select and rows."""
    children = node.get("children") or []
    note = next((c for c in children if str(c.get("name", "")).startswith("generated_table_list_label")), None)
    header = next(c for c in children if str(c.get("name", "")).startswith("reserved_name_for_field_list_labels"))
    rows = [c for c in children if c is not note and c is not header]
    grid: dict[str, Any] = {"name": node.get("name"), "type": "grid"}
    label = m.column_text(note or node, "label")
    if label:
        grid["label"] = label
    hint = m.text((note or {}).get("hint") or node.get("hint"))
    if hint:
        grid["hint"] = hint
    grid["choices"] = _choices(m, header, where)
    bind = node.get("bind") or {}
    if bind.get("relevant"):
        grid["relevant"] = str(bind["relevant"])
    items = []
    for row in rows:
        if row.get("type") != "select one":
            m.problem(Code.UNSUPPORTED, row.get("name"), "type", row.get("type"),
                      Message("instrument.why.table_list_one_list"))
            continue
        item: dict[str, Any] = {"name": row.get("name"), "label": m.column_text(row, "label") or {}}
        if row.get("competence"):
            item["competence"] = str(row["competence"])
        rbind = row.get("bind") or {}
        if rbind.get("relevant"):
            item["relevant"] = str(rbind["relevant"])
        if str(rbind.get("required") or "").lower() in TRUE:
            grid["required"] = True
        items.append(item)
    grid["items"] = items
    return grid


def _repeat(m: Mapper, node: dict, where: str) -> dict[str, Any] | None:
    if node.get("control", {}).get("jr:count") or node.get("repeat_count"):
        m.warnings.append(Message("xlsform.repeat_count_ignored", {"row": m.rows.get(node.get("name"), "?")}))
    q: dict[str, Any] = {"name": node.get("name"), "type": "repeat"}
    _texts(m, node, q)
    bind = node.get("bind") or {}
    if bind.get("relevant"):
        q["relevant"] = str(bind["relevant"])
    for column in ("min_rows", "max_rows"):
        if node.get(column) not in (None, ""):
            q[column] = _number(node[column])
    fields: list[dict[str, Any]] = []
    for child, relevant in _flat(m, node.get("children") or [], None):
        field = convert_question(m, child, f"{where}.questions[{len(fields)}]")
        if field is not None:
            m.places[f"{where}.questions[{len(fields)}]"] = sheet_place("survey", m.rows.get(child.get("name"), "?"))
            if relevant:
                field["relevant"] = f"({relevant}) and ({field['relevant']})" if field.get("relevant") else relevant
            fields.append(field)
    q["questions"] = fields
    return q


def _flat(m: Mapper, children: list, relevant: str | None) -> list[tuple[dict, str | None]]:
    """A repeat's fields with its plain groups opened (their relevance joined to each field's)."""
    out: list[tuple[dict, str | None]] = []
    for child in children:
        kind = child.get("type")
        grid = kind == "group" and (child.get("control") or {}).get("appearance") == "table-list"
        if kind == "repeat" or grid:
            m.problem(Code.UNSUPPORTED, child.get("name"), "type", f"{kind} inside a repeat",
                      Message("instrument.why.no_nested_repeat"))
        elif kind == "group":
            inner = _sibling_refs(str((child.get("bind") or {}).get("relevant") or "")) or None
            joined = f"({relevant}) and ({inner})" if relevant and inner else relevant or inner
            out.extend(_flat(m, child.get("children") or [], joined))
        else:
            out.append((child, relevant))
    return out
