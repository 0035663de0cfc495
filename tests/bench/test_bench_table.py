"""The benchmark table's format (companion/bench/table.py)."""

import pandas as pd

from companion import bench
from companion.bench.table import table_rows


def test_markdown_table_has_a_row_per_measure():
    df = pd.DataFrame([{"benchmark": "b", "measure": "m", "value": 1234.5}])
    assert bench.markdown(df).splitlines()[-1] == "| b | m | 1.23e+03 |"


def test_markdown_says_missing_for_an_unmeasured_value():
    df = pd.DataFrame([{"benchmark": "b", "measure": "m", "value": float("nan")}])
    assert bench.markdown(df).splitlines()[-1] == "| b | m | missing |"


def test_table_rows_keep_the_measures_in_order():
    rows = table_rows("b", {"x": 1.0, "y": 2.0})
    assert rows == [{"benchmark": "b", "measure": "x", "value": 1.0},
                    {"benchmark": "b", "measure": "y", "value": 2.0}]
