"""The "too fast" rule does not rest on one number the phone sends: claimed durations are checked
against the interview's own times and the server's receipts, and impossible or overlapping times are
flagged; honest interviews, sent at once or queued for hours, raise nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.web.test_api import submission
from web.models import Response
from web.quality import Flag, flag_responses, timing

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
MIN_SECONDS = 120


def interview(rid: int, start_min: float, end_min: float | None, received_min: float, reported: float | None = None,
              volunteer: int = 7) -> Response:
    """An interview by ``volunteer``: times in minutes from NOW (the phone's start and end, the server's receipt)."""
    meta = {} if reported is None else {"duration_s": reported}
    if end_min is not None:
        meta["ended_at"] = (NOW + dt.timedelta(minutes=end_min)).isoformat()
    return Response(id=rid, uuid=f"timing-{rid}", survey_version_id=1, channel="interview", language="vi", answers={"n": rid},
                    scores={}, meta=meta, content_hash="x", volunteer_id=volunteer,
                    started_at=NOW + dt.timedelta(minutes=start_min),
                    submitted_at=NOW + dt.timedelta(minutes=received_min))


def flags_of(*responses: Response) -> dict[int, set[Flag]]:
    return {f.response.id: set(f.flags) for f in flag_responses(responses, {}, MIN_SECONDS)}


def test_honest_interviews_sent_at_once_or_queued_for_hours_raise_nothing():
    online = [interview(1, 0, 20, 20.1, 1200), interview(2, 22, 41, 41.1, 1140), interview(3, 45, 70, 70.2, 1500)]
    queued = [interview(4, -300, -280, 60, 1200, volunteer=8), interview(5, -270, -250, 60.01, 1200, volunteer=8)]
    assert flags_of(*online, *queued) == {}


def test_999_seconds_claimed_for_a_5_second_interview_is_too_fast_and_contradicted():
    fake = interview(1, 0, 5 / 60, 0.1, reported=999)
    assert timing(fake).shortest == 5
    assert flags_of(fake)[1] == {Flag.too_fast, Flag.duration_mismatch}


def test_a_claimed_duration_without_an_end_time_is_checked_against_the_receipt():
    fake = interview(1, 0, None, 0.5, reported=1500)  # received 30 s after it began
    assert timing(fake).shortest == 30
    assert flags_of(fake)[1] == {Flag.too_fast, Flag.duration_mismatch}


def test_a_duration_longer_than_the_time_between_two_syncs_is_contradicted():
    before = interview(1, -20, 0, 0.05, reported=1200)
    fake = interview(2, 0.1, None, 1.0, reported=1200)  # began after the previous receipt, 55 s before its own
    measured = timing(fake, before.submitted_at)
    assert measured.since_sync == pytest.approx(57) and measured.shortest == pytest.approx(54)
    assert flags_of(before, fake) == {2: {Flag.too_fast, Flag.duration_mismatch}}


def test_overlapping_interviews_of_one_volunteer_are_flagged_but_not_of_two():
    first, second = interview(1, -120, -100, 5, 1200), interview(2, -110, -90, 5.01, 1200)
    assert flags_of(first, second) == {1: {Flag.overlap}, 2: {Flag.overlap}}
    other = interview(3, -110, -90, 5.02, 1200, volunteer=9)
    assert flags_of(first, other) == {}


@pytest.mark.parametrize("start,end,received,reported", [(0, 20, 10, None), (70, 80, 60, None), (20, 0, 25, None),
                                                         (0, 20, 25, -300)])
def test_impossible_times_are_flagged(start, end, received, reported):
    assert Flag.impossible_times in flags_of(interview(1, start, end, received, reported))[1]


@pytest.mark.parametrize("meta", [
    {"started_at": "1970-01-01T00:03:00.000Z", "ended_at": "1970-01-01T00:23:00.000Z", "duration_s": 1200},
    {"started_at": "2026-11-20T08:15:00.000Z", "ended_at": "2026-11-20T08:10:00.000Z", "duration_s": -300},
])
def test_a_phone_with_a_reset_or_adjusted_clock_is_not_refused(app, client, accounts, meta):
    """A refusal would leave the interview stuck on the phone: such times are stored, and flagged."""
    body = submission(app, uuid="timing-clock-0001")
    body["meta"].update(meta)
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    accounts.login("admin")
    assert "Impossible times: ended before it began" in client.get("/admin/quality?lang=en").get_data(as_text=True)


def test_the_review_page_shows_the_measured_minutes_and_the_flags(app, accounts, client):
    now = dt.datetime.now(dt.UTC)
    body = submission(app, uuid="timing-page-0001")
    body["meta"].update(started_at=(now - dt.timedelta(seconds=5)).isoformat(), ended_at=now.isoformat(),
                        duration_s=999)
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    accounts.login("admin")
    page = client.get("/admin/quality?lang=en").get_data(as_text=True)
    row = page.split("volunteer-api")[1].split("</tr>")[0]
    assert '<td class="num">0.1</td>' in row  # 5 seconds, not the 999 claimed
    assert "Too fast" in row and "Claimed duration disagrees with its times or with the syncs" in row
    page = client.get("/admin/quality?lang=vi").get_data(as_text=True)
    assert "Thời lượng khai báo không khớp" in page and "0,1" in page
