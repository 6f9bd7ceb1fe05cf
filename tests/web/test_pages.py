"""Experiments, Model and serve: result folders found and shown, files served safely,
model card rendered, and the ``aiducation serve`` command's arguments."""

from __future__ import annotations

import re

import pytest
from webworld import local_client

from aiducation.cli import build_parser, main
from aiducation.web.app import WebConfig, create_app
from aiducation.web.experiments import find_entries
from aiducation.web.markdown import markdown_to_html


def test_find_entries_recognises_each_kind(results_dir):
    entries = {e.path: e for e in find_entries(results_dir)}
    assert {p: e.kind for p, e in entries.items()} == {
        "grid": "grid",
        "bias_age": "bias",
        "grid/runs/B16_N8_FC2_K5_AP20": "run",
        "runs/faceresnet_t": "run",
    }
    run = entries["runs/faceresnet_t"]
    assert run.headline["accuracy"] == pytest.approx(0.5432)
    assert run.has_log and "runs/faceresnet_t/test/confusion.png" in run.images
    assert "runs/faceresnet_t/test/predictions.csv" in run.downloads  # linked, not rendered
    assert run.tables == []
    assert entries["grid"].tables == ["grid/table_2_2.csv"]
    assert "grid/report.html" in entries["grid"].reports
    assert entries["grid"].note == "best on validation: B16_N8_FC2_K5_AP20 (val accuracy 0.6000)"
    assert entries["bias_age"].images == ["bias_age/plots/metrics_age.png"]


def test_experiments_list_links_every_entry(client):
    html = client.get("/experiments").text
    assert re.findall(r'href="/experiments/view\?path=([^"]+)"', html) == [
        "grid",
        "bias_age",
        "grid/runs/B16_N8_FC2_K5_AP20",
        "runs/faceresnet_t",
    ]
    assert "0.5432" in html and 'href="/results/grid/report.html"' in html


def test_experiments_list_without_results(tmp_path, stub_analyzer):
    client = local_client(
        create_app(WebConfig(results=str(tmp_path / "none")), analyzer=stub_analyzer)
    )
    assert 'id="no-entries"' in client.get("/experiments").text


def test_run_page_shows_curves_metrics_and_confusion(client):
    html = client.get("/experiments/view", params={"path": "runs/faceresnet_t"}).text
    assert 'id="history"' in html and "0.5432" in html
    assert 'src="/results/runs/faceresnet_t/test/confusion.png"' in html
    curves = client.get("/experiments/history.png", params={"path": "runs/faceresnet_t"})
    assert curves.status_code == 200 and curves.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("name", [r"$\frac{1}{2}$", r"$\sqrt{x}$", r"lr_$x_$", r"$\foo$ $^$"])
def test_run_folders_named_like_mathtext_get_their_curves(client, results_dir, name):
    """Issue 34: a run folder whose name matplotlib parses as mathtext broke its history plot
    (HTTP 500); names are drawn as written."""
    import shutil

    run = results_dir / "runs" / name
    shutil.copytree(results_dir / "runs" / "faceresnet_t", run)
    page = client.get("/experiments/view", params={"path": f"runs/{name}"})
    assert page.status_code == 200
    curves = client.get("/experiments/history.png", params={"path": f"runs/{name}"})
    assert curves.status_code == 200 and curves.content.startswith(b"\x89PNG")


def test_history_title_is_drawn_as_written():
    import pandas as pd

    from aiducation.plots import plot_confusion, plot_history

    log = pd.DataFrame({"epoch": [1, 2], "train_loss": [1, 0.9], "val_loss": [1, 0.9],
                        "val_accuracy": [0.4, 0.5]})  # fmt: skip
    for figure in (plot_history(log, title="$x_$"), plot_confusion([[1, 0], [0, 1]], "ab", "$^$")):
        assert figure.get_suptitle() in ("$x_$", "$^$")
        assert not figure._suptitle.get_parse_math()
        figure.canvas.draw()  # would raise ValueError from the mathtext parser


@pytest.mark.parametrize(
    "log",
    [
        "epoch\n1\n",  # no losses yet
        "epoch,train_loss,val_loss,val_accuracy\n1,1.2,1.3,\n",  # no accuracy yet
        "epoch,train_loss,val_loss,val_accuracy\nx,y,z,w\n",  # damaged
    ],
)
def test_history_of_an_incomplete_log_is_not_found_not_an_error(client, results_dir, log):
    (results_dir / "runs" / "faceresnet_t" / "log.csv").write_text(log)
    curves = client.get("/experiments/history.png", params={"path": "runs/faceresnet_t"})
    assert curves.status_code == 404


