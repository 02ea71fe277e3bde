"""One pyxform question node -> one question of our plain-data instrument (used by :mod:`surveys.xlsform`).

Our own extra columns (``competence``, ``correct``, ``province``, ``khaosat_type`` ...) are kept by
pyxform as plain keys, so an exported instrument comes back unchanged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from surveys.errors import Code

if TYPE_CHECKING:
    from surveys.xlsform import _Mapper

TRUE = frozenset({"yes", "true", "true()", "1"})
FALSE = frozenset({"", "no", "false", "false()", "0"})


def convert_question(m: _Mapper, node: dict, where: str) -> dict[str, Any] | None:
    from surveys.xlsform import METADATA, TYPES

    kind = str(node.get("type") or "")
    name = node.get("name")
    bind = node.get("bind") or {}
    if kind in METADATA or (kind == "calculate" and bind.get("jr:preload")):
        m.warnings.append(f"row {m.rows.get(name, '?')}: metadata field '{name}' ({kind}) is not imported")
        return None
    ours = node.get("khaosat_type")
    if kind == "repeat":
        return _repeat(m, node, where)
    if kind == "group":
        return _grid(m, node, where)
    if kind not in TYPES:
        m.problem(Code.UNSUPPORTED, name, "type", kind,
                  {"en": " KhaoSat takes text, numbers, dates, selects, notes, calculations, acknowledge, "
                         "groups and repeats.",
                   "vi": " KhaoSat nhận văn bản, số, ngày, lựa chọn, ghi chú, phép tính, xác nhận, nhóm và "
                         "nhóm lặp."})
        return None
    q: dict[str, Any] = {"name": name, "type": ours or TYPES[kind]}
    _texts(m, node, q)
    _binds(m, node, q, name)
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
    if q.get("multiple") is not None:
        q["multiple"] = bool(q["multiple"])
    return q


def _sibling_refs(src: str) -> str:
    """pyxform writes ``../name`` for a sibling (e.g. or_other); our names are flat, so it is ``${name}``."""
    return re.sub(r"\.\./([A-Za-z_][A-Za-z0-9_]*)", r"${\1}", src)


def _texts(m: _Mapper, node: dict, q: dict) -> None:
    for ours, theirs in (("label", "label"), ("hint", "hint")):
        text = m.column_text(node, theirs)
        if text:
            q[ours] = text


def _binds(m: _Mapper, node: dict, q: dict, name: str) -> None:
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
                  {"en": " 'required' must be yes or no; conditional requirement is not supported.",
                   "vi": " 'required' chỉ nhận yes hoặc no; chưa hỗ trợ bắt buộc có điều kiện."})
    if bind.get("readonly") and str(bind["readonly"]).lower() not in FALSE and q["type"] != "calculate":
        m.warnings.append(f"row {m.rows.get(name, '?')}: 'read_only' is ignored for '{name}'")


def _choices(m: _Mapper, node: dict, where: str) -> list[dict[str, Any]]:
    list_name = str(node.get("itemset") or node.get("list_name") or "")
    items = node.get("choices") or (m.tree.get("choices") or {}).get(list_name, [])
    for i, item in enumerate(items):
        row = m.choice_rows.get((list_name, item.get("name")), "?")
        m.places[f"{where}.choices[{i}]"] = f"sheet 'choices', row {row}"
    return [m.choice(list_name, c) for c in items]


def _number(value: Any) -> Any:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number == int(number) else number


def _grid(m: _Mapper, node: dict, where: str) -> dict[str, Any] | None:
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
                      {"en": " A table-list group may hold only select_one rows of one list.",
                       "vi": " Nhóm table-list chỉ chứa các câu select_one cùng một danh sách."})
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


def _repeat(m: _Mapper, node: dict, where: str) -> dict[str, Any] | None:
    if node.get("control", {}).get("jr:count") or node.get("repeat_count"):
        m.warnings.append(f"row {m.rows.get(node.get('name'), '?')}: repeat_count is ignored; rows are free")
    q: dict[str, Any] = {"name": node.get("name"), "type": "repeat"}
    _texts(m, node, q)
    bind = node.get("bind") or {}
    if bind.get("relevant"):
        q["relevant"] = str(bind["relevant"])
    for column in ("min_rows", "max_rows"):
        if node.get(column) not in (None, ""):
            q[column] = _number(node[column])
    fields = []
    for i, child in enumerate(node.get("children") or []):
        if child.get("type") in ("repeat", "group"):
            m.problem(Code.UNSUPPORTED, child.get("name"), "type", f"{child.get('type')} inside a repeat",
                      {"en": " Groups and repeats inside a repeat are not supported.",
                       "vi": " Chưa hỗ trợ nhóm hoặc nhóm lặp nằm trong nhóm lặp."})
            continue
        field = convert_question(m, child, f"{where}.questions[{i}]")
        if field is not None:
            m.places[f"{where}.questions[{len(fields)}]"] = f"sheet 'survey', row {m.rows.get(child.get('name'), '?')}"
            fields.append(field)
    q["questions"] = fields
    return q
