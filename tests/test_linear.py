"""The autoregressive linear model (companion/linear.py): hand-worked cases, the closed-form
threshold on exact population data, and the STaR recursion."""

import math

import pandas as pd
import pytest
import torch

from companion import linear, theory
from companion.config import ConfigError, LinearConfig, TaskConfig
from companion.evaluate import decode_metrics
from companion.profiles import PROFILES
from companion.task import EOS, PAD, SEP, ParityMixture, render


# -- the feature map, by hand ------------------------------------------------------------------
def test_feature_map_hand_worked_d4():
    model = linear.LinearAR(4)
    bits = torch.tensor([[1, 0, 1, 1], [1, 0, 1, 1]])
    # row 0: position k=1 after the token 1; row 1: position 0 after '='
    phi = model.features(bits, prev=torch.tensor([1, SEP]), pos=torch.tensor([1, 0]))
    assert phi.shape == (2, 5 * 3 * 5)  # (d+1 positions) x (3 previous tokens) x (1, x_1..x_4)
    # index = (k * 3 + t) * (d + 1) + j
    assert phi[0].nonzero().flatten().tolist() == [20, 21, 23, 24]  # k=1, t=1: 1, x_1, x_3, x_4
    assert phi[1].nonzero().flatten().tolist() == [10, 11, 13, 14]  # k=0, t='=': 1, x_1, x_3, x_4
    names = linear.feature_names(4)
    assert [names[i] for i in (20, 21, 23, 24)] == ["k=1 | t=1 | 1", "k=1 | t=1 | x_1",
                                                    "k=1 | t=1 | x_3", "k=1 | t=1 | x_4"]


def test_logits_are_linear_in_the_features():
    torch.manual_seed(0)
    model = linear.LinearAR(3)
    with torch.no_grad():
        model.weight.normal_()
    bits = torch.randint(0, 2, (8, 3))
    prev, pos = torch.randint(0, 3, (8,)), torch.randint(0, 4, (8,))
    expected = model.features(bits, prev, pos) @ model.flat_weight().T
    assert torch.allclose(model.logits(bits, prev, pos), expected, atol=1e-5)


def test_xor_step_is_linear_but_parity_is_not_in_one_step():
    # b_k = t xor x_k = t + x_k - 2 t x_k: exact on all four cases
    for t in (0, 1):
        for x in (0, 1):
            assert t + x - 2 * t * x == t ^ x
    # every feature sees at most one prompt bit: the parity of d = 3 bits is orthogonal to all of
    # them under uniform prompts (so no weight vector correlates with y at position 0)
    bits = linear.all_prompts(3)
    model = linear.LinearAR(3)
    phi = model.features(bits, prev=torch.full((8,), SEP), pos=torch.zeros(8, dtype=torch.long))
    y_pm = 1 - 2 * ParityMixture.parity(bits).float()  # parity as +-1
    assert torch.allclose(phi.T @ y_pm, torch.zeros(phi.shape[1]))


def test_ideal_model_hand_worked_d4():
    bits = torch.tensor([[1, 0, 1, 1]])  # chain 1 1 0 1, y = 1
    prompt = torch.tensor([[1, 0, 1, 1, SEP]])
    low, high = linear.ideal_model(4, 0.2), linear.ideal_model(4, 0.5)
    assert low.next_token_probs(bits, [])[0].tolist() == pytest.approx([0.4, 0.6, 0.0], abs=1e-6)
    assert low.next_token_probs(bits, [1])[0].tolist() == pytest.approx([0.0, 1 / 3, 2 / 3], abs=1e-6)
    assert low.next_token_probs(bits, [0])[0].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=1e-6)
    assert high.next_token_probs(bits, [])[0].tolist() == pytest.approx([0.25, 0.75, 0.0], abs=1e-6)
    assert high.next_token_probs(bits, [1])[0].tolist() == pytest.approx([0.0, 2 / 3, 1 / 3], abs=1e-6)
    assert high.next_token_probs(bits, [1, 1])[0].tolist() == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)
    assert high.next_token_probs(bits, [1, 1, 0, 1])[0].tolist() == pytest.approx([0, 0, 1.0], abs=1e-6)
    assert render(low.generate(prompt, 5)[0]) == "1 <eos>"
    assert render(high.generate(prompt, 5)[0]) == "1 1 0 1 <eos>"


