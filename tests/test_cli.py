"""The command line: every subcommand has help, errors are one clear line."""

import pytest

from aiducation.cli import build_parser, main


def test_help_lists_commands(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "COMMAND" in capsys.readouterr().out


def test_each_subcommand_has_help() -> None:
    parser = build_parser()
    names = parser._subparsers._group_actions[0].choices
    for name in names:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0


def test_percent_signs_in_help_print_once(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["bias", "--help"])
    out = capsys.readouterr().out
    assert "95% CIs" in out and "%%" not in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "%%" not in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["analyze"], ["serve"]])
def test_help_names_all_five_answers(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    """The four learning states and Other (a face outside them) are named in --help."""
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for state in ("Angry", "Bored", "Focused", "Neutral", "Other"):
        assert state in out, (argv, state)
