"""companion.linear.table: the prompt-indicator learner, by hand."""

import torch

from companion import linear
from companion.config import TaskConfig
from companion.task import ParityMixture, render


def test_prompt_table_hand_worked_d3():
    task = ParityMixture(TaskConfig(d=3, p_cot=0.5))
    seen = torch.tensor([[1, 0, 1], [1, 1, 1], [1, 1, 1]])  # y = 0, 1
    table = linear.PromptTable(3).fit(seen, torch.tensor([False, True, True]))
    prompts = task.prompts(torch.tensor([[1, 0, 1], [1, 1, 1], [0, 0, 1]]))
    out = [render(r) for r in table.generate(prompts, task.max_response)]
    # seen short -> y; seen long (majority) -> the chain; unseen -> the fallback short answer '0'
    assert out == ["0 <eos>", "1 0 1 <eos>", "0 <eos>"]