def test_ideal_model_greedy_on_all_prompts():
    task = ParityMixture(TaskConfig(d=4, p_cot=0.5))
    bits = linear.all_prompts(4)
    for p, acc, long_ in ((0.2, 0.5, 0.0), (0.5, 1.0, 1.0)):
        resp = linear.ideal_model(4, p).generate(task.prompts(bits), task.max_response)
        m = decode_metrics(task, bits, resp)
        # below 1/3: the short answer x_1, right exactly when y = x_1 (8 of 16 prompts)
        assert (m["accuracy"], m["long_frac"]) == (acc, long_)


def test_generate_contract():
    task = ParityMixture(TaskConfig(d=5, p_cot=0.5))
    model = linear.ideal_model(5, 0.5)
    gen = torch.Generator().manual_seed(0)
    bits = task.sample_bits(64, gen)
    resp = model.generate(task.prompts(bits), task.max_response, EOS, PAD, temperature=1.0, generator=gen)
    assert resp.shape[0] == 64 and resp.shape[1] <= task.max_response
    after_eos = (resp == EOS).long().cumsum(1) - (resp == EOS).long()  # 1 strictly after the first <eos>
    assert bool((resp[after_eos > 0] == PAD).all())
    # the same generator state gives the same samples
    gen2 = torch.Generator().manual_seed(0)
    bits2 = task.sample_bits(64, gen2)
    again = model.generate(task.prompts(bits2), task.max_response, EOS, PAD, 1.0, gen2)
    assert torch.equal(bits, bits2) and torch.equal(resp, again)


# -- the NTP loss ----------------------------------------------------------------------------------
def test_ntp_loss_hand_worked_and_gradient():
    task = ParityMixture(TaskConfig(d=3, p_cot=0.5))
    batch = task.encode(torch.tensor([[1, 0, 1], [0, 1, 1]]), torch.tensor([False, True]))
    data = linear.response_tokens(batch.tokens, batch.loss_mask, 3)
    model = linear.LinearAR(3)
    # zero weights: each of the 2 + 4 response tokens costs ln 3
    with torch.no_grad():
        assert float(linear.ntp_loss(model, data)) == pytest.approx(6 * math.log(3), rel=1e-6)
    # the hand-written gradient equals autograd's
    torch.manual_seed(0)
    with torch.no_grad():
        model.weight.normal_()
    linear.ntp_loss(model, data).backward()
    manual = torch.zeros_like(model.weight)
    for b in data.blocks:
        hi = b.lo + b.cls.shape[1]
        manual[b.lo:hi] = linear._block_loss_grad(model.weight.detach()[b.lo:hi], b)[1]
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


# -- STaR --------------------------------------------------------------------------------------------
def test_star_recursion_matches_two_p_over_one_plus_p():
    """Measured (exact, over all 64 prompts) long fraction after each round vs 2p/(1+p) of the
    previous round. Tolerance 0.03: over seeds 0-9 (30 rounds) the error had mean -0.002, sd 0.006,
    max |error| 0.014; the NTP start was within 0.011 of p_cot."""
    d = 6
    task = ParityMixture(TaskConfig(d=d, p_cot=0.2))
    bits = linear.all_prompts(d)
    gen = torch.Generator().manual_seed(0)
    model = linear.train_ntp(task, 8000, l2=1e-3, max_iter=30, generator=gen)
    p = linear.expected_long_frac(model, bits)
    assert p == pytest.approx(0.2, abs=0.03)
    for _ in range(3):
        linear.star_round(model, task, 8000, l2=1e-3, max_iter=30, generator=gen)
        q = linear.expected_long_frac(model, bits)
        assert q == pytest.approx(theory.star_step(p), abs=0.03)
        p = q


