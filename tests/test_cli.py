"""The command line beyond `book`: train-ntp / train-rl (jsonargparse on the config dataclasses),
and `book -p NAME VALUE` (the chapters' knobs, checked before any chapter runs)."""

import pytest
import yaml

from companion.__main__ import main
from companion.experiments.rl_after_ntp import start_config
from companion.profiles import CPU, TINY

# a tiny NTP run: well under a second (the end-to-end test stays in the unit tier)
FAST_NTP = ["--train.steps", "4", "--train.eval_every", "2", "--eval.n_prompts", "20"]


def printed_config(capsys, argv) -> dict:
    assert main(argv + ["--print_config"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_defaults_are_the_profiles_headline_runs(capsys):
    cfg = printed_config(capsys, ["train-ntp"])  # default profile: cpu
    assert cfg["profile"] == "cpu" and cfg["task"] == {"d": 50, "p_cot": 0.25, "leap": 1,
                                                            "chain": "running"}
    assert cfg["train"]["steps"] == CPU.headline.train.steps
    cfg = printed_config(capsys, ["train-rl", "--profile", "tiny"])
    assert cfg["rl"]["steps"] == TINY.rl_after_ntp.rl.steps and cfg["rl"]["algorithm"] == "grpo"
    assert cfg["start"]["train"]["steps"] == start_config(TINY).train.steps
    assert cfg["start_step"] == start_config(TINY).train.steps  # its final model


def test_block_size_and_checkpoints_follow_d_and_steps_unless_given(capsys):
    cfg = printed_config(capsys, ["train-ntp", "--profile", "tiny", "--task.d", "20", "--train.steps", "15"])
    assert cfg["model"]["block_size"] == 42 and cfg["train"]["checkpoint_steps"] == [10]
    cfg = printed_config(capsys, ["train-ntp", "--profile", "tiny", "--model.block_size", "64",
                                  "--train.checkpoint_steps", "[3]"])
    assert cfg["model"]["block_size"] == 64 and cfg["train"]["checkpoint_steps"] == [3]


def test_a_config_file_round_trips_through_print_config(capsys, tmp_path):
    cfg = printed_config(capsys, ["train-rl", "--profile", "tiny", "--rl.steps", "3",
                                  "--start.task.d", "14", "--rl.algorithm", "star"])
    path = tmp_path / "rl.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # the file alone gives the same run; its profile gives the defaults of what it leaves out
    assert printed_config(capsys, ["train-rl", "--config", str(path)]) == cfg
    path.write_text(yaml.safe_dump({"profile": "tiny", "rl": {"steps": 3}}))
    again = printed_config(capsys, ["train-rl", "--config", str(path)])
    assert again["rl"]["steps"] == 3 and again["start"]["task"]["d"] == TINY.headline.task.d
    # a flag after the file overrides it
    assert printed_config(capsys, ["train-rl", "--config", str(path), "--rl.steps", "5"])["rl"]["steps"] == 5


@pytest.mark.parametrize("argv,message", [
    (["train-ntp", "--task.d", "1"], "error: invalid d=1: must be an integer in [2, 512]."),
    (["train-ntp", "--task.p_cot", "2"], "error: invalid p_cot=2.0: must be a number in [0.0, 1.0]."),
    (["train-ntp", "--task.d", "abc"], 'error: Parser key "task.d"'),
    (["train-ntp", "--task.dd", "3"], "error: unrecognized arguments: --task.dd 3"),
    (["train-ntp", "--profile", "huge"], "error: invalid profile='huge': must be one of"),
    (["train-rl", "--profile", "tiny", "--rl.G", "1"], "error: invalid G=1: must be >= 2 for grpo"),
    (["train-rl", "--profile", "tiny", "--start_step", "7"], "error: invalid step=7: must be one of "
                                                             "the start run's checkpoints [10, 20, 30]."),
])
def test_bad_values_exit_2_naming_the_field(argv, message, capsys, isolated_cache):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not isolated_cache.exists()  # refused before anything was trained


def test_help_lists_the_fields(capsys):
    assert main(["train-ntp", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--task.d", "--train.steps", "--config", "--print_config", "--profile"):
        assert flag in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train-ntp" in capsys.readouterr().out


def metrics(out: str) -> dict[str, dict[str, float]]:
    rows = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] in ("greedy", "sampled"):
            # "greedy   accuracy 0.500  mean length 1.00  long fraction 0.000"
            rows[words[0]] = {"accuracy": float(words[2]), "mean_len": float(words[5]),
                              "long_frac": float(words[8])}
    return rows


def test_train_ntp_then_rl_from_it_end_to_end(capsys, isolated_cache):
    assert main(["train-ntp", "--profile", "tiny", *FAST_NTP]) == 0
    out = capsys.readouterr().out
    folder = out.splitlines()[0].removeprefix("cached in ")
    assert folder.startswith(str(isolated_cache / "ntp-"))
    assert (isolated_cache / folder.rsplit("/", 1)[1] / "history.csv").is_file()
    m = metrics(out)
    assert set(m) == {"greedy", "sampled"} and 0 <= m["greedy"]["accuracy"] <= 1
    # the same run again is read from the cache: same folder, same numbers
    assert main(["train-ntp", "--profile", "tiny", *FAST_NTP]) == 0
    assert capsys.readouterr().out == out

    start = [f"--start.{a[2:]}" if a.startswith("--") else a for a in FAST_NTP]
    assert main(["train-rl", "--profile", "tiny", *start, "--rl.steps", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cached in {isolated_cache / 'rl-'}")
    assert set(metrics(out)) == {"greedy", "sampled"}
    # RL started from the NTP run above: no second NTP run in the cache
    assert len(list(isolated_cache.glob("ntp-*"))) == 1


def test_book_params_are_checked_then_passed(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("companion.run.build_book", lambda *a, **k: calls.append(k["params"]))
    assert main(["book", "--profile", "tiny", "-p", "p_cot", "0.2", "-p", "rl_seeds", "[0, 1]"]) == 0
    assert calls == [{"p_cot": 0.2, "rl_seeds": [0, 1]}]
    assert main(["book", "--profile", "tiny"]) == 0
    assert calls[-1] is None  # no knobs: the chapters' defaults


@pytest.mark.parametrize("argv,message", [
    (["-p", "p_kot", "0.2"], "error: invalid p_kot=0.2: is not a parameter of the selected chapters"),
    (["--chapters", "5", "-p", "p_cot", "0.2"], "invalid p_cot=0.2: is not a parameter of the selected "
                                                "chapters 05_linear; accepted: linear_d, linear_seeds."),
    (["-p", "p_cot", "1.5"], "error: invalid p_cot=1.5: must be a number in [0.0, 1.0]."),
    (["-p", "sweep_seeds", "3"], "error: invalid sweep_seeds=3: must be a non-empty list"),
    (["-p", "ntp_steps", "5"], "error: invalid ntp_steps=5: must be an integer > 10 under profile 'tiny'"),
    (["-p", "profile", "cpu"], "error: invalid profile='cpu': is set with --profile, not -p."),
])
def test_bad_book_params_exit_2_before_any_chapter(argv, message, monkeypatch, capsys):
    monkeypatch.setattr("companion.run.build_book", lambda *a, **k: pytest.fail("a chapter ran"))
    assert main(["book", "--profile", "tiny", *argv]) == 2
    assert message in capsys.readouterr().err


def test_list_shows_each_chapters_knobs(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "02_ntp         d, p_cot, ntp_steps, sweep_steps, sweep_seeds" in out
    assert "linear_d" in out and "worded_p_cot" in out
