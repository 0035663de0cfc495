import dataclasses

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from companion import cache, pretrain
from companion.pretrain import ntp_loss, results_frame, train_ntp, warmup_cosine
from companion.profiles import get_profile, with_
from companion.task import ParityMixture


@pytest.fixture
def tiny_cfg():
    return get_profile("tiny").headline


def test_right_sized_loss_equals_the_padded_reference(tiny_cfg):
    task = ParityMixture(tiny_cfg.task)
    batch = task.sample(64, torch.Generator().manual_seed(0))
    model = pretrain.build_model(tiny_cfg)
    logits = model(batch.tokens[:, :-1])
    nll = F.cross_entropy(logits.transpose(1, 2), batch.tokens[:, 1:], reduction="none")
    mask = batch.loss_mask[:, 1:].float()
    reference = (nll * mask).sum() / mask.sum()
    assert torch.allclose(ntp_loss(model, batch.tokens, batch.loss_mask), reference, atol=1e-6)
    assert torch.allclose(ntp_loss(model, batch.tokens, batch.loss_mask, reduction="sum"),
                          (nll * mask).sum(), rtol=1e-5)


def test_masked_positions_do_not_change_the_loss(tiny_cfg):
    task = ParityMixture(tiny_cfg.task)
    batch = task.sample(16, torch.Generator().manual_seed(0))
    model = pretrain.build_model(tiny_cfg)
    other = batch.tokens.clone()
    # change only prompt bits that come *after* nothing predicted: the padding
    other[other == 4] = 0
    assert torch.equal(ntp_loss(model, batch.tokens, batch.loss_mask),
                       ntp_loss(model, other, batch.loss_mask))


def test_warmup_then_cosine_decay():
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.55)


def test_a_short_fit_lowers_the_loss_and_records_history(tiny_cfg):
    cfg = with_(tiny_cfg, steps=40)
    task = ParityMixture(cfg.task)
    batch = task.sample(512, torch.Generator().manual_seed(99))
    before = ntp_loss(pretrain.build_model(cfg), batch.tokens, batch.loss_mask).item()
    run = train_ntp(cfg)
    after = ntp_loss(run.load_model(), batch.tokens, batch.loss_mask).item()
    assert after < before - 0.3  # from ~log(5)=1.6 to the mixture's entropy floor region
    h = run.history
    assert sorted(h.step.unique()) == [0, 10, 20, 30, 40]
    assert set(h.decoding) == {"greedy", "sampled"}
    assert {"accuracy", "long_frac", "mean_len", "median_len", "acc_long", "acc_short"} <= set(h.columns)
    assert (h.samples == h.step * cfg.train.batch_size).all()
    assert run.checkpoint_steps == [10, 20]
    assert (run.folder / "logs" / "metrics.csv").is_file()  # Lightning's CSVLogger
    early = run.load_model(10)
    assert not torch.equal(early.wte.weight, run.load_model().wte.weight)
    with pytest.raises(ValueError, match="invalid step=15"):
        run.load_model(15)


def test_same_config_same_numbers(tiny_cfg, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "off")
    a = train_ntp(tiny_cfg).history
    b = train_ntp(tiny_cfg).history
    pd.testing.assert_frame_equal(a, b)


def test_cache_hit_by_config_and_miss_on_change(tiny_cfg, monkeypatch, isolated_cache):
    run = train_ntp(tiny_cfg)
    assert run.folder.parent == isolated_cache
    calls = []
    monkeypatch.setattr(pretrain, "_fit", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(
        AssertionError("retrained a cached run")))
    again = train_ntp(tiny_cfg)  # a hit: _fit is not called
    assert again.folder == run.folder and not calls
    changed = dataclasses.replace(tiny_cfg, eval=dataclasses.replace(tiny_cfg.eval, n_prompts=99))
    with pytest.raises(AssertionError, match="retrained"):
        train_ntp(changed)  # any changed field is a miss
    assert len(cache.list_runs()) == 1


def test_a_failed_run_leaves_nothing_in_the_cache(tiny_cfg, monkeypatch, isolated_cache):
    def boom(cfg, folder, progress):
        (folder / "model.pt").write_text("half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain, "_fit", boom)
    with pytest.raises(KeyboardInterrupt):
        train_ntp(tiny_cfg)
    assert cache.lookup("ntp", tiny_cfg) is None
    assert list(isolated_cache.iterdir()) == []


def test_results_frame_tags_runs_with_their_settings(tiny_cfg):
    runs = [train_ntp(with_(tiny_cfg, p_cot=p, steps=10)) for p in (0.0, 1.0)]
    final = results_frame(runs)
    assert sorted(final.p_cot.unique()) == [0.0, 1.0] and (final.step == 10).all()
    assert len(results_frame(runs, final_only=False)) == 2 * 2 * 2  # 2 runs x 2 evals x 2 decodings
