"""The training shell (``shell``), the data streams (``data``), next-token prediction (``ntp``)
and RL (``rl``), all run by Lightning's Trainer."""

from .ntp import NTPModule, NTPResult, TrainingInterrupted, build_model, ntp_run, results_frame, train_ntp
from .rl import TaskRL, RLModule, RLResult, histories, rl_run, rl_task, rollout, summarize, train_rl

__all__ = ["NTPModule", "NTPResult", "TaskRL", "RLModule", "RLResult", "TrainingInterrupted",
           "build_model", "histories", "ntp_run", "results_frame", "rl_run", "rl_task", "rollout",
           "summarize", "train_ntp", "train_rl"]
