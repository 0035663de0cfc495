"""The paper's first phenomenon at small scale: NTP alone stays at chance below p_cot = 1/3.

Thresholds come from 4 seeds measured at d=12, 600 steps (2 layers x 64, batch 256, 500
eval prompts): p_cot=0.1 gave greedy accuracy 0.482-0.492 with no long greedy answer in any
seed; p_cot=0.5 gave greedy accuracy 0.776-1.000 with greedy long fraction 0.954-1.000 (the
chain appears after ~300-500 steps, +-50% by seed). This test runs 700 steps, so the p=0.5
bounds below sit under the worst seed measured with fewer steps.
"""

import dataclasses

import pytest

from companion import parallel
from companion.profiles import get_profile, with_
from companion.train import ntp_run


def small_run(p_cot: float):
    base = with_(get_profile("cpu").headline, d=12, steps=700, p_cot=p_cot)
    return dataclasses.replace(
        base, train=dataclasses.replace(base.train, eval_every=700, checkpoint_steps=()),
        eval=dataclasses.replace(base.eval, n_prompts=500))


@pytest.mark.slow
def test_ntp_alone_stays_at_chance_below_one_third_and_learns_above():
    # two processes, one torch thread each (results come back through the test's cache)
    res = parallel.fetch({p: ntp_run(small_run(p)) for p in (0.1, 0.5)}, workers=2)
    low_run, high_run = res[0.1], res[0.5]
    low, high = low_run.final("greedy"), high_run.final("greedy")
    # below 1/3: greedy answers short, accuracy at chance (sd of a 500-prompt mean is 0.022)
    assert low["long_frac"] <= 0.05
    assert 0.4 <= low["accuracy"] <= 0.6
    # above 1/3: greedy follows the chain and is right far above chance
    assert high["long_frac"] >= 0.9
    assert high["accuracy"] >= 0.75