def test_grid_and_bias_pages_render_tables_and_reports(client):
    grid = client.get("/experiments/view", params={"path": "grid"}).text
    assert "B16_N8_FC2_K5_AP20" in grid and "0.6234" in grid
    assert 'src="/results/grid/plots/comparison.png"' in grid
    inside = grid[grid.index('id="inside"') :]
    assert 'href="/experiments/view?path=grid/runs/B16_N8_FC2_K5_AP20">runs/B16_N8' in inside
    bias = client.get("/experiments/view", params={"path": "bias_age"}).text
    assert "<h1>Bias analysis</h1>" in bias and "<strong>lower</strong>" in bias
    assert "0.709" in bias and "child" in bias


def test_result_files_are_served_only_inside_the_results_folder(client):
    assert client.get("/results/grid/table_2_2.csv").text.startswith("model,accuracy")
    assert client.get("/results/grid/report.html").headers["content-type"].startswith("text/html")
    for bad in (
        "/results/../conftest.py",
        "/results/%2e%2e/%2e%2e/etc/passwd",
        "/results/secret.npy",
    ):
        assert client.get(bad).status_code == 404
    assert client.get("/experiments/view", params={"path": "../.."}).status_code == 404
    assert client.get("/experiments/view", params={"path": "empty_folder"}).status_code == 404
    assert client.get("/experiments/history.png", params={"path": "grid"}).status_code == 404


def test_model_page_shows_checkpoint_and_card(client, checkpoint_dir):
    html = client.get("/model").text
    assert str(checkpoint_dir) in html and "faceresnet_t" in html
    assert "<h1>Test model card</h1>" in html and "<td>0.25</td>" in html
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_model_page_explains_a_missing_model(tmp_path, stub_analyzer):
    config = WebConfig(model=str(tmp_path / "nothing"))
    html = local_client(create_app(config, analyzer=stub_analyzer)).get("/model").text
    assert 'id="model-error"' in html and "no checkpoint" in html


def test_markdown_renderer_escapes_and_links():
    html = str(markdown_to_html("# T\n\nSee [docs](https://x.org) and `a<b`.\n\n1. one\n2. two"))
    assert '<a href="https://x.org">docs</a>' in html and "<code>a&lt;b</code>" in html
    assert "<ol><li>one</li><li>two</li></ol>" in html
    assert "<a" not in str(markdown_to_html("[x](javascript:alert(1))"))
    wrapped = str(markdown_to_html("- first item\n  goes on\n- second\n\nAfter."))
    assert wrapped == "<ul><li>first item goes on</li><li>second</li></ul>\n<p>After.</p>"


def test_serve_arguments_default_to_localhost():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.results) == ("127.0.0.1", 8000, "runs")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["serve", "--port", "0"], "--port"),
        (["serve", "--max-upload-mb", "0"], "--max-upload-mb"),
        (["serve", "--max-megapixels", "0"], "--max-megapixels must be positive"),
    ],
)
def test_serve_rejects_bad_arguments(argv, words, capsys):
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_serve_builds_the_app_and_binds_localhost(monkeypatch, tmp_path, capsys):
    import uvicorn

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app, **kw))
    argv = ["serve", "--port", "8765", "--results", str(tmp_path), "--max-upload-mb", "5"]
    assert main([*argv, "--max-megapixels", "2.5"]) == 0
    assert (calls["host"], calls["port"]) == ("127.0.0.1", 8765)
    config = calls["app"].state.web.config
    assert config.results == str(tmp_path) and config.max_upload_bytes == 5 * 2**20
    assert config.max_pixels == 2_500_000
    assert "http://127.0.0.1:8765/" in capsys.readouterr().out


def test_model_page_shows_the_test_score_of_a_run_checkpoint(
    results_dir, checkpoint_dir, stub_analyzer
):
    import shutil

    best = results_dir / "runs" / "faceresnet_t" / "checkpoints" / "best"
    shutil.rmtree(best)
    shutil.copytree(checkpoint_dir, best)
    config = WebConfig(model=str(results_dir / "runs" / "faceresnet_t"))
    html = local_client(create_app(config, analyzer=stub_analyzer)).get("/model").text
    assert str(best) in html
    assert re.search(r'id="model-test">\s*accuracy 0.5432', html)


