import torch

from companion.config import ModelConfig
from companion.model import GPT
from companion.profiles import get_profile
from companion.task import EOS, PAD, VOCAB_SIZE


def tiny_model(seed=0) -> GPT:
    torch.manual_seed(seed)
    return GPT(get_profile("tiny").headline.model, VOCAB_SIZE)


def test_causality_future_tokens_do_not_change_past_logits():
    m = tiny_model().eval()
    x = torch.randint(0, 4, (3, 20))
    y = x.clone()
    y[:, 12:] = torch.randint(0, 4, (3, 8))
    with torch.no_grad():
        assert torch.allclose(m(x)[:, :12], m(y)[:, :12], atol=1e-6)
        assert not torch.allclose(m(x)[:, 12:], m(y)[:, 12:])


def test_kv_cache_matches_full_recompute():
    m = tiny_model().eval()
    prompts = torch.randint(0, 2, (5, 13))
    a = m.generate(prompts, 12, EOS, PAD, temperature=0.0, use_cache=True)
    b = m.generate(prompts, 12, EOS, PAD, temperature=0.0, use_cache=False)
    assert torch.equal(a, b)
    ga, gb = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = m.generate(prompts, 12, EOS, PAD, temperature=1.0, generator=ga, use_cache=True)
    b = m.generate(prompts, 12, EOS, PAD, temperature=1.0, generator=gb, use_cache=False)
    assert torch.equal(a, b)


def test_generate_stops_when_every_row_emitted_eos():
    m = tiny_model().eval()
    # untie the head and make it always prefer <eos>: decoding must end after one token
    m.head = torch.nn.Linear(m.cfg.n_embd, VOCAB_SIZE)
    torch.nn.init.zeros_(m.head.weight)
    m.head.bias.data[:] = -10.0
    m.head.bias.data[EOS] = 10.0
    out = m.generate(torch.zeros(4, 5, dtype=torch.long), 7, EOS, PAD)
    assert out.tolist() == [[EOS]] * 4
    # prefer token 0 instead: no row stops and all max_new_tokens are produced
    m.head.bias.data[EOS] = -10.0
    m.head.bias.data[0] = 10.0
    assert m.generate(torch.zeros(2, 5, dtype=torch.long), 7, EOS, PAD).tolist() == [[0] * 7] * 2


def test_sampled_rows_after_eos_are_padding():
    m = tiny_model(1).eval()
    out = m.generate(torch.randint(0, 2, (64, 13)), 14, EOS, PAD, temperature=2.0,
                     generator=torch.Generator().manual_seed(0))
    for row in out.tolist():
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1:])


def test_block_size_is_enforced():
    m = GPT(ModelConfig(n_layer=1, n_head=1, n_embd=8, block_size=4), VOCAB_SIZE)
    try:
        m(torch.zeros(1, 5, dtype=torch.long))
    except ValueError as e:
        assert "block_size=4" in str(e)
    else:
        raise AssertionError("expected a ValueError")
