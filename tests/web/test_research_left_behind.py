"""The left-behind page reads as sentences: one catalog message per sentence shape, in each language,
with the numbers in the right unit; each cell once, grouped by ward, 20 a page, all in the download."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from surveys import areas
from web.research import sentences

WARD = 4  # a ward code that exists only in this test's own name table
NAMES = {WARD: "Xã Phú Nghĩa"}
GROUPS = ["age_band", "ethnicity", "sex"]
LABELS = {"ethnicity": {"dao": "Dao"}}


def _row(area, group: dict, estimate: float, gap: float, moe: float) -> pd.Series:
    return pd.Series({"ward_code": area, "age_band": None, "ethnicity": None, "sex": None, **group,
                      "estimate": estimate, "ci_low": estimate - moe, "ci_high": estimate + moe, "gap": gap})


def _say(app, lang: str, row: pd.Series, share: bool, indicator: str, provinces: tuple[int, ...] = (1,)) -> str:
    with app.test_request_context(f"/?lang={lang}"):
        return sentences.sentence(row, "ward_code", GROUPS, NAMES, LABELS, indicator, share,
                                  sentences.comparison(provinces))


OLD_DAO = {"age_band": "60+", "ethnicity": "dao"}
#: every sentence shape: (where, kind, direction) -> the row and what each language must say
SHAPES = [
    (("area group", "score", "below"), _row(WARD, OLD_DAO, 9.0, -43.0, 2.0), {
        "vi": "Ở Xã Phú Nghĩa, chỉ số kỹ năng số của người Dao từ 60 tuổi trở lên là 9 điểm (±2), thấp hơn "
              "mức chung của Thành phố Hà Nội 43 điểm.",
        "en": "In Xã Phú Nghĩa, the digital-skills index of Dao people aged 60 and over is 9 points (±2), 43 points "
              "below Thành phố Hà Nội as a whole."}),
    (("area group", "score", "above"), _row(WARD, {"sex": "2"}, 60.0, 8.0, 3.0), {
        "vi": "Ở Xã Phú Nghĩa, chỉ số kỹ năng số của phụ nữ là 60 điểm (±3), cao hơn mức chung của Thành phố Hà Nội 8 điểm.",
        "en": "In Xã Phú Nghĩa, the digital-skills index of women is 60 points (±3), 8 points above Thành phố Hà Nội as a whole."}),
    (("area", "score", "below"), _row(WARD, {}, 30.0, -21.0, 4.0), {
        "vi": "Ở Xã Phú Nghĩa, chỉ số kỹ năng số là 30 điểm (±4), thấp hơn mức chung của Thành phố Hà Nội 21 điểm.",
        "en": "In Xã Phú Nghĩa, the digital-skills index is 30 points (±4), 21 points below Thành phố Hà Nội as a whole."}),
    (("area", "score", "above"), _row(WARD, {}, 70.0, 19.0, 4.0), {
        "vi": "Ở Xã Phú Nghĩa, chỉ số kỹ năng số là 70 điểm (±4), cao hơn mức chung của Thành phố Hà Nội 19 điểm.",
        "en": "In Xã Phú Nghĩa, the digital-skills index is 70 points (±4), 19 points above Thành phố Hà Nội as a whole."}),
    (("group", "score", "below"), _row(None, {"sex": "2", "age_band": "60+"}, 20.0, -31.0, 4.0), {
        "vi": "Trên địa bàn Thành phố Hà Nội, chỉ số kỹ năng số của phụ nữ từ 60 tuổi trở lên là 20 điểm (±4), thấp hơn "
              "mức chung 31 điểm.",
        "en": "Across Thành phố Hà Nội, the digital-skills index of women aged 60 and over is 20 points (±4), 31 points "
              "below the overall average."}),
    (("group", "score", "above"), _row(None, {"age_band": "16-29"}, 70.0, 19.0, 2.0), {
        "vi": "Trên địa bàn Thành phố Hà Nội, chỉ số kỹ năng số của người dân từ 16 đến 29 tuổi là 70 điểm (±2), cao hơn "
              "mức chung 19 điểm.",
        "en": "Across Thành phố Hà Nội, the digital-skills index of people aged 16 to 29 is 70 points (±2), 19 points "
              "above the overall average."}),
    (("area group", "share", "below"), _row(WARD, OLD_DAO, 0.12, -0.29, 0.05), {
        "vi": "Ở Xã Phú Nghĩa, có kỹ năng số từ cơ bản trở lên: 12% người Dao từ 60 tuổi trở lên (±5 điểm), thấp "
              "hơn mức chung của Thành phố Hà Nội 29 điểm phần trăm.",
        "en": "In Xã Phú Nghĩa, at least basic digital skills: 12% of Dao people aged 60 and over (±5 points), "
              "29 percentage points below Thành phố Hà Nội as a whole."}),
    (("area group", "share", "above"), _row(WARD, {"sex": "1"}, 0.55, 0.14, 0.08), {
        "vi": "Ở Xã Phú Nghĩa, có kỹ năng số từ cơ bản trở lên: 55% nam giới (±8 điểm), cao hơn mức chung của Thành phố Hà Nội "
              "14 điểm phần trăm.",
        "en": "In Xã Phú Nghĩa, at least basic digital skills: 55% of men (±8 points), 14 percentage points above "
              "Thành phố Hà Nội as a whole."}),
    (("area", "share", "below"), _row(WARD, {}, 0.2, -0.21, 0.06), {
        "vi": "Ở Xã Phú Nghĩa, có kỹ năng số từ cơ bản trở lên: 20% người dân (±6 điểm), thấp hơn mức chung của Thành phố Hà Nội "
              "21 điểm phần trăm.",
        "en": "In Xã Phú Nghĩa, at least basic digital skills: 20% of residents (±6 points), 21 percentage points "
              "below Thành phố Hà Nội as a whole."}),
    (("area", "share", "above"), _row(WARD, {}, 0.5, 0.09, 0.06), {
        "vi": "Ở Xã Phú Nghĩa, có kỹ năng số từ cơ bản trở lên: 50% người dân (±6 điểm), cao hơn mức chung của Thành phố Hà Nội "
              "9 điểm phần trăm.",
        "en": "In Xã Phú Nghĩa, at least basic digital skills: 50% of residents (±6 points), 9 percentage points "
              "above Thành phố Hà Nội as a whole."}),
    (("group", "share", "below"), _row(None, {"ethnicity": "dao", "sex": "2"}, 0.1, -0.31, 0.07), {
        "vi": "Trên địa bàn Thành phố Hà Nội, có kỹ năng số từ cơ bản trở lên: 10% phụ nữ Dao (±7 điểm), thấp hơn mức "
              "chung 31 điểm phần trăm.",
        "en": "Across Thành phố Hà Nội, at least basic digital skills: 10% of Dao women (±7 points), 31 percentage points "
              "below the overall average."}),
    (("group", "share", "above"), _row(None, {"age_band": "30-44"}, 0.6, 0.19, 0.03), {
        "vi": "Trên địa bàn Thành phố Hà Nội, có kỹ năng số từ cơ bản trở lên: 60% người dân từ 30 đến 44 tuổi (±3 điểm), "
              "cao hơn mức chung 19 điểm phần trăm.",
        "en": "Across Thành phố Hà Nội, at least basic digital skills: 60% of people aged 30 to 44 (±3 points), 19 "
              "percentage points above the overall average."}),
]
INDICATORS = {("score", "vi"): "Chỉ số kỹ năng số (0–100)", ("score", "en"): "Digital-skills index (0–100)",
              ("share", "vi"): "Có kỹ năng số từ cơ bản trở lên", ("share", "en"): "At least basic digital skills"}


def test_every_sentence_shape_is_covered():
    assert {shape for shape, _, _ in SHAPES} == set(sentences.SENTENCES)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("shape", "row", "expected"), SHAPES, ids=[" ".join(s) for s, _, _ in SHAPES])
def test_each_sentence_shape_in_each_language(app, shape, row, expected, lang):
    kind = shape[1]
    indicator = sentences.indicator_phrase(INDICATORS[(kind, lang)])
    assert _say(app, lang, row, kind == "share", indicator) == expected[lang]


EVERY_PROVINCE = "every"
#: what a ward's sentence and a group's sentence of the whole area say when the survey covers other areas
COVERAGES = [
    ((79,), {"vi": ("thấp hơn mức chung của Thành phố Hồ Chí Minh 21 điểm.", "Trên địa bàn Thành phố Hồ Chí Minh, "),
             "en": ("21 points below Thành phố Hồ Chí Minh as a whole.", "Across Thành phố Hồ Chí Minh, ")}),
    ((1, 79), {"vi": ("thấp hơn mức chung toàn địa bàn khảo sát 21 điểm.", "Trên toàn địa bàn khảo sát, "),
               "en": ("21 points below the whole survey area.", "Across the whole survey area, ")}),
    (EVERY_PROVINCE, {"vi": ("thấp hơn mức chung cả nước 21 điểm.", "Trên cả nước, "),
                      "en": ("21 points below the whole country.", "Across the whole country, ")}),
]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(("provinces", "expected"), COVERAGES, ids=["one other", "two", "national"])
def test_sentences_name_the_area_the_survey_covers(app, provinces, expected, lang):
    codes = tuple(p.code for p in areas.provinces()) if provinces == EVERY_PROVINCE else provinces
    indicator = sentences.indicator_phrase(INDICATORS[("score", lang)])
    ward = _say(app, lang, _row(WARD, {}, 30.0, -21.0, 4.0), False, indicator, codes)
    group = _say(app, lang, _row(None, {"sex": "2"}, 20.0, -31.0, 4.0), False, indicator, codes)
    assert ward.endswith(expected[lang][0]) and group.startswith(expected[lang][1])
    assert not any(word in ward + group for word in ("toàn thành phố", "city"))


@pytest.fixture
def demo(load_demo):
    load_demo(8)


WHOLE_HANOI = {"vi": "thấp hơn mức chung của Thành phố Hà Nội ít nhất 10 điểm",
               "en": "below Thành phố Hà Nội as a whole by at least 10 points"}
VIETNAMESE_NAMES = ("Chỉ số kỹ năng số", "Có kỹ năng số", "Đã dùng", "Điểm hoạt động")
ENGLISH_NAMES = ("Digital-skills index", "At least basic", "Used the internet", "Digital activities score")


def _sections(html: str) -> list[tuple[str, list[str]]]:
    return [(heading, re.findall(r'<p class="sentence">(.*?)</p>', body, re.S))
            for heading, body in re.findall(r'<section class="ranking-area">\s*<h2>(.*?)</h2>(.*?)</section>', html,
                                            re.S)]


def test_the_page_groups_cells_by_ward_20_at_a_time_each_once_in_its_language(app, client, accounts, demo):
    accounts.login("researcher")
    seen: list[str] = []
    smallest: list[int] = []  # how many cells of each page have a q-value under 0.001
    built = app.extensions["khaosat_cache"].built
    for lang, foreign in (("vi", ENGLISH_NAMES), ("en", VIETNAMESE_NAMES)):
        worded, sorted_rows = built["derived", "sentences"], built["derived", "left-behind rows"]
        first = client.get(f"/research/digital-skills/left-behind?indicator=dsi_index&all=1&lang={lang}")
        assert first.status_code == 200
        html = first.get_data(as_text=True)
        pages = int(re.search(r"(?:Page|Trang) 1(?: of |/)(\d+)", html).group(1))
        assert pages >= 3
        for number in range(1, pages + 1):
            html = client.get(f"/research/digital-skills/left-behind?indicator=dsi_index&all=1&lang={lang}"
                              f"&page={number}").get_data(as_text=True)
            sections = _sections(html)
            headings = [h for h, _ in sections]
            assert len(headings) == len(set(headings))  # a ward is one block on a page
            items = [s for _, body in sections for s in body]
            assert 0 < len(items) <= 20 and len(items) == 20 or number == pages
            assert not any(name in html for name in foreign), lang
            assert WHOLE_HANOI[lang] in html and "thành phố" not in html.replace("Thành phố Hà Nội", "")
            assert not re.search(r"q = 0[.,]000;", html)  # a q-value is never written as zero: "q < 0.001"
            smallest.append(html.count(f"q &lt; 0{'.' if lang == 'en' else ','}001;"))
            if lang == "en":
                seen += [f"{h}|{s}" for h, body in sections for s in body]
        # the sentences and the sorted rows are made once for all the pages, in each language
        assert (built["derived", "sentences"], built["derived", "left-behind rows"]) == (worded + 1, sorted_rows + 1)
        assert client.get(f"/research/digital-skills/left-behind?all=1&page={pages + 1}").status_code == 404
    assert len(seen) == len(set(seen))  # no cell twice across the pages
    assert sum(smallest) > 0
    ranking = pd.read_csv(io.BytesIO(client.get(
        "/research/digital-skills/left-behind.csv?indicator=dsi_index&lang=en").data), encoding="utf-8-sig")
    assert len(ranking) >= len(seen)
    keys = ranking[[c for c in ("ward_code", "age_band", "sex", "ethnicity", "area_type", "education", "income",
                                "disability") if c in ranking]]
    assert not keys.astype(str).duplicated().any()
    rural = ranking[(ranking["cell_type"] == "area x group") & ranking["area_type"].notna()]
    assert rural.empty  # each ward is all phường or all xã: the ward x type cell is the ward itself
    shown = ranking[ranking["estimate"].notna()]
    assert shown["sentence"].str.contains(" points ").all() and not shown["sentence"].str.contains("%").any()
    assert (shown["population"] > 0).all()
