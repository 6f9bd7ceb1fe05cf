"""The Lessons pages (issue 32) against a real SQLite lesson store in a temporary data folder:
the list (newest first, by course), one lesson (timeline, students, model, what was cut), the
course view, two lessons side by side, delete (confirmed, Origin-checked, really gone), 404s,
the empty state and the JSON; the same pages once over a real PostgreSQL server."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from lessonworld import CLASSES, example_history, lesson
from tests.lessons.conftest import postgres_server, postgres_url  # noqa: F401 (fixtures)
from webworld import BASE_URL, local_client

from aiducation.errors import InputError
from aiducation.lessons import LessonStore
from aiducation.lessons.records import StateShare
from aiducation.web.app import WebConfig, create_app
from aiducation.web.lessons_page import Difference, clock, cut_seconds


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default lesson database (what ``aiducation serve`` opens) lives here."""
    folder = tmp_path / "data"
    monkeypatch.setenv("AIDUCATION_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def client(data_dir):
    return local_client(create_app(WebConfig(jobs=False, jobs_dir=str(data_dir / "jobs"))))


@pytest.fixture
def ids(data_dir) -> dict[str, int]:
    with LessonStore.open() as store:
        return example_history(store)


def rows(html: str, table: str) -> list[str]:
    """The ``data-lesson`` ids of a table's rows, in page order."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-lesson="(\d+)"', body)


def cells(html: str, row_id: str, attribute: str = "data-lesson") -> list[str]:
    """The text of one table row's cells (tags stripped)."""
    row = html.split(f'<tr {attribute}="{row_id}"', 1)[1].split("</tr>", 1)[0]
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in found]


def test_an_empty_history_says_how_lessons_get_there(client):
    page = client.get("/lessons")
    assert page.status_code == 200 and 'id="no-lessons"' in page.text
    assert "aiducation analyze lesson.mp4 --lesson NAME" in page.text
    assert 'href="/jobs/new"' in page.text  # the web upload
    assert "lessons.sqlite" in page.text  # which database it looked in
    assert 'id="no-lessons"' in client.get("/lessons/compare").text


def test_the_list_is_newest_first_with_each_states_share(client, ids):
    page = client.get("/lessons")
    assert page.status_code == 200
    assert 'id="nav-lessons"' in page.text and 'aria-current="page"' in page.text
    order = ["Geometry", "Ratios, practice", "Ratios", "Percent", "Decimals", "Poems", "Fractions"]
    assert rows(page.text, "lessons-table") == [str(ids[n]) for n in order]
    with LessonStore.open() as store:
        fractions = store.get_lesson(ids["Fractions"])
    name, course, day, length, frames, students, *shares, delete = cells(
        page.text, str(ids["Fractions"])
    )
    assert (name, course, day, length) == ("Fractions", "7b maths", "2025-03-03", "45 min / all")
    assert (frames, students, delete) == ("5400", "6", "Delete…")
    assert shares == [f"{100 * s.share:.0f} %" for s in fractions.states]
    assert cells(page.text, str(ids["Percent"]))[3] == "45 min / 40 min only"  # cut short
    assert f'href="/lessons/{ids["Fractions"]}"' in page.text
    assert 'href="/lessons/course/7b%20maths"' in page.text
    assert [th in page.text for th in CLASSES] == [True] * 4


def test_the_list_filters_by_course_and_an_unknown_course_is_404(client, ids):
    page = client.get("/lessons", params={"course": "7b English"})
    assert page.status_code == 200 and rows(page.text, "lessons-table") == [str(ids["Poems"])]
    assert 'href="/lessons/course/7b%20English"' in page.text
    assert '<option value="7b English" selected>' in page.text
    missing = client.get("/lessons", params={"course": "Latin"})
    assert missing.status_code == 404
    assert "There is no course &#39;Latin&#39; in the lesson history." in missing.text


