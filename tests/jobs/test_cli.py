import pytest

from medialake.jobs.cli import main, parser


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "ingest" in out and "search" in out


@pytest.mark.parametrize("cmd,opts", [("ingest", ["--db", "--profile", "--config", "--full"]),
                                      ("search", ["--db", "--type", "--limit", "--json"])])
def test_subcommand_help_describes_options(cmd, opts, capsys):
    with pytest.raises(SystemExit):
        main([cmd, "--help"])
    out = capsys.readouterr().out
    assert all(o in out for o in opts)


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "missing"), "--db", str(tmp_path / "db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", "x", "--db", str(tmp_path / "empty")]) == 2
    assert "run `medialake ingest" in capsys.readouterr().err


def test_parser_builds():
    assert parser().prog == "medialake"
