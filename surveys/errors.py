"""Problems found while loading an instrument, as a catalogue of codes with bilingual templates.

Each problem names the file, the place (sheet/row or YAML path) and the field, so an author can fix
it; the CLI prints them and exits 2, the web admin and the API show them in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Code(Enum):
    """Stable problem codes, each with a Vietnamese and an English message template."""

    FILE_UNREADABLE = ("Không đọc được tệp: {value}.", "The file cannot be read: {value}.")
    NOT_A_MAPPING = (
        "Tệp phải là một bảng khóa: giá trị (YAML mapping).",
        "The file must be a YAML mapping of keys to values.",
    )
    MISSING_FIELD = ("Thiếu trường bắt buộc '{field}'.", "The required field '{field}' is missing.")
    BAD_VALUE = (
        "Giá trị '{value}' của trường '{field}' không hợp lệ.{detail}",
        "The value '{value}' of '{field}' is invalid.{detail}",
    )
    MISSING_TRANSLATION = (
        "Trường '{field}' thiếu bản dịch '{value}' hoặc bản dịch trống.",
        "The field '{field}' lacks its '{value}' translation, or it is empty.",
    )
    UNKNOWN_TYPE = (
        "Loại câu hỏi '{value}' không được hỗ trợ.",
        "The question type '{value}' is not supported.",
    )
    DUPLICATE_NAME = ("Tên '{value}' bị trùng.", "The name '{value}' is used twice.")
    RESERVED_NAME = (
        "Tên '{value}' được dành cho thông tin lưu kèm mỗi câu trả lời (mã, phường/xã, kênh, ngôn ngữ, thời gian, "
        "trọng số, mẫu); hãy đặt tên khác, ví dụ '{value}_q'.",
        "The name '{value}' is reserved for what is stored with every response (ids, ward, channel, language, "
        "times, weights, sample design); choose another, e.g. '{value}_q'.",
    )
    BAD_NAME = (
        "Tên '{value}' không hợp lệ: chỉ dùng chữ cái Latin không dấu, số và '_', bắt đầu bằng chữ cái.",
        "The name '{value}' is invalid: use ASCII letters, digits and '_', starting with a letter.",
    )
    UNKNOWN_CHOICE_LIST = ("Không có danh sách lựa chọn '{value}'.", "There is no choice list '{value}'.")
    NO_CHOICES = ("Câu hỏi lựa chọn phải có ít nhất hai lựa chọn.", "A choice question needs at least two choices.")
    BAD_EXPRESSION = ("Biểu thức '{value}' không hợp lệ: {detail}", "The expression '{value}' is invalid: {detail}")
    UNKNOWN_REFERENCE = (
        "Biểu thức nhắc tới câu hỏi '{value}' nhưng không có câu hỏi nào tên như vậy.{detail}",
        "The expression refers to '{value}', but no question has that name.{detail}",
    )
    TYPE_MISMATCH = ("Biểu thức dùng sai kiểu: {detail}", "Type error in the expression: {detail}")
    UNKNOWN_CHOICE_CODE = (
        "Mã '{value}' không có trong các lựa chọn của câu hỏi '{detail}'.",
        "The code '{value}' is not one of the choices of '{detail}'.",
    )
    CYCLE = (
        "Các phép tính phụ thuộc vòng tròn vào nhau: {value}.",
        "These calculations depend on each other in a circle: {value}.",
    )
    UNKNOWN_FIELD = ("Trường '{field}' không được hỗ trợ.{detail}", "The field '{field}' is not supported.{detail}")
    BAD_COMPETENCE = (
        "'{value}' không phải mã năng lực DigComp 2.2 (0.1-0.2, 1.1-5.4).",
        "'{value}' is not a DigComp 2.2 competence id (0.1-0.2, 1.1-5.4).",
    )
    BAD_CORRECT = (
        "Đáp án đúng '{value}' không có trong các lựa chọn.",
        "The correct answer '{value}' is not one of the choices.",
    )
    BAD_SCORING = ("Phần chấm điểm không hợp lệ: {detail}", "The scoring section is invalid: {detail}")
    MISSING_PAGE = (
        "Bộ câu hỏi phải có câu hỏi '{value}' loại '{detail}'.",
        "The instrument needs a question '{value}' of type '{detail}'.",
    )
    MISSING_SHEET = ("Thiếu trang tính '{value}'.{detail}", "The sheet '{value}' is missing.{detail}")
    UNSUPPORTED = ("Tính năng '{value}' chưa được hỗ trợ.{detail}", "The feature '{value}' is not supported.{detail}")
    XLSFORM_INVALID = (
        "pyxform không đọc được biểu mẫu XLSForm: {value}",
        "pyxform cannot read the XLSForm: {value}",
    )
    TOO_LARGE = ("Tệp quá lớn: {value}.", "The file is too large: {value}.")

    @property
    def vi(self) -> str:
        return self.value[0]

    @property
    def en(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class Problem:
    code: Code
    file: str
    where: str = ""  #: "pages[2].questions[4]" or "survey sheet, row 12"
    field: str = ""
    value: str = ""
    detail: str | dict[str, str] = ""  #: free text, or text per language

    def message(self, lang: str = "en") -> str:
        template = self.code.vi if lang == "vi" else self.code.en
        detail = self.detail
        if isinstance(detail, dict):
            detail = detail.get(lang) or detail.get("en", "")
        body = template.format(field=self.field, value=self.value, detail=detail)
        place = ", ".join(part for part in (self.file, self.where) if part)
        return f"[{self.code.name}] {place}: {body}"

    def context(self) -> dict[str, str]:
        """The plain data of the problem, e.g. for a JSON error body."""
        return {"code": self.code.name, "file": self.file, "where": self.where, "field": self.field,
                "value": self.value, "en": self.message("en"), "vi": self.message("vi")}


@dataclass
class InstrumentError(Exception):
    """Raised when an instrument cannot be loaded; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.message("en") for p in self.problems)

    def messages(self, lang: str = "en") -> list[str]:
        return [p.message(lang) for p in self.problems]
