"""Annotate page through the test client: the next image, labels written to the CSV,
resuming, several attributes in one file, config errors and the page without data."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from webworld import local_client

from aiducation.errors import InputError
from aiducation.web.annotate import read_annotate_config
from aiducation.web.app import WebConfig, create_app


@pytest.fixture
def attributes_file(tmp_path):
    path = tmp_path / "attributes.json"
    path.write_text(
        json.dumps(
            {"attributes": {"gender": ["female", "male"], "glasses": ["no", "yes"]}, "per_class": 2}
        )
    )
    return path


@pytest.fixture
def annotate_client(prepared_dir, tmp_path, attributes_file, stub_analyzer):
    config = WebConfig(
        annotate_data=str(prepared_dir),
        annotate_out=str(tmp_path / "labels" / "attributes.csv"),
        annotate_config=str(attributes_file),
    )
    return local_client(
        create_app(config, analyzer=stub_analyzer)
    ), tmp_path / "labels" / "attributes.csv"


def current_row(html: str) -> int:
    return int(re.search(r'name="row" value="(\d+)"', html).group(1))


def test_labels_go_to_the_csv_and_the_page_moves_on(annotate_client, prepared_dir):
    client, csv = annotate_client
    html = client.get("/annotate").text
    assert "0 of 8 images labelled for <strong>gender</strong>" in html
    first = current_row(html)
    assert client.get(f"/annotate/face/{first}.png").content.startswith(b"\x89PNG")
    labelled = []
    for value in ("female", "male", "cannot tell"):
        row = current_row(client.get("/annotate?attribute=gender").text)
        response = client.post("/annotate/gender", data={"row": row, "value": value})
        assert response.status_code == 200  # followed the redirect back to the page
        labelled.append(row)
    assert len(set(labelled)) == 3
    table = pd.read_csv(csv, dtype=str)
    meta = pd.read_csv(prepared_dir / "meta.csv")
    expected = {
        meta.loc[r, "image_name"]: v
        for r, v in zip(labelled, ("female", "male", "cannot tell"), strict=True)
    }
    assert dict(zip(table["image"], table["gender"], strict=True)) == expected
    assert "3 of 8 images labelled" in client.get("/annotate").text
    assert client.get("/annotate/attributes.csv").text.startswith("image,split,gender")


def test_repeated_submit_keeps_the_first_label(annotate_client):
    client, csv = annotate_client
    row = current_row(client.get("/annotate").text)
    client.post("/annotate/gender", data={"row": row, "value": "female"})
    client.post("/annotate/gender", data={"row": row, "value": "male"})
    assert list(pd.read_csv(csv)["gender"]) == ["female"]


def test_second_attribute_shares_the_csv_and_resumes(
    annotate_client, prepared_dir, tmp_path, attributes_file, stub_analyzer
):
    client, csv = annotate_client
    row = current_row(client.get("/annotate?attribute=gender").text)
    client.post("/annotate/gender", data={"row": row, "value": "male"})
    row2 = current_row(client.get("/annotate?attribute=glasses").text)
    client.post("/annotate/glasses", data={"row": row2, "value": "yes"})
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["image", "split", "gender", "glasses"]
    # a new server on the same CSV resumes where this one stopped
    config = WebConfig(
        annotate_data=str(prepared_dir), annotate_out=str(csv), annotate_config=str(attributes_file)
    )
    again = (
        local_client(create_app(config, analyzer=stub_analyzer))
        .get("/annotate?attribute=glasses")
        .text
    )
    assert "1 of 8 images labelled" in again and current_row(again) != row2


def test_bad_labels_and_rows_are_refused(annotate_client):
    client, csv = annotate_client
    row = current_row(client.get("/annotate").text)
    bad_value = client.post("/annotate/gender", data={"row": row, "value": "other"})
    assert bad_value.status_code == 400 and "not one of female, male" in bad_value.text
    assert client.post("/annotate/gender", data={"row": 10**6, "value": "male"}).status_code == 400
    assert client.post("/annotate/height", data={"row": row, "value": "male"}).status_code == 404
    assert client.get("/annotate/face/999999.png").status_code == 404
    assert not csv.exists()


def test_sample_done_message(prepared_dir, tmp_path, stub_analyzer):
    path = tmp_path / "one.json"
    path.write_text(
        json.dumps({"attributes": {"age": ["adult", "child"]}, "per_class": 1, "splits": ["test"]})
    )
    config = WebConfig(
        annotate_data=str(prepared_dir),
        annotate_out=str(tmp_path / "a.csv"),
        annotate_config=str(path),
    )
    client = local_client(create_app(config, analyzer=stub_analyzer))
    for _ in range(4):
        client.post(
            "/annotate/age",
            data={"row": current_row(client.get("/annotate").text), "value": "adult"},
        )
    assert 'id="annotate-done"' in client.get("/annotate").text


def test_without_data_the_page_explains_how_to_start(client):
    html = client.get("/annotate").text
    assert 'id="annotate-off"' in html and "--data" in html


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not a readable JSON"),
        ('{"attributes": []}', "expected"),
        ('{"attributes": {"gender": "female"}}', "list of choice words"),
    ],
)
def test_bad_attribute_config(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=words):
        read_annotate_config(path)


def test_default_attributes_are_gender_and_age():
    assert read_annotate_config(None).attributes == {
        "gender": ("female", "male"),
        "age": ("adult", "child"),
    }


def test_missing_dataset_gets_an_error_page(tmp_path, stub_analyzer):
    config = WebConfig(annotate_data=str(tmp_path / "nowhere"))
    response = local_client(create_app(config, analyzer=stub_analyzer)).get("/annotate")
    assert response.status_code == 400 and "--data" in response.text and "nowhere" in response.text


def _terminal_annotator(prepared: str, csv: str, rows: list[int], barrier) -> None:
    """Child process: `aiducation annotate`'s session labelling ``rows`` as 'yes' glasses."""
    from aiducation.data.dataset import load_prepared
    from aiducation.fairness.annotate import AnnotationSession

    session = AnnotationSession(load_prepared(prepared), csv, "glasses", ("no", "yes"), 40)
    barrier.wait()
    for row in rows:
        session.record(row, "yes")


