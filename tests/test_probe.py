"""companion/probe.py on hand-written policies whose chain behaviour is known exactly."""

import math

import pytest
import torch
from torch import nn

from companion.config import ConfigError, ModelConfig, TaskConfig
from companion.model import GPT
from companion.probe import biased_bits, chain_errors, intervene, positions
from companion.task import VOCAB_SIZE, ParityMixture

D = 6


class Oracle(nn.Module):
    """Writes the chain after any prefix ``x_1 .. x_d = r_1 .. r_m``: each next token from its own
    previous one (``uses="own"``: r_m xor x_{m+1}) or from the prompt (``uses="prompt"``: the true
    running parity); ``flip_at`` (1-based) writes that chain token wrong; ``short`` answers
    ``y <eos>`` instead."""

    def __init__(self, uses: str = "own", flip_at: int | None = None, short: bool = False):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))  # the probes read the device from a parameter
        self.uses, self.flip_at, self.short = uses, flip_at, short

    def generate(self, prompts, max_new_tokens, eos_id, pad_id, temperature=0.0, generator=None):
        bits, done = prompts[:, :D], prompts[:, D + 1:]
        true = bits.cumsum(1) % 2
        if self.short and done.shape[1] == 0:
            y = true[:, -1:]
            return torch.cat([y, torch.full_like(y, eos_id)], 1)[:, :max_new_tokens]
        out = [done[:, i] for i in range(done.shape[1])]
        for m in range(done.shape[1], D):
            if m == 0:
                tok = bits[:, 0]
            elif self.uses == "own":
                tok = out[-1] ^ bits[:, m]
            else:
                tok = true[:, m]
            out.append(tok ^ int(self.flip_at == m + 1))
        new = torch.stack(out[done.shape[1]:] + [torch.full_like(bits[:, 0], eos_id)], 1)
        return new[:, :max_new_tokens]


def task() -> ParityMixture:
    return ParityMixture(TaskConfig(d=D))


def bits(n: int = 64) -> torch.Tensor:
    return torch.randint(0, 2, (n, D), generator=torch.Generator().manual_seed(0))


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1)


def test_an_exact_chain_is_exact_at_every_position():
    m = chain_errors(Oracle(), task(), bits(), 0.0, gen())
    assert m["accuracy"] == 1.0 and m["long_frac"] == 1.0 and m["n_long"] == 64
    assert m["exact"] == 1.0 and m["full"] == 1.0 and m["right_by_wrong_chain"] == 0.0
    assert m["first_error"] == [0.0] * D


def test_a_wrong_first_token_ignored_later_leaves_the_answer_right():
    m = chain_errors(Oracle(uses="prompt", flip_at=1), task(), bits(), 0.0, gen())
    assert m["exact"] == 0.0 and m["accuracy"] == 1.0 and m["right_by_wrong_chain"] == 1.0
    assert m["first_error"] == [1.0] + [0.0] * (D - 1)


def test_a_wrong_first_token_carried_on_makes_the_answer_wrong_and_counts_once():
    m = chain_errors(Oracle(uses="own", flip_at=1), task(), bits(), 0.0, gen())
    assert m["accuracy"] == 0.0 and m["exact"] == 0.0 and m["right_by_wrong_chain"] == 0.0
    assert m["first_error"] == [1.0] + [0.0] * (D - 1)  # every token is wrong: the first counts


def test_the_first_error_is_counted_where_it_is_and_only_there():
    m = chain_errors(Oracle(uses="own", flip_at=3), task(), bits(), 0.0, gen())
    assert m["first_error"] == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0] and m["accuracy"] == 0.0
    m = chain_errors(Oracle(uses="prompt", flip_at=D), task(), bits(), 0.0, gen())
    assert m["first_error"] == [0.0] * (D - 1) + [1.0] and m["accuracy"] == 0.0


def test_short_answers_have_no_chain_to_score():
    m = chain_errors(Oracle(short=True), task(), bits(), 0.0, gen())
    assert m["long_frac"] == 0.0 and m["n_long"] == 0 and m["accuracy"] == 1.0
    assert math.isnan(m["exact"]) and all(math.isnan(e) for e in m["first_error"])


@pytest.mark.parametrize("k", [1, 3, D - 1])
def test_a_policy_that_uses_its_own_token_carries_the_forced_error_to_the_answer(k):
    r = intervene(Oracle(uses="own"), task(), bits(), k)
    assert r == {"k": k, "follows_own": 1.0, "follows_true": 0.0, "stops": 0.0, "final_right": 0.0}


@pytest.mark.parametrize("k", [1, 3, D - 1])
def test_a_policy_that_recomputes_from_the_prompt_ignores_the_forced_error(k):
    r = intervene(Oracle(uses="prompt"), task(), bits(), k)
    assert r == {"k": k, "follows_own": 0.0, "follows_true": 1.0, "stops": 0.0, "final_right": 1.0}


def test_intervene_runs_on_a_real_model_and_its_fractions_add_up():
    torch.manual_seed(0)
    model = GPT(ModelConfig(n_layer=1, n_head=2, n_embd=16, block_size=2 * D + 2), VOCAB_SIZE).eval()
    r = intervene(model, task(), bits(), 2)
    assert r["follows_own"] + r["follows_true"] + r["stops"] <= 1.0 + 1e-6
    assert 0.0 <= r["final_right"] <= 1.0


@pytest.mark.parametrize("k", [0, D])
def test_intervene_refuses_a_position_outside_the_chain(k):
    with pytest.raises(ConfigError, match=rf"invalid k={k}: must lie in \[1, {D - 1}\]"):
        intervene(Oracle(), task(), bits(), k)


def test_the_probes_refuse_a_partial_chain():
    leap2 = ParityMixture(TaskConfig(d=D, leap=2))
    with pytest.raises(ConfigError, match="invalid leap=2"):
        chain_errors(Oracle(), leap2, bits(), 0.0, gen())
    with pytest.raises(ConfigError, match="invalid leap=2"):
        intervene(Oracle(), leap2, bits(), 1)


def test_biased_bits_have_the_asked_rate_and_refuse_a_constant():
    b = biased_bits(task(), 5000, 0.1, gen())
    assert b.shape == (5000, D) and set(b.unique().tolist()) <= {0, 1}
    assert abs(float(b.float().mean()) - 0.1) < 0.01  # 30,000 bits: sd 0.0017
    for q in (0.0, 1.0):
        with pytest.raises(ConfigError, match=f"invalid q={q}"):
            biased_bits(task(), 10, q, gen())


def test_positions_are_the_first_two_the_quarter_points_and_the_last_but_one():
    assert positions(50) == (1, 2, 12, 25, 37, 49)
    assert positions(4) == (1, 2, 3)
