"""benchmarks/seed_tables_gpu.py at a tiny budget on the CPU: the code path of the GPU run end to
end (2 grid models and a 2-fold CV, 2 epochs each, 240 generated images), an interrupted call
resumed from its archive as a fresh device machine would, the files that come back through
$OUT, and the Markdown docs/results.md takes its tables from."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import write_prepared

from aiducation.experiments.grid import SEED_PRESET
from aiducation.experiments.reference import REPORT_TABLE_2_2
from aiducation.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import seed_tables_gpu  # noqa: E402  (benchmark code)
from _seed_gpu_measure import decide, measure  # noqa: E402
from _seed_gpu_state import DATA_FILES, MIB, base_files, pack_state, unpack_state  # noqa: E402
from _seed_gpu_tables import (  # noqa: E402
    factor_comparison,
    measurements_markdown,
    paired_differences,
    tables_markdown,
)

MODELS = ("B4_N1_FC1_K3_AP4", "B4_N2_FC2_K5_AP4")
TINY = ["--models", *MODELS, "--epochs", "2", "--folds", "2", "--threads", "1", "--device", "cpu",
        "--warmup-steps", "1", "--timed-steps", "1", "--minutes", "5"]  # fmt: skip
DEVICE_IMAGE_LACKS = ("fairlearn", "fastapi", "uvicorn", "supervision", "multipart", "ray",
                      "motmetrics", "selenium", "starlette")  # fmt: skip
TIMING = ["train_minutes"]  # the only columns that differ between identical runs


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_prepared(tmp_path_factory.mktemp("seed_gpu") / "prepared", n_per_class=60)


def call(data: Path, work: Path, out: Path, state: Path | None, *extra: str) -> int:
    state = state or work.parent / "no-state.tar.gz"
    argv = ["run", "--data", str(data), "--work", str(work), "--out", str(out),
            "--state", str(state), "--results", str(work.parent / "no-results"), *TINY,
            *extra]  # fmt: skip
    return seed_tables_gpu.main(argv)


@pytest.fixture(scope="module")
def reference(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted call, two trials at once in spawned processes, run as on the device:
    through the wrapper, in a fresh interpreter that cannot import what the device image lacks."""
    root = tmp_path_factory.mktemp("reference")
    for name in DEVICE_IMAGE_LACKS:
        (root / "stubs" / name).mkdir(parents=True)
        (root / "stubs" / name / "__init__.py").write_text("raise ImportError('not there')\n")
    env = {**os.environ, "PYTHONPATH": str(root / "stubs"), "OUT": str(root / "out"),
           "PYTHON": sys.executable}  # fmt: skip
    argv = ["bash", str(BENCHMARKS / "seed_tables_gpu.sh"), "run", "--data", str(data),
            "--work", str(root / "work"), "--state", str(root / "none.tar.gz"),
            "--results", str(root / "none"), *TINY, "--parallel", "2"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "Table 3.2" in done.stdout and (root / "out" / "seed_tables.log").is_file()
    return root


@pytest.fixture(scope="module")
def resumed(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A call stopped after each trial's first epoch, then a call on a fresh folder that has
    only the first call's archive."""
    root = tmp_path_factory.mktemp("resumed")
    assert call(data, root / "first", root / "out1", None, "--stop-after", "1") == 0
    assert call(data, root / "second", root / "out2", root / "out1" / "state.tar.gz") == 0
    return root


def test_an_interrupted_call_packs_each_trial_after_its_first_epoch(resumed: Path) -> None:
    with tarfile.open(resumed / "out1" / "state.tar.gz") as tar:
        names = set(tar.getnames())
    for model in MODELS:
        run = f"grid/runs/{model}"
        assert f"{run}/checkpoints/resume/state.safetensors" in names
        assert f"{run}/checkpoints/best/model.safetensors" in names
        assert not any(n.startswith(f"{run}/checkpoints/last") for n in names)
        assert f"{run}/result.json" not in names
        assert len(pd.read_csv(resumed / "first" / run / "log.csv")) == 1
    assert "grid/table_2_2.csv" not in names and "seed_tables.json" in names
    call_1 = json.loads((resumed / "first" / "progress.json").read_text())["calls"][0]
    assert set(call_1["status"].values()) == {"paused"}
    assert all(span == [0, 1] for span in call_1["epochs"].values())


def test_the_next_call_resumes_and_matches_an_uninterrupted_run(
    resumed: Path, reference: Path
) -> None:
    first, second, ref = resumed / "first", resumed / "second", reference / "work"
    for model in MODELS:
        log = pd.read_csv(second / "grid" / "runs" / model / "log.csv")
        assert list(log["epoch"]) == [1, 2]
        before = pd.read_csv(first / "grid" / "runs" / model / "log.csv")
        pd.testing.assert_series_equal(log.loc[0], before.loc[0])  # epoch 1 not redone
    for table in ("grid/table_2_2.csv", "kfold/table_3_2.csv"):
        ours, theirs = pd.read_csv(second / table), pd.read_csv(ref / table)
        pd.testing.assert_frame_equal(ours.drop(columns=TIMING), theirs.drop(columns=TIMING))
    oof = "kfold/oof_predictions.csv"
    pd.testing.assert_frame_equal(pd.read_csv(second / oof), pd.read_csv(ref / oof))
    winner = json.loads((second / "grid" / "best_model.json").read_text())["model"]
    assert winner == json.loads((ref / "grid" / "best_model.json").read_text())["model"]
    assert json.loads((second / "kfold" / "kfold.json").read_text())["config"]["model"] == winner
    calls = json.loads((second / "progress.json").read_text())["calls"]
    assert [c["status"][f"grid/{MODELS[0]}"] for c in calls] == ["paused", "finished"]
    assert calls[1]["epochs"][f"grid/{MODELS[0]}"] == [1, 2]


def test_what_comes_back_fits_the_device_tools_limits(resumed: Path, reference: Path) -> None:
    for out in (resumed / "out2", reference / "out"):
        files = [p for p in out.rglob("*") if p.is_file()]
        assert len(files) <= 8 and all(p.stat().st_size <= 16 * MIB for p in files)
        assert all(re.fullmatch(r"[A-Za-z0-9._-]+", p.name) for p in files)
        assert {p.name for p in files} >= {"state.tar.gz", "checkpoints.tar", "tables.md"}
    with tarfile.open(resumed / "out2" / "checkpoints.tar") as tar:
        names = tar.getnames()
    assert any(n.startswith("grid/runs/B4_N2_FC2_K5_AP4/checkpoints/best/") for n in names)
    markdown = (resumed / "out2" / "tables.md").read_text()
    assert all(f"| {m} |" in markdown or f"| **{m}** |" in markdown for m in MODELS)
    assert "Table 3.2: 2-fold CV" in markdown and "| mean |" in markdown
    assert "### Device calls" in markdown and "| 2 | " in markdown  # the second call's row
    assert seed_tables_gpu.main(["tables", "--state", str(resumed / "out2" / "state.tar.gz"),
                                 "--work", str(resumed / "nowhere")]) == 0  # fmt: skip


def test_committed_results_let_a_new_checkout_finish_without_training(
    data: Path, resumed: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    argv = ["export-results", "--state", str(resumed / "out2" / "state.tar.gz"),
            "--results", str(results)]  # fmt: skip
    assert seed_tables_gpu.main(argv) == 0
    files = {str(p.relative_to(results)) for p in results.rglob("*") if p.is_file()}
    assert "grid/table_2_2.csv" in files and "kfold/fold_00/predictions.csv" in files
    assert not any("checkpoints" in f for f in files) and "grid/plots/comparison.png" in files
    trial_plots = [f for f in files if f.endswith(".png") and "/plots/" not in f]
    assert trial_plots == []  # only the grid's and the CV's own plots
    assert "kfold/oof_predictions.csv" not in files
    assert f"grid/runs/{MODELS[0]}/test/predictions.csv" not in files
    argv = ["run", "--data", str(data), "--work", str(tmp_path / "work"), "--state",
            str(tmp_path / "none.tar.gz"), "--results", str(results), *TINY]  # fmt: skip
    assert seed_tables_gpu.main(argv) == 0
    calls = json.loads((tmp_path / "work" / "progress.json").read_text())["calls"]
    assert calls[-1]["status"] == {}  # nothing trained again
    for table in ("kfold/table_3_2.csv", "kfold/oof_predictions.csv", "grid/table_2_2.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "work" / table),
                                      pd.read_csv(resumed / "second" / table))  # fmt: skip


def test_a_state_over_budget_leaves_unfinished_trials_out_whole(
    resumed: Path, tmp_path: Path
) -> None:
    work = resumed / "first"
    base = pack_state(work, tmp_path / "base.tar.gz", 16 * MIB, busy=list(
        (work / "grid" / "runs").iterdir()))  # fmt: skip
    assert base.carried == [] and base.dropped == []  # busy trials are neither
    small = pack_state(work, tmp_path / "small.tar.gz", base.bytes + 1024)
    assert small.carried == [] and sorted(small.dropped) == [f"grid/runs/{m}" for m in MODELS]
    unpack_state(tmp_path / "small.tar.gz", tmp_path / "work")
    assert not (tmp_path / "work" / "grid" / "runs").exists()  # they start again next call
    assert (tmp_path / "work" / "seed_tables.json").is_file()
    assert {p.relative_to(work) for p in base_files(work)} == {
        p.relative_to(tmp_path / "work") for p in (tmp_path / "work").rglob("*") if p.is_file()
    }
    with pytest.raises(ValueError, match="not an experiment folder"):
        unpack_state(tmp_path / "small.tar.gz", BENCHMARKS)


def test_changed_options_on_a_carried_experiment_are_refused(
    data: Path, resumed: Path, capsys
) -> None:
    work = resumed / "second"
    assert call(data, work, resumed / "out3", None, "--epochs", "3") == 2
    assert "epochs: 2 then, 3 now" in capsys.readouterr().err


def test_a_call_without_time_for_an_epoch_starts_nothing(data: Path, tmp_path: Path) -> None:
    assert call(data, tmp_path / "work", tmp_path / "out", None, "--minutes", "0.76") == 0
    calls = json.loads((tmp_path / "work" / "progress.json").read_text())["calls"]
    assert calls[0]["status"] == {} and not list((tmp_path / "work").rglob("log.csv"))
    assert (tmp_path / "out" / "state.tar.gz").is_file()


def test_measure_times_the_variants_and_trials_at_once(data: Path, tmp_path: Path) -> None:
    from aiducation.data.dataset import load_prepared

    config = TrainConfig(**SEED_PRESET, model=MODELS[0], device="cpu", progress=False)
    result = measure(config, load_prepared(data), data, list(MODELS), 1, 1, [1], 0.2,
                     tmp_path, with_compile=False)  # fmt: skip
    assert len(result["variants"]) == 2 * 4 and all(r["images_s"] > 0 for r in result["variants"])
    assert [r["parallel"] for r in result["concurrency"]] == [1]
    assert result["decisions"]["parallel"] == 1 and result["decisions"]["compile"] is False
    (tmp_path / "measure.json").write_text(json.dumps(result))
    markdown = measurements_markdown(tmp_path)
    assert "| B4_N1_FC1_K3_AP4 | package defaults |" in markdown and "Decisions: " in markdown


def test_decide_takes_a_change_only_for_a_measured_gain() -> None:
    def rows(variant: str, *ratios: float, compile_s: float = 30.0) -> list[dict]:
        return [{"model": f"m{i}", "variant": variant, "ratio": r, "images_s": 1000.0 * r,
                 "warmup_s": compile_s} for i, r in enumerate(ratios)]  # fmt: skip

    base = rows("package defaults", 1.0, 1.0)
    variants = [*base, *rows("cuDNN autotune", 1.2, 1.0), *rows("channels-last off", 1.02, 1.03),
                *rows("torch.compile", 1.5, 1.2),
                {"model": "m0", "variant": "bf16 off", "error": "x"}]  # fmt: skip
    concurrency = [{"parallel": p, "images_s": s} for p, s in ((1, 100), (2, 190), (4, 196))]
    decided = decide(variants, concurrency, epochs=100, n_train=12_923)
    assert decided["cudnn_benchmark"] is True  # geometric mean √1.2 = 1.095 ≥ 1.05
    assert decided["channels_last"] is True  # turning it off gains 2.5 % only: kept
    # 100 epochs of 12.9 s save 431 s and 215 s, more than three 30 s compilations
    assert decided["compile"] is True
    assert decided["parallel"] == 2  # the fewest within 5 % of the best (196)
    assert decided["bf16_off_gain"] is None  # its only measurement failed
    slow = [*base, *rows("torch.compile", 1.5, 1.2, compile_s=80.0)]
    assert decide(slow, [], epochs=100, n_train=12_923)["compile"] is False  # 215 s < 240 s
    other = [*base, *rows("channels-last off", 1.3, 0.9), *rows("torch.compile", 1.1, 1.15)]
    decided = decide(other, [], epochs=100, n_train=12_923)
    assert decided["channels_last"] is False  # √(1.3 · 0.9) = 1.08: off is faster
    assert decided["compile"] is False  # √(1.1 · 1.15) = 1.12 < 1.15
    assert decided["parallel"] is None


def test_the_scheduler_keeps_a_trial_whose_state_cannot_travel_inside_one_call(
    data: Path, tmp_path: Path
) -> None:
    import time

    from _seed_gpu_experiment import SETUP_S, Experiment
    from _seed_gpu_trials import Job, Outcome

    from aiducation.experiments.grid import GridTrial

    argv = ["run", "--data", str(data), "--work", str(tmp_path / "work"), "--models", *MODELS,
            "--epochs", "100", "--parallel", "4", "--state-budget-mb", "4",
            "--out", str(tmp_path / "out")]  # fmt: skip
    experiment = Experiment(seed_tables_gpu.build_parser().parse_args(argv), time.time() + 100)
    assert experiment.slowdown(3) == 3.0  # nothing measured: the GPU shared in turns
    experiment.measured = {"concurrency": [{"parallel": 2, "speedup": 1.9},
                                           {"parallel": 4, "speedup": 3.0}]}  # fmt: skip
    assert experiment.slowdown(4) == pytest.approx(4 / 3.0)
    assert experiment.slowdown(3) == pytest.approx(3 / 2.45)  # interpolated
    assert not experiment.carriable(Job("grid", "x", GridTrial(MODELS[0], {"model": MODELS[0]},
                                                              "", ""), "", 0))  # fmt: skip

    def job(name: str) -> Job:
        trial = GridTrial(MODELS[1], {"model": MODELS[1]}, str(data), str(tmp_path / name))
        return Job("grid", name, trial, "", experiment.stop_at)

    experiment.timings = {MODELS[1]: 0.8}  # 80 s alone for 100 epochs: ~107 s beside 3 others
    left = experiment.stop_at - time.time()
    assert SETUP_S + 80 <= left < SETUP_S + 100 * 0.8 * 4 / 3.0
    assert not experiment.admit(job("a"), running=1, queued=2)  # would not finish beside others
    assert experiment.admit(job("a"), running=0, queued=3) and experiment.alone == "a"
    assert not experiment.admit(job("b"), running=1, queued=2)  # nothing joins it
    experiment.report(Outcome("grid", "a", "finished", 0, 100, 80.0), running=[])
    assert experiment.alone is None
    experiment.timings = {MODELS[1]: 0.5}  # 50 s alone, 67 s beside others: both fit
    assert experiment.admit(job("b"), running=1, queued=2) and experiment.alone is None
    experiment.stop_at = time.time() + SETUP_S  # not even an epoch left
    assert not experiment.admit(job("c"), running=0, queued=0)


def test_tables_put_our_grid_beside_the_reports_and_test_its_claims(tmp_path: Path) -> None:
    rows = [{"model": m, "parameters": 1000, "accuracy": a - 0.1, "macro_precision": p,
             "macro_recall": r, "macro_f1": f, "val_accuracy": a - 0.05, "best_epoch": 40}
            for m, (a, r, p, f) in REPORT_TABLE_2_2.items()]  # fmt: skip
    (tmp_path / "grid").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "grid" / "table_2_2.csv", index=False)
    winner = "B16_N8_FC2_K5_AP20"
    (tmp_path / "grid" / "best_model.json").write_text(json.dumps({"model": winner}))
    markdown = tables_markdown(tmp_path)
    assert f"| **{winner}** | 1,000 | 0.5234 |" in markdown and "| 0.6234 |" in markdown
    k5_k3 = paired_differences(pd.DataFrame(rows), "K", 5, 3)
    assert len(k5_k3) == 4  # N4_FC1/N8_FC2 × B16/B32
    report = [REPORT_TABLE_2_2[f"B{b}_{d}_K5_AP20"][0] - REPORT_TABLE_2_2[f"B{b}_{d}_K3_AP20"][0]
              for d in ("N4_FC1", "N8_FC2") for b in (16, 32)]  # fmt: skip
    assert k5_k3 == pytest.approx(report)  # ours are the report's minus 0.1: same differences
    table = factor_comparison(pd.DataFrame(rows))
    assert "| K5 − K3 | 4 |" in table and "| N8_FC2 − N4_FC1 | 6 |" in table


def test_prepare_carry_copies_only_what_training_reads(data: Path, tmp_path: Path) -> None:
    argv = ["prepare-carry", "--from", str(data), "--data", str(tmp_path / "slim"),
            "--state", str(tmp_path / "none" / "state.tar.gz")]  # fmt: skip
    assert seed_tables_gpu.main(argv) == 0
    copied = {p.name for p in (tmp_path / "slim").iterdir()}
    assert copied == {n for n in DATA_FILES if (data / n).is_file()}
    assert (data / "unlabelled.npy").is_file() and "unlabelled.npy" not in copied
