"""Tests for the ``mlplab`` command: ``train`` in-process (--json, --out, --quiet) and as a
subprocess (the default digits run reaches 95% test accuracy), diabetes against a linear
regression on the same split, the help texts (every option's default, each experiment's own
options) and argument errors, refused before any training."""

import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import mlplab
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


@pytest.mark.parametrize("layers", ["64,x", "0", "64,-3", "64,,32", "64,"])
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
        (["train", "--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
        (["train", "--seed", "-1"], "argument --seed: expected a value >= 0, got '-1'"),
        (["train", "--weight-decay", "-0.1"], "argument --weight-decay: expected a value >= 0, got '-0.1'"),
        (["lab", "bogus"], "invalid choice: 'bogus'"),
        (["lab", "dropout", "--quick", "--p", "1.5"], "mlplab lab dropout: error: p must be a number in (0, 1)"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["lr-find", "--steps", "1"], "argument --steps: expected a value in [3, 1000000], got '1'"),
    ],
)
def test_other_argument_errors(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: mlplab" in capsys.readouterr().out


def _train_parser():
    (sub,) = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices["train"]


def _help(argv, capsys):
    """The text of ``mlplab ARGV --help``, whitespace collapsed (argparse wraps lines)."""
    with pytest.raises(SystemExit) as e:
        cli.main([*argv, "--help"])
    assert e.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def _option_help(action):
    """An action's help as --help prints it, whitespace collapsed."""
    return " ".join((action.help % {"default": action.default}).split())


def test_every_train_option_has_a_help_text_with_its_default(capsys):
    text = _help(["train"], capsys)
    actions = [a for a in _train_parser()._actions if a.dest != "help"]
    assert {"--dataset", "--activation", "--quiet", "--json", "--out"} <= {s for a in actions for s in a.option_strings}
    for a in actions:
        shown = _option_help(a)
        assert shown in text, a.dest
        m = re.search(r"\(default: ([^)]+)\)", shown)
        assert m, f"{a.option_strings}: no default in {shown!r}"
        if a.default not in (None, False):
            assert m.group(1).startswith(str(a.default)), (a.dest, m.group(1))
    assert "targets are standardized" in text and "Inputs are standardized" in text


def _run_json(argv, capsys):
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_defaults_the_help_states_are_the_ones_a_run_uses(capsys):
    helps = {a.dest: _option_help(a) for a in _train_parser()._actions}

    def stated(dest, task):  # "(default: X; regression: Y)" -> X or Y
        m = re.search(r"\(default: ([^;]+); regression: ([^)]+)\)", helps[dest])
        return m.group(1 if task == "classification" else 2)

    for dataset, task, n_in, n_out in (("digits", "classification", 64, 10), ("diabetes", "regression", 10, 1)):
        r = _run_json(["train", "--dataset", dataset], capsys)
        widths = [int(w) for w in stated("layers", task).split(",")]
        assert r["layers"] == [n_in, *widths, n_out]
        assert r["optimizer"] == stated("optimizer", task)
        assert r["epochs"] == int(stated("epochs", task))
        assert r["weight_decay"] == float(stated("weight_decay", task))
        assert r["batch_size"] == 32 and r["activation"] == "relu"
        if r["optimizer"] == "sgd":
            lr = re.search(r"default: (\S+) with sgd", helps["lr"]).group(1)
        else:
            lr = re.search(rf"\b{r['optimizer']} ([0-9.e-]+)[,)]", helps["lr"]).group(1)
        assert r["lr"] == float(lr)
    sgd = _run_json(["train", "--dataset", "diabetes", "--optimizer", "sgd", "--epochs", "1"], capsys)
    assert sgd["lr"] == float(re.search(r"regression: (\S+);", helps["lr"]).group(1))


def _no_training(monkeypatch):
    """Make any construction of a network fail the test: nothing may be trained."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built: training started")

    monkeypatch.setattr(cli, "MLP", refuse)
    monkeypatch.setattr(cli.lab_mod, "run_and_save", refuse)


def test_softmax_is_refused_as_a_hidden_activation(monkeypatch, capsys):
    assert "softmax" in mlplab.activations.ACTIVATIONS  # a real activation, refused for hidden layers
    _no_training(monkeypatch)
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--activation", "softmax"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --activation: 'softmax' is an output activation, not a hidden one" in err


def test_every_listed_hidden_activation_trains(capsys):
    (action,) = [a for a in _train_parser()._actions if a.dest == "activation"]
    assert "relu" in action.choices and "softmax" not in action.choices
    for name in action.choices:
        r = _run_json(["train", "--dataset", "xor", "--layers", "4", "--epochs", "1", "--activation", name], capsys)
        assert r["activation"] == name and 0.0 <= r["test_accuracy"] <= 1.0


@pytest.mark.parametrize("argv", [["train"], ["lab", "optimizers"]])
def test_out_an_existing_file_is_refused_before_training(argv, tmp_path, monkeypatch, capsys):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"keep me")
    _no_training(monkeypatch)
    with pytest.raises(SystemExit) as e:
        cli.main([*argv, "--out", str(path)])
    assert e.value.code == 2
    assert f"argument --out: expected a folder (created if missing), got the existing file '{path}'" in (
        capsys.readouterr().err
    )
    assert path.read_bytes() == b"keep me"


@pytest.mark.parametrize("argv", [["train"], ["lab", "optimizers"], ["lr-find"]])
def test_out_a_folder_that_cannot_be_made_is_refused_before_training(argv, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    _no_training(monkeypatch)
    with pytest.raises(SystemExit) as e:
        cli.main([*argv, "--out", str(blocker / "sub")])
    assert e.value.code == 2
    assert f"argument --out: cannot create the folder '{blocker / 'sub'}': Not a directory" in capsys.readouterr().err


def test_divergence_is_an_error_message_not_a_traceback(capsys):
    argv = ["train", "--dataset", "xor", "--layers", "4", "--epochs", "2", "--lr", "1e30", "--quiet"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlplab train: error: ") and "diverged" in err and "Traceback" not in err


def test_a_file_that_cannot_be_written_is_an_error_message(tmp_path, monkeypatch, capsys):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "model.mlp"))

    monkeypatch.setattr(cli.io, "atomic_open", no_space)
    assert cli.main(["train", "--dataset", "xor", "--layers", "4", "--epochs", "1", "--out", str(tmp_path)]) == 1
    assert f"mlplab train: error: [Errno 28] No space left on device: '{tmp_path / 'model.mlp'}'" in (
        capsys.readouterr().err
    )


def test_a_closed_pipe_stops_quietly():
    """mlplab ... | head: the reader leaves; no BrokenPipeError traceback."""
    # a megabyte of output: more than a pipe holds, so the write meets the closed pipe
    code = "import sys, mlplab.cli as c; c._run = lambda p, a: print('x' * 2**20) or 0; sys.exit(c.main(['lab']))"
    proc = subprocess.run(
        f'{sys.executable} -c "{code}" | head -c 10',
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(proc.stdout) == 10 and "Traceback" not in proc.stderr, proc.stderr


def test_playground_help_describes_the_command(capsys):
    assert "Serve the playground" in _help(["playground"], capsys)


def test_lr_find_help_says_what_data_it_runs_on(capsys):
    text = _help(["lr-find"], capsys)
    assert "The range test runs on the training split, 80% of the data" in text and "R^2" not in text


def test_run_and_save_refuses_an_existing_file_before_running(tmp_path, monkeypatch):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"keep me")
    monkeypatch.setattr(mlplab.lab.get("dropout"), "run", lambda **kw: pytest.fail("the experiment ran"))
    with pytest.raises(mlplab.ArgumentError, match="out must be a folder"):
        mlplab.lab.run_and_save("dropout", out=path, quick=True)
    assert path.read_bytes() == b"keep me"


def test_quiet_prints_only_the_result(capsys):
    argv = ["train", "--dataset", "circle", "--layers", "8", "--epochs", "2"]
    assert cli.main(argv) == 0
    loud = capsys.readouterr()
    assert "epoch 2/2" in loud.err  # without --quiet, a progress bar per epoch
    assert cli.main([*argv, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""
    assert re.fullmatch(r"test accuracy: \d\.\d{4}  \(circle, 2 epochs, \d+\.\d s\)\n", quiet.out)


@pytest.mark.parametrize("name", sorted(mlplab.lab.available()))
def test_lab_name_help_shows_the_experiments_own_options(name, capsys):
    mod = mlplab.lab.get(name)
    probe = argparse.ArgumentParser(add_help=False)
    mod.add_arguments(probe)
    own = list(probe._actions)
    assert own, f"{name} has no options of its own"
    text = _help(["lab", name], capsys)
    assert text.startswith(f"usage: mlplab lab {name} ")
    assert " ".join(mod.__doc__.split()) in text  # what the experiment does
    for a in own:
        shown = _option_help(a)
        assert a.option_strings[0] in text and shown in text, (name, a.dest)
        assert "default" in shown, (name, a.dest)
    for common in ("--out DIR", "--seed SEED", "--quick"):
        assert common in text


def test_lab_lists_the_experiments_and_how_to_see_their_options(capsys):
    assert cli.main(["lab"]) == 0
    out = capsys.readouterr().out
    assert "mlplab lab NAME --help" in out
    for name in mlplab.lab.available():
        assert f"\n  {name} " in out


def test_lab_options_reach_the_experiment_as_the_readme_writes_them(tmp_path, capsys):
    """README: ``mlplab lab NAME --out DIR`` (``--quick``, ``--seed S``), ``--dataset digits``."""
    argv = ["lab", "optimizers", "--dataset", "digits", "--out", str(tmp_path), "--quick", "--seed", "3"]
    assert cli.main([*argv, "--epochs", "1", "--lrs", "0.01"]) == 0
    data = json.loads((tmp_path / "optimizers.json").read_text())
    assert data["dataset"] == "digits" and data["quick"] is True and data["seed"] == 3
    assert data["epochs"] == 1 and data["lrs"] == [0.01]
    assert "optimizers.json" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [0, 1])
def test_diabetes_matches_a_linear_regression_on_the_same_split(seed, monkeypatch, capsys):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    built = []

    class Recorded(cli.MLP):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(cli, "MLP", Recorded)
    r = _run_json(["train", "--dataset", "diabetes", "--seed", str(seed)], capsys)
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed)
    linear = r2_score(yte, LinearRegression().fit(Xtr, ytr).predict(Xte))
    assert r["test_r2"] >= linear - 0.05, (r["test_r2"], linear)
    # the reported R^2 is the trained network's on that split: inputs standardized on the
    # training rows, predictions of the standardized target mapped back to the data's units
    assert r["standardized"] == ["inputs", "targets"]
    (model,) = built
    pred = model.predict(StandardScaler().fit(Xtr).transform(Xte))[:, 0] * ytr.std() + ytr.mean()
    assert r["test_r2"] == pytest.approx(r2_score(yte, pred), abs=1e-9)
    assert r["test_rmse"] == pytest.approx(np.sqrt(np.mean((yte - pred) ** 2)), rel=1e-9)


def test_train_into_a_file_writes_one_line_per_epoch(tmp_path):
    """Not on a terminal (here a log file), the progress is one plain line per epoch."""
    log = tmp_path / "train.log"
    with open(log, "w") as f:
        subprocess.run(
            [sys.executable, "-m", "mlplab.cli", "train", "--epochs", "3"],
            stdout=f,
            stderr=subprocess.STDOUT,
            check=True,
        )
    text = log.read_text()
    assert "\r" not in text
    lines = text.splitlines()
    assert [line.split(" ")[:2] for line in lines[:3]] == [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    assert lines[3].startswith("test accuracy:") and len(lines) == 4
