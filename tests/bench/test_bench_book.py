"""companion/bench/book.py: the book's FLOPs counted run by run, its seconds, and its MFU."""

import dataclasses
import json

import pandas as pd
import pytest

from companion import cache
from companion.bench import book
from companion.flops import generate_flops, mixture_train_flops, train_flops
from companion.profiles import get_profile
from companion.run import BOOK_ROW, RUNS_ROW
from companion.task import VOCAB_SIZE, ParityMixture
from companion.train import rl_run

TINY = get_profile("tiny")


def test_the_book_runs_are_every_run_of_chapters_2_to_4_each_once():
    runs = book.book_runs("tiny")
    keys = [(r.kind, r.key) for r in runs]
    assert len(keys) == len(set(keys))
    assert {r.kind for r in runs} == {"ntp", "ntp-continue", "rl", "probe"}
    assert ("ntp", TINY.headline) in keys  # a run other runs need is listed too


def test_an_ntp_run_counts_its_steps_and_each_evaluation_by_how_far_it_decoded(tmp_path):
    cfg, task = TINY.headline, ParityMixture(TINY.headline.task)
    pd.DataFrame([{"step": 0, "decoding": "greedy", "long_frac": 0.0, "malformed_frac": 0.0},
                  {"step": 0, "decoding": "sampled", "long_frac": 0.1, "malformed_frac": 0.0}]
                 ).to_csv(tmp_path / "history.csv", index=False)
    got = book.counted("ntp", cfg, tmp_path)
    assert got["training"] == mixture_train_flops(
        cfg.model, VOCAB_SIZE, cfg.train.steps * cfg.train.batch_size, task.prompt_len,
        task.chain_len, cfg.task.p_cot)
    n = cfg.eval.n_prompts
    assert got["evaluation"] == pytest.approx(  # all short: two tokens; one long: the chain
        generate_flops(cfg.model, VOCAB_SIZE, n, task.prompt_len, 2)
        + generate_flops(cfg.model, VOCAB_SIZE, n, task.prompt_len, task.max_response))


def test_an_rl_run_counts_rollouts_updates_and_only_the_kept_samples_of_star(tmp_path):
    run = rl_run(TINY.rl_after_ntp.rl, TINY.headline)
    task, m, n = ParityMixture(TINY.headline.task), TINY.headline.model, 8 * 4
    pd.DataFrame([{"step": 0, "decoding": "rollout", "long_frac": 0.5, "mean_len": 6.0,
                   "kept": 10}]).to_csv(tmp_path / "history.csv", index=False)
    got = book.counted("rl", run, tmp_path)
    assert got["rollouts"] == generate_flops(m, VOCAB_SIZE, n, task.prompt_len, task.max_response)
    assert got["updates"] == train_flops(m, VOCAB_SIZE, n, task.prompt_len + 6.0)  # GRPO: all n
    assert got["evaluation"] == 0  # no evaluation rows
    star = rl_run(dataclasses.replace(TINY.rl_after_ntp.rl, algorithm="star"), TINY.headline)
    assert book.counted("rl", star, tmp_path)["updates"] == train_flops(
        m, VOCAB_SIZE, 10, task.prompt_len + 6.0)  # STaR: the kept ten
    assert book.counted("linear", None, tmp_path) == {}  # a kind not counted


def test_the_rows_report_missing_runs_and_the_wall_time_split(tmp_path):
    timings = tmp_path / "timings.csv"
    rows = [("t", "tiny", RUNS_ROW, 12.0), ("t", "tiny", "01_setup", 1.0),
            ("t", "tiny", "02_ntp", 10.0), ("t", "tiny", "05_linear", 5.0),
            ("t", "tiny", BOOK_ROW, 30.0)]
    timings.write_text("built_at,profile,chapter,seconds,new_runs,cache,scope\n"
                       + "".join(f"{a},{b},{c},{s},0,on,all\n" for a, b, c, s in rows))
    # one run in the cache, with its timing
    folder = cache.run_dir("ntp", TINY.headline)
    folder.mkdir(parents=True)
    pd.DataFrame([{"step": 0, "decoding": "greedy", "long_frac": 0.0}]).to_csv(
        folder / "history.csv", index=False)
    (folder / "config.json").write_text("{}")
    (folder / "timing.json").write_text(json.dumps({"total_s": 4.0, "evaluation_s": 1.0}))
    got = {r["measure"]: r["value"] for r in book.book_rows("tiny", peak=1e9, timings=timings)}
    assert got["runs not in the cache"] == len(book.book_runs("tiny")) - 1
    assert got["run seconds: in runs (summed over processes)"] == 4.0
    # the linear experiments' run, timed too (chapter 5: not counted in FLOPs)
    linear = cache.run_dir("linear-samples", TINY.linear)
    linear.mkdir(parents=True)
    (linear / "config.json").write_text("{}")
    (linear / "timing.json").write_text(json.dumps({"total_s": 3.0}))
    got = {r["measure"]: r["value"] for r in book.book_rows("tiny", peak=1e9, timings=timings)}
    assert got["training the runs, all chapters, 1 at a time, s"] == 12.0
    assert got["... in chapters 2-4's runs (run seconds / 1 workers), s"] == 4.0
    assert got["... in the other chapters' runs (run seconds / 1 workers), s"] == 3.0
    assert got["... idle workers, s"] == 5.0
    assert got["executing the chapters (kernels, imports, reading, figures), s"] == 16.0
    assert got["Jupyter Book build and staging, s"] == 2.0
    mfu = got["book MFU: counted FLOPs / (book wall x 1 cores x peak)"]
    assert mfu == pytest.approx(got["all, TFLOP"] * 1e12 / (30.0 * 1e9))
