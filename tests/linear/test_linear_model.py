"""companion.linear.model: the feature map and the hand-written NTP optimum, by hand."""

import pytest
import torch

from companion import linear
from companion.config import TaskConfig
from companion.evaluate import decode_metrics
from companion.task import EOS, PAD, SEP, ParityMixture, render


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
