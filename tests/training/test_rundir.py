"""The run-directory layout has one owner (aiducation.rundir) and keeps its names on disk."""

from pathlib import Path

import pytest

from aiducation.models.checkpoint import MODEL_CONFIG_FILE
from aiducation.rundir import MARKERS, RUN_CONFIG_FILE, RunDir, in_run


def test_the_names_on_disk_stay_those_of_older_runs() -> None:
    run = RunDir("runs/a")  # a str is taken as a path
    assert run.path == Path("runs/a")
    assert run.config == Path("runs/a/config.json")
    assert run.log == Path("runs/a/log.csv")
    assert run.split == Path("runs/a/split.csv")
    assert run.result == Path("runs/a/result.json")
    assert run.history_plot == Path("runs/a/plots/history.png")
    assert run.evaluation("test") == Path("runs/a/test")
    for name in ("best", "last", "resume"):
        assert run.checkpoint(name) == Path("runs/a/checkpoints") / name
    assert run.checkpoint() == run.checkpoint("best")
    assert MARKERS == {"grid.json": "grid", "kfold.json": "kfold", "mitigate.json": "mitigation"}
    # the run's config and a checkpoint's config are two files with two names
    assert (RUN_CONFIG_FILE, MODEL_CONFIG_FILE) == ("config.json", "model.json")


def test_a_checkpoint_name_outside_the_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of best, last, resume"):
        RunDir("r").checkpoint("bset")


def test_the_run_of_a_checkpoint(tmp_path: Path) -> None:
    best = RunDir(tmp_path / "run").checkpoint("best")
    assert in_run(best) and RunDir.of_checkpoint(best) == RunDir(tmp_path / "run")
    alone = tmp_path / "exported"  # a checkpoint outside a run: its own folder
    assert not in_run(alone) and RunDir.of_checkpoint(alone).path == alone
    assert RunDir(tmp_path / "run").read_config() is None
    RunDir(tmp_path / "run").path.mkdir()
    RunDir(tmp_path / "run").config.write_text('{"train": {}}')
    assert RunDir.of_checkpoint(best).read_config() == {"train": {}}
