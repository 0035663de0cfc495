"""The tasks a GPT run trains on, and the interface they share.

A run's ``task`` config picks its task: :class:`~companion.config.TaskConfig` the parity mixture
(:mod:`companion.task`), :class:`~companion.config.MultiplicationConfig` n-digit multiplication
(:mod:`companion.multiplication`). Training, evaluation and RL use only what :class:`Task` names.
"""

from __future__ import annotations

from typing import Protocol

import torch

from .config import MultiplicationConfig, TaskConfig
from .multiplication import Multiplication
from .task import ParityMixture


class Task(Protocol):
    vocab_size: int
    eos: int
    pad: int
    prompt_len: int  # tokens of a prompt
    chain_len: int  # response tokens of the long answer (before <eos>)
    short_len: int  # response tokens of the short answer (before <eos>)
    max_response: int  # chain_len + 1
    seq_len: int  # prompt and longest response with <eos>

    def sample_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor: ...
    def prompts(self, x: torch.Tensor) -> torch.Tensor: ...
    def target(self, x: torch.Tensor) -> torch.Tensor: ...
    def chain(self, x: torch.Tensor) -> torch.Tensor: ...
    def sample(self, n: int, generator: torch.Generator): ...  # a Batch: tokens, loss_mask, ...
    def parse(self, responses: torch.Tensor): ...  # length, answer, well_formed, is_long
    def reward(self, x: torch.Tensor, responses: torch.Tensor, kind: str = "end_to_end",
               length_penalty: float = 0.0) -> torch.Tensor: ...


def make_task(cfg: TaskConfig | MultiplicationConfig) -> Task:
    """The task object for a run's task config."""
    if isinstance(cfg, MultiplicationConfig):
        return Multiplication(cfg)
    if isinstance(cfg, TaskConfig):
        return ParityMixture(cfg)
    raise TypeError(f"invalid task={cfg!r}: must be a TaskConfig or a MultiplicationConfig")
