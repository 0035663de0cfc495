"""Typed, validated configuration.

Every knob of every experiment lives in one of these frozen dataclasses. They validate themselves
in ``__post_init__``, so a bad value is refused *before* any compute, with a message naming the
parameter, the value and what is allowed. The modules: ``validate`` (the checks), ``core`` (one
NTP run), ``rl``, ``linear``, ``llm`` (the other runs), ``claims`` (a profile's per-claim blocks).
"""

from .claims import DigitMultiplication, Llama, NTPThreshold, PaperLlama, Profile, RLAfterNTP, TestTime
from .core import (PRECISIONS, STRATEGIES, ContinueNTPConfig, EvalConfig, ModelConfig, MultiplicationConfig,
                   NTPRunConfig,
                   PretrainConfig, SweepConfig, TaskConfig, config_key, to_dict, with_)
from .linear import LinearConfig
from .llm import LLM_DATA, LLMConfig, LLMDataConfig
from .rl import RL_ALGORITHMS, RL_REWARDS, RLConfig, RLRunConfig
from .validate import ConfigError, check, check_float, check_int, check_tuple

__all__ = ["ConfigError", "DigitMultiplication", "ContinueNTPConfig", "EvalConfig", "LLMConfig", "LLMDataConfig",
           "LLM_DATA", "LinearConfig", "Llama", "ModelConfig", "MultiplicationConfig", "NTPRunConfig", "NTPThreshold",
           "PRECISIONS", "PaperLlama", "PretrainConfig", "Profile", "RLAfterNTP", "RLConfig",
           "RLRunConfig", "RL_ALGORITHMS", "RL_REWARDS", "STRATEGIES", "SweepConfig", "TaskConfig",
           "TestTime", "check", "check_float", "check_int", "check_tuple", "config_key", "to_dict",
           "with_"]
