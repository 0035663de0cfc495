"""The benchmark's bookkeeping (its timings are measured by `python -m companion bench`, not here)."""

import pandas as pd

from companion import bench
from companion.profiles import get_profile


def test_token_count_follows_right_sized_padding():
    cfg = get_profile("tiny").headline  # d=12: short rows compute 14 positions, long rows 25
    tokens, flops = bench.step_tokens_and_flops(cfg, steps=2)
    n = 2 * cfg.train.batch_size
    assert 14 * n <= tokens <= 25 * n
    assert flops > 6 * 12 * cfg.model.n_layer * cfg.model.n_embd ** 2 * tokens * 0.99


def test_markdown_table_has_a_row_per_measure():
    df = pd.DataFrame([{"benchmark": "b", "measure": "m", "value": 1234.5}])
    assert bench.markdown(df).splitlines()[-1] == "| b | m | 1.23e+03 |"