def test_one_lesson_shows_its_timeline_students_model_and_cut(client, ids):
    page = client.get(f"/lessons/{ids['Percent']}")
    assert page.status_code == 200
    html = page.text
    assert '<h1 id="lesson-name">Percent</h1>' in html
    # the class per minute: one column of stacked steps per minute, none for the empty minute
    timeline = html.split('class="chart timeline"', 1)[1].split("</svg>", 1)[0]
    columns = re.findall(r'<rect class="share" data-state="(\w+)" data-minute="(\d+)" x="([\d.]+)"'
                         r' y="[\d.]+" width="([\d.]+)"', timeline)  # fmt: skip
    minutes = {int(m) for _, m, _, _ in columns}
    assert minutes == set(range(45)) - {7}
    assert 'class="empty" data-minute="7"' in timeline
    assert len({(m, x, w) for _, m, x, w in columns}) == 44  # one x and width per minute: steps
    assert "<path" not in timeline and "<polyline" not in timeline  # no ramps
    assert len(re.findall(r'<rect class="faces"', timeline)) == 45
    # students: anonymous numbers, intervals, the one answered in 12 frames flagged
    assert rows_of_students(html) == ["1", "2", "3", "4", "5", "6"]
    first = cells(html, "1", "data-student")
    assert first[:5] == ["1", "3 min 20 s", "300 of 400", "5 %", "Focused"]
    assert re.fullmatch(r"\d+ % \d+–\d+ %", first[5])  # share, then its interval
    assert first[-1] == "Neutral 25 s" and "⚑" not in " ".join(first)
    few = "12 of 275 ⚑ too few usable frames to trust the shares"
    assert cells(html, "6", "data-student")[2] == few
    assert '<tr data-student="6" class="few">' in html
    # the model and settings, and the cut: the last 5 minutes are in no number
    assert "faceresnet_s" in html and "sha256:0f3c" in html and "max_frames" in html
    assert 'id="cut-warning"' in html and "the last 5 min 00 s are in no number" in html
    assert "a limit of 4800 analysed frames was set" in html
    whole = client.get(f"/lessons/{ids['Fractions']}").text
    assert 'id="cut-warning"' not in whole and 'id="cut-none"' in whole


def rows_of_students(html: str) -> list[str]:
    return re.findall(r'<tr data-student="(\d+)"', html)


def test_a_lesson_links_its_course_neighbours_and_comparison(client, ids):
    html = client.get(f"/lessons/{ids['Decimals']}").text
    assert f'href="/lessons/{ids["Fractions"]}" rel="prev"' in html
    assert f'href="/lessons/{ids["Percent"]}" rel="next"' in html
    assert f"/lessons/compare?a={ids['Fractions']}&amp;b={ids['Decimals']}" in html
    assert 'id="neighbours"' not in client.get(f"/lessons/{ids['Poems']}").text  # alone


def test_a_lesson_recorded_from_a_real_analysis_renders(client, data_dir, tmp_path):
    """The rows lesson_record keeps from the pipeline (not hand-made ones) fill the page."""
    from tests.inference.conftest import write_video
    from tests.stubs import stub_analyzer

    from aiducation.inference.pipeline import OutputPolicy, analyze_capture
    from aiducation.inference.video import open_video
    from aiducation.lessons import lesson_record

    path = write_video(tmp_path / "class.mp4", n_frames=20, fps=10.0)
    done = analyze_capture(open_video(path), str(path), stub_analyzer(), OutputPolicy(),
                           rate=10.0, step=1)  # fmt: skip
    record = lesson_record(done, name="Stub class", course=None, day=datetime.date(2025, 1, 6),
                           model={"name": "stub"}, settings={"fps": 10.0})  # fmt: skip
    with LessonStore.open() as store:
        number = store.add_lesson(record)
    html = client.get(f"/lessons/{number}").text
    assert rows_of_students(html) == [str(r["student"]) for r in record.student_rows]
    assert len(re.findall(r'<rect class="faces"', html)) == len(record.minutes) == 1
    assert 'id="cut-none"' in html and "No students table" not in html


def test_the_course_view_draws_each_states_share_per_lesson_with_intervals(client, ids):
    page = client.get("/lessons/course/7b maths")
    assert page.status_code == 200
    maths = ["Fractions", "Decimals", "Percent", "Ratios", "Ratios, practice", "Geometry"]
    assert rows(page.text, "course-table") == [str(ids[n]) for n in maths]  # oldest first
    chart = page.text.split('class="chart course"', 1)[1].split("</svg>", 1)[0]
    for state in CLASSES:
        assert len(re.findall(f'<circle class="point" data-state="{state}"', chart)) == 6
        assert len(re.findall(f'<path class="error-bar" data-state="{state}"', chart)) == 6
    assert "2025-03-03" in chart and "2025-03-19" in chart  # dates on the x axis
    with LessonStore.open() as store:
        focused = store.get_lesson(ids["Decimals"]).states[2]
    cell = cells(page.text, str(ids["Decimals"]))[7]
    assert cell == f"{100 * focused.share:.0f} % {100 * focused.low:.0f}–{100 * focused.high:.0f} %"
    assert f"/lessons/compare?a={ids['Ratios, practice']}&amp;b={ids['Geometry']}" in page.text
    assert client.get("/lessons/course/Latin").status_code == 404


