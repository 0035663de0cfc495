"""companion.linear.train: the NTP loss and its hand-written gradient, the closed-form
threshold reached by the L-BFGS fit on exact population data, and the STaR recursion."""

import math

import pytest
import torch

from companion import linear, theory
from companion.config import TaskConfig
from companion.evaluate import decode_metrics
from companion.task import ParityMixture


def test_ntp_loss_hand_worked_and_gradient():
    task = ParityMixture(TaskConfig(d=3, p_cot=0.5))
    batch = task.encode(torch.tensor([[1, 0, 1], [0, 1, 1]]), torch.tensor([False, True]))
    data = linear.response_tokens(batch.tokens, batch.loss_mask, 3)
    model = linear.LinearAR(3)
    # zero weights: each of the 2 + 4 response tokens costs ln 3
    with torch.no_grad():
        assert float(linear.linear_ntp_loss(model, data)) == pytest.approx(6 * math.log(3), rel=1e-6)
    # the hand-written gradient equals autograd's
    torch.manual_seed(0)
    with torch.no_grad():
        model.weight.normal_()
    linear.linear_ntp_loss(model, data).backward()
    manual = torch.zeros_like(model.weight)
    for b in data.blocks:
        hi = b.lo + b.cls.shape[1]
        manual[b.lo:hi] = linear.block_loss_grad(model.weight.detach()[b.lo:hi], b)[1]
    assert torch.allclose(manual, model.weight.grad, atol=1e-5)


def _population(d: int, n_short: int, n_long: int):
    """Every prompt, n_short short and n_long long copies: the exact mixture with p = n_long/(n_short+n_long)."""
    bits = linear.all_prompts(d)
    reps = n_short + n_long
    is_long = torch.tensor(([False] * n_short + [True] * n_long) * len(bits))
    task = ParityMixture(TaskConfig(d=d, p_cot=n_long / reps))
    batch = task.encode(bits.repeat_interleave(reps, dim=0), is_long)
    return task, linear.response_tokens(batch.tokens, batch.loss_mask, d)


def test_parity_is_not_learned_from_short_answers():
    # all 16 prompts of d = 4 with their short answers only: the best the model can do is a coin
    task, data = _population(4, 1, 0)
    model = linear.LinearAR(4)
    linear.fit(model, data, l2=1e-4, max_iter=100)
    probs = torch.stack([model.next_token_probs(b.unsqueeze(0), [])[0] for b in linear.all_prompts(4)])
    assert probs[:, :2].numpy() == pytest.approx(0.5, abs=1e-3)


def test_closed_form_threshold_on_exact_population():
    """Exact mixtures of d = 4 prompts: P(first = x_1) = (1+p)/2, P(continue | b_1) = 2p/(1+p),
    and greedy decoding goes long iff p > 1/3 (sweep 1/5, 1/4, 2/5, 1/2, 2/3)."""
    bits = linear.all_prompts(4)
    for n_short, n_long in ((4, 1), (3, 1), (3, 2), (1, 1), (1, 2)):
        task, data = _population(4, n_short, n_long)
        p = task.cfg.p_cot
        model = linear.LinearAR(4)
        linear.fit(model, data, l2=1e-4, max_iter=100)
        probe = linear.decision_probs(model, bits)
        assert probe["p_first_x1"] == pytest.approx((1 + p) / 2, abs=0.01)
        assert probe["p_continue"] == pytest.approx(theory.continue_prob(p), abs=0.01)
        assert linear.expected_long_frac(model, bits) == pytest.approx(p, abs=0.01)
        m = decode_metrics(task, bits, model.generate(task.prompts(bits), task.max_response))
        assert m["long_frac"] == float(theory.greedy_long(p))
        assert m["accuracy"] == float(theory.greedy_accuracy(p))


def test_star_recursion_matches_two_p_over_one_plus_p():
    """Measured (exact, over all 64 prompts) long fraction after each round vs 2p/(1+p) of the
    previous round. Tolerance 0.03: over seeds 0-9 (30 rounds) the error had mean -0.002, sd 0.006,
    max |error| 0.014; the NTP start was within 0.011 of p_cot."""
    d = 6
    task = ParityMixture(TaskConfig(d=d, p_cot=0.2))
    bits = linear.all_prompts(d)
    gen = torch.Generator().manual_seed(0)
    model = linear.fit_ntp(task, 8000, l2=1e-3, max_iter=30, generator=gen)
    p = linear.expected_long_frac(model, bits)
    assert p == pytest.approx(0.2, abs=0.03)
    for _ in range(3):
        linear.star_round(model, task, 8000, l2=1e-3, max_iter=30, generator=gen)
        q = linear.expected_long_frac(model, bits)
        assert q == pytest.approx(theory.star_step(p), abs=0.03)
        p = q
