"""The config of chapter 5's autoregressive linear model experiments."""

from __future__ import annotations

from dataclasses import dataclass

from .validate import check, check_float, check_int


@dataclass(frozen=True)
class LinearConfig:
    """Chapter 5: the autoregressive linear model (companion/linear/), NTP then STaR."""

    d: int = 16  # prompt bits in the p_cot sweep and the STaR runs
    l2: float = 1e-3  # ridge on the summed NTP loss (a Gaussian prior): keeps the optimum finite
    max_iter: int = 50  # L-BFGS iterations per fit and block of positions (STaR fits warm-start)
    n_eval: int = 2000  # fresh prompts per measurement (greedy and temperature 1)
    seeds: tuple[int, ...] = (0, 1)  # independent data streams (the model itself starts at zero)
    threshold_n: int = 20000  # NTP sequences per run of the p_cot sweep
    threshold_p_cots: tuple[float, ...] = (0.2, 0.25, 0.3, 0.32, 0.34, 0.36, 0.4, 0.5)
    # STaR from small p_cot: d^-kappa (poly) down to 2^-d (exponentially small: expected to fail)
    star_p_cots: tuple[float, ...] = (0.25, 0.1, 16 ** -1, 16 ** -1.5, 16 ** -2, 2.0 ** -16)
    star_long: int = 1000  # a STaR run draws star_long / p_cot sequences per phase (NTP, each round) ...
    star_n_max: int = 40000  # ... at most this many: the polynomial budget
    star_rounds: int = 10  # at most this many STaR rounds
    star_target: float = 0.99  # greedy accuracy that counts as perfect generalization
    sample_ds: tuple[int, ...] = (8, 16, 32, 64)  # samples-vs-d: NTP + STaR with the linear model
    sample_p_cot: float = 0.1  # short-heavy data, below the 1/3 threshold
    sample_target: float = 0.95  # greedy accuracy to reach
    sample_n0: int = 200  # first guess of the per-phase sample size, per bit of d (search starts here)
    sample_rounds: int = 6  # STaR rounds allowed per attempt
    table_ds: tuple[int, ...] = (8, 10, 12, 14, 16)  # samples-vs-d: NTP alone with 2^d features
    # samples-vs-d in the theorem's own regime, p_cot = d^-kappa: NTP + STaR at these d (may be
    # empty; the sample size grows like 1/p_cot, so these cost the most)
    kappa: float = 1.0
    kappa_ds: tuple[int, ...] = (8, 16, 32)
    # ... and at a steeper power (rarer long data as d grows; may be empty)
    steep_kappa: float = 1.5
    steep_kappa_ds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_int("d", self.d, 3, 512)  # d >= 3: the stop decision depends on the parity of d-1 >= 2 bits
        check_float("l2", self.l2, 0.0, 1e6, open_low=True)
        check_int("max_iter", self.max_iter, 1)
        check_int("n_eval", self.n_eval, 1)
        check_int("threshold_n", self.threshold_n, 1)
        check_int("star_long", self.star_long, 1)
        check_int("star_n_max", self.star_n_max, 1)
        check_int("star_rounds", self.star_rounds, 0)
        check_float("star_target", self.star_target, 0.5, 1.0, open_low=True)
        check_float("sample_p_cot", self.sample_p_cot, 0.0, 1.0, open_low=True)
        check_float("sample_target", self.sample_target, 0.5, 1.0, open_low=True)
        check_int("sample_n0", self.sample_n0, 1)
        check_int("sample_rounds", self.sample_rounds, 0)
        for name in ("seeds", "threshold_p_cots", "star_p_cots", "sample_ds", "table_ds"):
            value = getattr(self, name)
            check(isinstance(value, tuple) and len(value) > 0, name, value, "must be a non-empty tuple")
        for s in self.seeds:
            check_int("seeds[i]", s, 0)
        for p in self.threshold_p_cots:
            check_float("threshold_p_cots[i]", p, 0.0, 1.0)
        for p in self.star_p_cots:
            check_float("star_p_cots[i]", p, 0.0, 1.0, open_low=True)
            check(p < 1.0, "star_p_cots[i]", p, "must be < 1 (some short data)")
        for d in self.sample_ds:
            check_int("sample_ds[i]", d, 3, 512)
        for d in self.table_ds:
            check_int("table_ds[i]", d, 3, 26)  # the table learner streams ~2^d prompts
        check_float("kappa", self.kappa, 0.0, 4.0, open_low=True)
        check_float("steep_kappa", self.steep_kappa, self.kappa, 4.0, open_low=True)
        for name in ("kappa_ds", "steep_kappa_ds"):
            check(isinstance(getattr(self, name), tuple), name, getattr(self, name), "must be a tuple")
            for d in getattr(self, name):
                check_int(f"{name}[i]", d, 3, 512)