def test_web_labels_and_a_terminal_session_in_another_process_lose_nothing(
    prepared_dir, tmp_path, stub_analyzer
):
    """Issue 34: the Annotate page and `aiducation annotate` writing one CSV at the same time
    lost labels (120 sent from the page, 113 in the file)."""
    import multiprocessing

    config_path = tmp_path / "attributes.json"
    config_path.write_text(json.dumps({"attributes": {"gender": ["female", "male"]},
                                       "per_class": 40}))  # fmt: skip
    csv = tmp_path / "attributes.csv"
    app = create_app(
        WebConfig(annotate_data=str(prepared_dir), annotate_out=str(csv),
                  annotate_config=str(config_path)),
        analyzer=stub_analyzer,
    )  # fmt: skip
    client = local_client(app)
    web_rows = [int(r) for r in app.state.web.annotator().sessions["gender"].queue]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    terminal = context.Process(
        target=_terminal_annotator, args=(str(prepared_dir), str(csv), web_rows[::-1], barrier)
    )
    terminal.start()
    barrier.wait()
    for row in web_rows:
        response = client.post("/annotate/gender", data={"row": row, "value": "female"},
                               follow_redirects=False)  # fmt: skip
        assert response.status_code == 303
    terminal.join(120)
    assert terminal.exitcode == 0
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert len(table) == len(web_rows) > 100
    assert (table["gender"] == "female").all() and (table["glasses"] == "yes").all()
    assert csv.with_name("attributes.csv.lock").is_file()  # the lock beside the CSV