def test_a_course_name_with_a_slash_and_markup_is_its_own_page(client, data_dir):
    with LessonStore.open() as store:
        store.add_lesson(lesson("<b>Loud</b>", datetime.date(2025, 2, 2), course="5/6 <art>"))
    listing = client.get("/lessons").text
    assert "<b>Loud</b>" not in listing and "&lt;b&gt;Loud&lt;/b&gt;" in listing
    assert 'href="/lessons/course/5/6%20%3Cart%3E"' in listing
    page = client.get("/lessons/course/5/6%20%3Cart%3E")
    assert page.status_code == 200 and "5/6 &lt;art&gt; over time" in page.text
    assert "<art>" not in page.text  # escaped in the table and in the chart's titles too


def test_two_lessons_side_by_side_with_the_difference(client, ids):
    a, b = ids["Fractions"], ids["Geometry"]
    page = client.get("/lessons/compare", params={"a": a, "b": b})
    assert page.status_code == 200
    assert page.text.count('class="chart timeline"') == 2
    assert 'class="chart compare"' in page.text
    with LessonStore.open() as store:
        first, second = store.get_lesson(a), store.get_lesson(b)
    for x, y in zip(first.states, second.states, strict=True):
        points = round(100 * (y.share - x.share))
        sign = "+" if points > 0 else "−" if points < 0 else ""
        row = cells(page.text, x.state, "data-state")
        unit = "point" if abs(points) == 1 else "points"
        assert row[3] == f"{sign}{abs(points)} {unit}"
    assert f'<option value="{a}" selected>' in page.text
    # one lesson chosen: the form with it, nothing compared yet
    half = client.get("/lessons/compare", params={"a": a})
    assert (
        half.status_code == 200 and 'class="chart' not in half.text and 'id="choose"' in half.text
    )


@pytest.mark.parametrize("query", [{"a": "1", "b": "999"}, {"a": "x", "b": "1"}, {"b": "-3"}])
def test_comparing_an_unknown_lesson_is_404(client, ids, query):
    page = client.get("/lessons/compare", params=query)
    assert page.status_code == 404 and "no lesson" in page.text and 'href="/lessons"' in page.text


@pytest.mark.parametrize("path", ["/lessons/999", "/lessons/0", "/lessons/abc",
                                  f"/lessons/{2**70}", "/lessons/999/delete"])  # fmt: skip
def test_an_unknown_lesson_is_a_clear_404_page(client, ids, path):
    page = client.get(path)
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Not in the lesson history" in page.text or "not found" in page.text.lower()


