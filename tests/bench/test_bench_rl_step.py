"""The RL step split (companion/bench/rl_step.py) times the book's own RL step."""

from companion.bench import rl_step
from companion.profiles import get_profile


def test_rl_step_split_times_both_phases_of_a_real_step():
    prof = get_profile("tiny")
    s = rl_step.rl_step_split(prof.headline, prof.rl_after_ntp.rl, repeats=1, full_length=True)
    assert s["rollout_s"] > 0 and s["update_s"] > 0 and 0 < s["rollout_share"] < 1
    assert s["mean_response_tokens"] == prof.headline.task.d + 1  # chain + <eos> slot, all scored


def test_rl_split_rows_cover_both_regimes():
    prof = get_profile("tiny")
    rows = rl_step.rl_split_rows(prof, repeats=1)
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    assert len(benches) == 2 and "random lengths" in benches[0] and "full chain" in benches[1]
    short = {r["measure"]: r["value"] for r in rows if r["benchmark"] == benches[0]}
    assert 1 <= short["mean response tokens"] <= prof.headline.task.d + 1
