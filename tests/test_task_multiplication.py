import pytest
import torch

from companion.config import ConfigError, ModelConfig, MultiplicationConfig, NTPRunConfig
from companion.multiplication import EOS, LINE, PAD, SEP, TIMES, Multiplication, render
from companion.tasks import make_task
from companion.task import ParityMixture


def task(n=2, p_cot=0.5):
    return Multiplication(MultiplicationConfig(n=n, p_cot=p_cot))


def test_encodings_on_the_docstrings_worked_example():
    # 12 x 34 = 408, 12 x 4 = 48; digits least significant first, lines 2n = 4 wide
    t = task()
    b = t.encode(torch.tensor([[12, 34], [12, 34]]), torch.tensor([False, True]))
    assert b.tokens.tolist() == [
        [2, 1, TIMES, 4, 3, SEP, 8, 0, 4, 0, EOS, PAD, PAD, PAD, PAD, PAD, PAD],
        [2, 1, TIMES, 4, 3, SEP, LINE, 8, 4, 0, 0, LINE, 8, 0, 4, 0, EOS],
    ]
    assert render(b.tokens[1]) == "2 1 x 4 3 = ; 8 4 0 0 ; 8 0 4 0 <eos>"
    assert b.y.tolist() == [408, 408]
    assert (t.prompt_len, t.short_len, t.chain_len, t.seq_len) == (6, 4, 10, 17)


def test_leading_zeros_and_the_largest_product():
    t = task()
    b = t.encode(torch.tensor([[7, 30], [99, 99]]), torch.tensor([True, True]))
    # 07 x 30: 7 x 0 = 0, 7 x 30 = 210; 99 x 9 = 891, 99 x 99 = 9801
    assert render(b.tokens[0]) == "7 0 x 0 3 = ; 0 0 0 0 ; 0 1 2 0 <eos>"
    assert render(b.tokens[1]) == "9 9 x 9 9 = ; 1 9 8 0 ; 1 0 8 9 <eos>"


def test_three_digit_chain_adds_one_partial_product_per_line():
    t = task(n=3)
    ab = torch.tensor([[123, 456]])
    lines = t.chain(ab)[0].tolist()
    values = [sum(d * 10 ** i for i, d in enumerate(lines[k * 7 + 1:(k + 1) * 7])) for k in range(3)]
    assert values == [123 * 6, 123 * 56, 123 * 456]
    assert [lines[k * 7] for k in range(3)] == [LINE] * 3


def test_loss_mask_covers_exactly_the_response_and_eos():
    t = task()
    b = t.encode(torch.tensor([[12, 34], [12, 34]]), torch.tensor([False, True]))
    assert b.loss_mask.int().tolist() == [[0] * 6 + [1] * 5 + [0] * 6, [0] * 6 + [1] * 11]


def test_parse_and_reward():
    t = task()
    ab = torch.tensor([[12, 34]] * 6)
    p = t.prompt_len
    right_long = t.encode(ab[:1], torch.tensor([True])).tokens[0, p:]
    right_short = t.encode(ab[:1], torch.tensor([False])).tokens[0, p:]
    wrong_chain = right_long.clone()
    wrong_chain[1] = 5  # a wrong first line, the right last one
    wrong_answer = right_short.clone()
    wrong_answer[0] = 9
    no_eos = torch.full_like(right_long, 1)
    bad_token = right_short.clone()
    bad_token[1] = TIMES
    resp = torch.stack([right_long, right_short, wrong_chain, wrong_answer, no_eos, bad_token])
    parsed = t.parse(resp)
    assert parsed.answer.tolist() == [408, 408, 408, 9 + 0 + 400, -1, -1]
    assert parsed.well_formed.tolist() == [True, True, True, True, False, False]
    assert parsed.is_long.tolist() == [True, False, True, False, False, False]
    assert parsed.length.tolist() == [10, 4, 10, 4, -1, 4]
    assert t.reward(ab, resp).tolist() == [1, 1, 1, 0, 0, 0]
    assert t.reward(ab, resp, "cot").tolist() == [1, 1, 0, 0, 0, 0]
    # a length penalty charges tokens over the chain's length; no <eos>: every token
    pen = t.reward(ab, resp, length_penalty=0.5)
    assert pen.tolist() == pytest.approx([0.5, 1 - 0.5 * 4 / 10, 0.5, -0.2, -0.5 * 11 / 10, -0.2])
    with pytest.raises(ValueError, match="reward"):
        t.reward(ab, resp, "process")


def test_a_last_line_must_be_a_whole_line():
    t = task()
    ab = torch.tensor([[12, 34]])
    # '; 8 0 4 0' is long only if something came before it; '4 0' alone is too short
    short_line = torch.tensor([[4, 0, EOS] + [PAD] * 8])
    merged = torch.tensor([[LINE, 8, 4, 0, 0, 8, 0, 4, 0, EOS, PAD]])  # no ';' before the answer
    parsed = t.parse(torch.cat([short_line, merged]))
    assert parsed.well_formed.tolist() == [False, False]
    assert t.is_correct(ab.repeat(2, 1), torch.cat([short_line, merged])).tolist() == [False, False]


def test_sampling_is_seeded_and_has_the_mixture_fraction():
    t = task(n=3, p_cot=0.3)
    a = t.sample(20_000, torch.Generator().manual_seed(1))
    b = t.sample(20_000, torch.Generator().manual_seed(1))
    assert torch.equal(a.tokens, b.tokens)
    assert abs(a.is_long.float().mean().item() - 0.3) < 0.015
    assert int(a.tokens[:, :3].max()) == 9 and int(a.y.max()) < 10 ** 6
    assert bool((t.parse(a.tokens[:, t.prompt_len:]).answer == a.y).all())


def test_config_is_validated_and_sized():
    with pytest.raises(ConfigError, match="n"):
        MultiplicationConfig(n=10)
    with pytest.raises(ConfigError, match="p_cot"):
        MultiplicationConfig(p_cot=1.5)
    cfg = MultiplicationConfig(n=3)
    assert cfg.min_block_size == task(n=3).seq_len == 30
    with pytest.raises(ConfigError, match="block_size.*n=3"):
        NTPRunConfig(task=cfg, model=ModelConfig(block_size=29))


def test_make_task_picks_the_task_of_the_config():
    assert isinstance(make_task(MultiplicationConfig()), Multiplication)
    from companion.config import TaskConfig
    assert isinstance(make_task(TaskConfig(d=4)), ParityMixture)
    with pytest.raises(TypeError, match="task"):
        make_task(3)