def test_kfold_and_mitigation_folders(tmp_path):
    kfold = tmp_path / "kfold"
    (kfold / "fold_00").mkdir(parents=True)
    (kfold / "kfold.json").write_text("{}")
    (kfold / "table_3_2.csv").write_text("fold,accuracy\n0,0.64\nmean,0.642\n")
    (kfold / "oof_metrics.json").write_text('{"accuracy": 0.642, "macro_f1": 0.63}')
    (kfold / "oof_predictions.csv").write_text("image_name,y_true\na,0\n")
    (kfold / "fold_00" / "config.json").write_text("{}")
    (kfold / "fold_00" / "log.csv").write_text(
        "epoch,train_loss,val_loss,val_accuracy\n1,1,1,0.5\n"
    )
    mitigation = tmp_path / "mitigate"
    (mitigation / "report" / "plots").mkdir(parents=True)
    (mitigation / "mitigate.json").write_text("{}")
    (mitigation / "report" / "table_3_4.csv").write_text("group,before,after\nchild,0.709,0.751\n")
    (mitigation / "report" / "report.md").write_text("# Mitigation\n")
    (mitigation / "report" / "plots" / "deltas.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    entries = {e.path: e for e in find_entries(tmp_path)}
    assert {p: e.kind for p, e in entries.items()} == {
        "kfold": "kfold",
        "mitigate": "mitigation",
        "kfold/fold_00": "run",
    }
    assert entries["kfold"].headline == {"accuracy": 0.642, "macro_f1": 0.63}
    assert entries["kfold"].tables == ["kfold/table_3_2.csv"]
    assert entries["kfold"].downloads == ["kfold/oof_predictions.csv"]
    assert entries["mitigate"].tables == ["mitigate/report/table_3_4.csv"]
    assert entries["mitigate"].images == ["mitigate/report/plots/deltas.png"]
    assert entries["mitigate"].reports == ["mitigate/report/report.md"]


def test_pages_use_local_assets_only(client, photo_bytes):
    """Works offline: every src/href on every page is local (or inline data)."""
    pages = [client.get(p).text for p in ("/analyze", "/experiments", "/model", "/annotate")]
    pages.append(client.get("/experiments/view", params={"path": "runs/faceresnet_t"}).text)
    pages.append(client.post("/analyze", files={"file": ("a.jpg", photo_bytes)}).text)
    links = [u for html in pages for u in re.findall(r'(?:src|href)="([^"]*)"', html)]
    assert links and all(u.startswith(("/", "data:", "#", "javascript:")) for u in links), [
        u for u in links if not u.startswith(("/", "data:", "#", "javascript:"))
    ]


def test_aiducation_serve_starts_a_real_server(tmp_path):
    """The installed command binds 127.0.0.1, serves the pages, and stops on SIGTERM."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "aiducation", "serve", "--port", str(port),
               "--results", str(tmp_path)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/experiments") as response:
                    assert response.status == 200 and b"No results yet" in response.read()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in output


def test_model_page_of_the_bundled_model():
    """With no --model the page describes the bundled model (skips while none is bundled)."""
    from aiducation.models.checkpoint import bundled_model_dir

    if not (bundled_model_dir() / "model.json").is_file():
        pytest.skip("no bundled model in src/aiducation/assets/model yet")
    html = local_client(create_app(WebConfig())).get("/model").text
    assert str(bundled_model_dir()) in html and 'id="model-error"' not in html
    assert "<h1>Model card" in html
    if (bundled_model_dir() / "test_metrics.json").is_file():
        assert re.search(r'id="model-test">\s*accuracy 0\.\d{4}', html)


def test_experiments_page_shows_gender_bias_tables_and_table_3_4(web_config, stub_analyzer):
    """A real `bias` output with age and gender, and a mitigation folder, under the results."""
    from tests.fairness.fairworld import write_age_gender_outputs

    write_age_gender_outputs(web_config.results, seed=1)
    client = local_client(create_app(web_config, analyzer=stub_analyzer))
    bias = client.get("/experiments/view", params={"path": "bias_gender"}).text
    assert "female" in bias and "age × gender" in bias
    assert "decomposition.csv" in bias and "other_rates.csv" in bias and "other_gaps.csv" in bias
    table = client.get("/experiments/view", params={"path": "mitigate_gender"}).text
    assert "table_3_4.csv" in table and "0.6345" in table


def test_a_table_shows_the_values_our_csv_writer_escaped(results_dir):
    import pandas as pd

    from aiducation.csvfiles import to_csv
    from aiducation.web.experiments import read_table

    to_csv(pd.DataFrame({"group": ["=1+1", "adult"], "n": [3, 4]}), results_dir / "groups.csv")
    assert "'=1+1" in (results_dir / "groups.csv").read_text()  # escaped for spreadsheets
    table = read_table(results_dir, "groups.csv")
    assert table.rows == [["=1+1", 3], ["adult", 4]]  # shown as the study wrote it


def test_the_web_and_inference_never_import_training():
    from pathlib import Path

    import aiducation

    package = Path(aiducation.__file__).parent
    for folder in ("web", "inference"):
        for source in (package / folder).rglob("*.py"):
            assert "aiducation.training" not in source.read_text(), source