def test_delete_asks_first_and_then_really_deletes(client, ids):
    number = ids["Ratios"]
    form = client.get(f"/lessons/{number}/delete")
    assert form.status_code == 200
    assert f'<form method="post" action="/lessons/{number}/delete"' in form.text
    assert 'name="confirm" value="yes"' in form.text and "cannot be undone" in form.text
    # without the confirmation, from another site, or as a GET: nothing is deleted
    assert client.post(f"/lessons/{number}/delete").status_code == 400
    foreign = client.post(f"/lessons/{number}/delete", data={"confirm": "yes"},
                          headers={"Origin": "http://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    assert client.get(f"/lessons/{number}").status_code == 200
    done = client.post(f"/lessons/{number}/delete", data={"confirm": "yes"},
                       headers={"Origin": BASE_URL}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/lessons?deleted={number}"
    listing = client.get(done.headers["location"]).text
    assert 'id="deleted"' in listing and str(number) not in rows(listing, "lessons-table")
    with LessonStore.open() as store, pytest.raises(InputError):
        store.get_lesson(number)
    assert len(rows(listing, "lessons-table")) == len(ids) - 1
    assert client.get(f"/lessons/{number}").status_code == 404
    again = client.post(f"/lessons/{number}/delete", data={"confirm": "yes"})
    assert again.status_code == 404


def test_the_json_api(client, ids):
    listed = client.get("/api/lessons", params={"course": "7b English"}).json()
    assert [x["id"] for x in listed] == [ids["Poems"]] and listed[0]["share_Neutral"] > 0
    one = client.get(f"/api/lessons/{ids['Poems']}").json()
    assert one["name"] == "Poems" and len(one["minutes"]) == 50 and len(one["students"]) == 6
    missing = client.get("/api/lessons/999")
    assert missing.status_code == 404 and "no lesson" in missing.json()["error"]
    assert client.get("/api/lessons", params={"course": "Latin"}).status_code == 404


def test_small_helpers():
    assert [clock(s) for s in (None, 12, 185, 2700, 3725)] == [
        "–", "12 s", "3 min 05 s", "45 min", "1 h 02 min",
    ]  # fmt: skip
    whole = lesson("x", datetime.date(2025, 1, 1))
    assert cut_seconds(whole) == 0.0  # half a frame interval short is not a cut
    assert cut_seconds(lesson("x", datetime.date(2025, 1, 1), cut_s=60)) == pytest.approx(60.5)
    a, b = StateShare("Bored", 1, 0.2, 0.15, 0.25), StateShare("Bored", 1, 0.26, 0.22, 0.3)
    assert (Difference("Bored", a, b).shown, Difference("Bored", a, b).overlap) == (
        "+6 points", True,
    )  # fmt: skip
    far = StateShare("Bored", 1, 0.05, 0.03, 0.07)
    assert (Difference("Bored", a, far).shown, Difference("Bored", a, far).overlap) == (
        "−15 points", False,
    )  # fmt: skip
    assert Difference("Other", a, None).shown == "–"
    near = StateShare("Bored", 1, 0.19, 0.15, 0.25)
    assert Difference("Bored", a, near).shown == "−1 point"


def test_the_pages_on_a_postgresql_server(postgres_url, tmp_path):  # noqa: F811
    """``aiducation serve --database postgresql://...``: the same pages from the same store
    on a real (private, throwaway) PostgreSQL server; skipped when it cannot start."""
    with LessonStore.open(postgres_url) as store:
        ids = example_history(store)
    config = WebConfig(database=postgres_url, jobs=False, jobs_dir=str(tmp_path / "jobs"))
    client = local_client(create_app(config))
    listing = client.get("/lessons").text
    assert rows(listing, "lessons-table")[0] == str(ids["Geometry"]) and "postgresql" in listing
    assert rows_of_students(client.get(f"/lessons/{ids['Percent']}").text) == list("123456")
    course = client.get("/lessons/course/7b maths").text
    assert len(rows(course, "course-table")) == 6 and 'class="chart course"' in course
    compare = client.get("/lessons/compare", params={"a": ids["Fractions"], "b": ids["Poems"]})
    assert compare.status_code == 200 and compare.text.count('class="chart timeline"') == 2
    done = client.post(f"/lessons/{ids['Poems']}/delete", data={"confirm": "yes"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    with LessonStore.open(postgres_url) as store:
        assert ids["Poems"] not in {x.id for x in store.list_lessons()}
    assert client.get(f"/lessons/{ids['Poems']}").status_code == 404


def test_the_course_menus_come_from_the_courses_with_their_counts(client, ids):
    listing = client.get("/lessons", params={"course": "7b English"}).text
    assert '<option value="7b English" selected>7b English (1)</option>' in listing
    assert '<option value="7b maths" >7b maths (6)</option>' in listing
    compare = client.get("/lessons/compare", params={"course": "7b English"})
    menu = compare.text.split('id="pick-a"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\d+)"', menu) == [str(ids["Poems"])]  # that course's
    assert '<option value="7b English" selected>7b English (1)</option>' in compare.text
    both = client.get("/lessons/compare", params={"course": "7b English", "a": ids["Poems"],
                                                   "b": ids["Geometry"]})  # fmt: skip
    menu = both.text.split('id="pick-b"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\d+)"', menu) == [str(ids["Poems"]), str(ids["Geometry"])]
    assert f'<option value="{ids["Geometry"]}" selected>' in menu  # chosen, of another course
    whole = client.get("/lessons/compare").text.split('id="pick-a"', 1)[1].split("</select>")[0]
    assert len(re.findall(r'<option value="\d+"', whole)) == len(ids)  # all courses
    assert client.get("/lessons/compare", params={"course": "Latin"}).status_code == 404


def test_only_an_unknown_lesson_is_a_404_not_a_broken_database(client, ids, data_dir):
    """The pages ask the store's own error (UnknownLesson) whether a lesson is missing; any
    other database failure is an error page naming it, never "no such lesson"."""
    import sqlite3

    with sqlite3.connect(data_dir / "lessons.sqlite") as connection:
        connection.execute("DROP TABLE lesson_students")
    broken = client.get(f"/lessons/{ids['Poems']}")
    assert broken.status_code == 400 and "no such table: lesson_students" in broken.text
    assert "no lesson" not in broken.text
    assert client.get(f"/api/lessons/{ids['Poems']}").status_code == 400
