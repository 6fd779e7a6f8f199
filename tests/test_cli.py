"""Tests for the ``mlplab`` command: ``train`` in-process (--json, --out) and as a subprocess
(the default digits run reaches 95% test accuracy), and argument errors."""

import json
import re
import subprocess
import sys

import pytest

from mlplab import cli


def test_train_json_prints_one_object(capsys):
    assert cli.main(["train", "--epochs", "3", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert result["dataset"] == "digits" and result["epochs"] == 3
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["test_accuracy"] > 0.5
    assert result["train_seconds"] >= 0.0
    assert result["layers"] == [64, 128, 64, 10]


def test_train_small_problem_and_out_writes_the_loss_curve(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        cli.main(["train", "--dataset", "circle", "--layers", "8", "--epochs", "2", "--json", "--out", str(out)]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    png = out / "loss.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["loss_curve"] == str(png)
    history = json.loads((out / "history.json").read_text())
    assert len(history["history"]["loss"]) == 2


def test_train_regression_reports_r2(capsys):
    assert cli.main(["train", "--dataset", "diabetes", "--layers", "8", "--epochs", "2", "--lr", "0.01"]) == 0
    assert re.search(r"test R\^2: -?\d+\.\d{4}, RMSE \d+\.\d\d", capsys.readouterr().out)


def test_default_train_run_in_a_subprocess_reaches_95_percent():
    proc = subprocess.run([sys.executable, "-m", "mlplab.cli", "train"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"test accuracy: (\d\.\d+)", proc.stdout)
    assert m, proc.stdout
    assert float(m.group(1)) >= 0.95


@pytest.mark.parametrize("layers", ["64,x", "0", "64,-3"])
def test_bad_layers_is_an_argparse_error(layers, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--layers", layers])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--layers" in err and layers in err


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["train", "--epochs", "0"], "expected a value > 0, got '0'"),
        (["train", "--lr", "fast"], "expected a float, got 'fast'"),
        (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["train", "--activation", "swish"], "--activation must be one of"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_other_argument_errors(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: mlplab" in capsys.readouterr().out