# -- the one-step learner, the search, the summaries -----------------------------------------------
def test_prompt_table_hand_worked_d3():
    task = ParityMixture(TaskConfig(d=3, p_cot=0.5))
    seen = torch.tensor([[1, 0, 1], [1, 1, 1], [1, 1, 1]])  # y = 0, 1
    table = linear.PromptTable(3).fit(seen, torch.tensor([False, True, True]))
    prompts = task.prompts(torch.tensor([[1, 0, 1], [1, 1, 1], [0, 0, 1]]))
    out = [render(r) for r in table.generate(prompts, task.max_response)]
    # seen short -> y; seen long (majority) -> the chain; unseen -> the fallback short answer '0'
    assert out == ["0 <eos>", "1 0 1 <eos>", "0 <eos>"]


def test_min_samples_finds_smallest_grid_point():
    calls = []

    def attempt(n):
        calls.append(n)
        return 10 * n if n >= 100 else None

    # grid 10 * sqrt(2)^j: ..., 80 (j=6), 113 (j=7): the smallest success is 113
    assert linear.min_samples(attempt, 10) == (113, 1130)
    # from 1000 the grid is 1000 * sqrt(2)^j: ..., 88 (j=-7), 125 (j=-6): searching downwards
    assert linear.min_samples(attempt, 1000) == (125, 1250)
    assert linear.min_samples(lambda n: None, 10, max_doublings=3) is None


def test_greedy_threshold_interpolates():
    sweep = pd.DataFrame({"p_cot": [0.3, 0.3, 0.35, 0.35, 0.4], "greedy_long_frac": [0.1, 0.3, 0.6, 0.8, 1.0]})
    assert linear.greedy_threshold(sweep) == pytest.approx(0.3 + 0.3 / 0.5 * 0.05)
    assert math.isnan(linear.greedy_threshold(sweep.assign(greedy_long_frac=0.0)))


def test_fit_slopes_recovers_power_and_exponential():
    d = pd.Series([8, 16, 32, 64] + [8, 10, 12])
    df = pd.DataFrame({"learner": ["poly"] * 4 + ["exp"] * 3, "d": d,
                       "samples": [3 * v ** 1.5 for v in d[:4]] + [2.0 ** v for v in d[4:]]})
    s = linear.fit_slopes(df).set_index("learner")
    assert s.loc["poly", "loglog_slope"] == pytest.approx(1.5)
    assert s.loc["exp", "bits_per_d"] == pytest.approx(1.0)


def test_config_validation_and_profiles():
    with pytest.raises(ConfigError, match="d=2"):
        LinearConfig(d=2)
    with pytest.raises(ConfigError, match="star_p_cots"):
        LinearConfig(star_p_cots=(0.0,))
    with pytest.raises(ConfigError, match="seeds"):
        LinearConfig(seeds=())
    for prof in PROFILES.values():
        assert isinstance(prof.linear, LinearConfig)
    assert PROFILES["tiny"].linear.threshold_n < PROFILES["cpu"].linear.threshold_n


def test_threshold_sweep_is_cached_and_reproducible(isolated_cache):
    cfg = LinearConfig(d=4, max_iter=5, n_eval=50, seeds=(0,), threshold_n=200, threshold_p_cots=(0.5,))
    first = linear.threshold_sweep(cfg)
    assert list(isolated_cache.glob("linear-threshold-*"))  # written to the cache
    again = linear._threshold_sweep(cfg)  # recomputed from scratch: the same numbers
    pd.testing.assert_frame_equal(first, again, check_exact=False, rtol=1e-6)
