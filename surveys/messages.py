"""Messages about answers (shown next to a question), in every language the platform speaks."""

from __future__ import annotations

from surveys.schema import Text

REQUIRED: Text = {"vi": "Vui lòng trả lời câu hỏi này.", "en": "Please answer this question."}
NOT_A_CHOICE: Text = {"vi": "Hãy chọn một trong các phương án đã cho.", "en": "Please pick one of the options given."}
NOT_AN_INTEGER: Text = {"vi": "Hãy nhập một số nguyên.", "en": "Please enter a whole number."}
NOT_A_NUMBER: Text = {"vi": "Hãy nhập một số.", "en": "Please enter a number."}
NOT_A_DATE: Text = {"vi": "Hãy nhập ngày theo dạng năm-tháng-ngày.", "en": "Please enter a date as year-month-day."}
TOO_LONG: Text = {"vi": "Câu trả lời quá dài (tối đa {limit} ký tự).", "en": "The answer is too long (at most {limit} characters)."}
TOO_SMALL: Text = {"vi": "Giá trị phải từ {limit} trở lên.", "en": "The value must be at least {limit}."}
TOO_LARGE: Text = {"vi": "Giá trị không được lớn hơn {limit}.", "en": "The value must be at most {limit}."}
CONSENT: Text = {"vi": "Cần có sự đồng ý của bạn để tiếp tục.", "en": "Your consent is needed to continue."}
CONSTRAINT: Text = {"vi": "Câu trả lời không hợp lệ.", "en": "This answer is not valid."}
UNKNOWN_AREA: Text = {"vi": "Hãy chọn phường/xã trong danh sách.", "en": "Please pick a ward or commune from the list."}

TOO_MANY_ROWS: Text = {"vi": "Tối đa {limit} dòng.", "en": "At most {limit} rows."}
TOO_FEW_ROWS: Text = {"vi": "Cần ít nhất {limit} dòng.", "en": "At least {limit} rows are needed."}
ROW_ERROR: Text = {"vi": "Dòng {row}: {detail}", "en": "Row {row}: {detail}"}


def fill(message: Text, **values: object) -> Text:
    return {lang: text.format(**values) for lang, text in message.items()}
