"""The reader's knobs: papermill parameters beyond ``profile`` that change a chapter's experiment.

Each chapter declares the knobs its experiment really uses (:data:`CHAPTERS`); ``None`` (the
default in every parameters cell) keeps the profile's value. A knob has one meaning wherever it
is declared (``d`` is the headline run's d in chapters 1-4; chapter 5's linear model has
``linear_d``), so ``python -m companion book -p d 20`` means the same in every chapter that
receives it. Knobs are validated like every config (:class:`Knobs` checks each value, then
:meth:`Knobs.apply` builds a new :class:`~companion.config.Profile`, whose own checks run again),
and change the runs' configs, hence their cache keys. No knobs: the profile itself, unchanged.

A chapter's first setup cell calls :func:`chapter_profile` with its ``globals()``: a name there
that the chapter does not declare (``p_kot = 0.2``, injected by papermill) is refused, where
papermill itself only warns "Passed unknown parameter".
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import ConfigError, Profile, check, check_float, check_int, with_

# one line per knob: what it means (the parameters cells and the README say the same)
HELP = {
    "d": "input bits of the headline run (chapters 2-4: the long runs, RL's start)",
    "p_cot": "fraction of long (chain) data of the headline run",
    "ntp_steps": "NTP steps of the headline run (chapter 2's long runs, the run RL starts from)",
    "sweep_steps": "NTP steps of each run of chapter 2's p_cot sweep",
    "sweep_seeds": "seeds of chapter 2's p_cot sweep, a list, e.g. [0, 1, 2]",
    "rl_steps": "steps of the headline RL run (GRPO) and of its variants",
    "rl_seeds": "GRPO seeds from the one NTP start, a list, e.g. [0, 1, 2]",
    "ntp_seeds": "NTP seeds of RL's start, a list starting with the headline's 0, e.g. [0, 1, 2]",
    "linear_d": "input bits of chapter 5's linear model (its d^-k STaR p_cots follow d)",
    "linear_seeds": "data seeds of chapter 5's linear model, a list, e.g. [0, 1]",
    "worded_d": "outcomes per worded-parity problem, chapter 6 tier (a) (the response budget follows d)",
    "worded_p_cot": "fraction of worked (long) solutions in tier (a)'s SFT mixture",
    "worded_sft_steps": "SFT steps of tier (a)",
}

# the knobs of each chapter: what its experiment uses (chapter 4 reuses chapter 3's GRPO runs and
# start, so it takes the same knobs; chapter 1 shows the headline task)
_HEADLINE = ("d", "p_cot")
_RL = (*_HEADLINE, "ntp_steps", "rl_steps", "rl_seeds", "ntp_seeds")
CHAPTERS: dict[str, tuple[str, ...]] = {
    "01_setup": _HEADLINE,
    "02_ntp": (*_HEADLINE, "ntp_steps", "sweep_steps", "sweep_seeds"),
    "03_rl": _RL,
    "04_test_time": _RL,
    "05_linear": ("linear_d", "linear_seeds"),
    "06_llama": ("worded_d", "worded_p_cot", "worded_sft_steps"),
    # none: under cpu its runs come from `make multiplication`, which trains the profile's own
    "07_multiplication": (),
}
# parameters a chapter reads itself (not part of the profile): name -> what it is
PASSTHROUGH: dict[str, dict[str, str]] = {
    "06_llama": {"llama_dir": "tier (c): a local checkpoint directory (default: $COMPANION_LLAMA_DIR)",
                 "data_files": "tier (c): GSM8K/MATH JSON-lines paths, ':'-separated "
                               "(default: $COMPANION_LLM_DATA)"},
}
# IPython's own names in a kernel's globals (besides the `_`-prefixed ones)
_IPYTHON = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})
# papermill injects only literals: other values (modules, functions, classes) are never parameters
_LITERALS = (type(None), bool, int, float, str, list, tuple, dict)
_SEEN = "_companion_knobs_checked"  # set in a chapter's globals once its names were checked


def _seeds(name: str, value: Any) -> tuple[int, ...] | None:
    """A list of seeds as a tuple; a string (papermill's ``-p sweep_seeds "[0, 1]"``) is parsed."""
    if value is None:
        return None
    if isinstance(value, str):
        value = literal(value)
    ok = (isinstance(value, (list, tuple)) and len(value) > 0
          and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
          and len(set(value)) == len(value))
    check(ok, name, value, "must be a non-empty list of distinct integers >= 0, e.g. [0, 1, 2]")
    return tuple(value)


@dataclass(frozen=True)
class Knobs:
    """The reader's knobs, each ``None`` (the profile's value) or checked here (see :data:`HELP`)."""

    d: int | None = None
    p_cot: float | None = None
    ntp_steps: int | None = None
    sweep_steps: int | None = None
    sweep_seeds: tuple[int, ...] | None = None
    rl_steps: int | None = None
    rl_seeds: tuple[int, ...] | None = None
    ntp_seeds: tuple[int, ...] | None = None
    linear_d: int | None = None
    linear_seeds: tuple[int, ...] | None = None
    worded_d: int | None = None
    worded_p_cot: float | None = None
    worded_sft_steps: int | None = None

    def __post_init__(self) -> None:
        # the ranges of the configs each knob lands in, checked here to name the knob itself
        ints = {"d": (2, 512), "ntp_steps": (1, None), "sweep_steps": (1, None),
                "rl_steps": (1, None), "linear_d": (3, 512), "worded_d": (2, 256),
                "worded_sft_steps": (0, None)}
        for name, (low, high) in ints.items():
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), low, high)
        for name in ("p_cot", "worded_p_cot"):
            if getattr(self, name) is not None:
                check_float(name, getattr(self, name), 0.0, 1.0)
                # 1 and 1.0 are one value: the same run, the same cache key
                object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("sweep_seeds", "rl_seeds", "ntp_seeds", "linear_seeds"):
            object.__setattr__(self, name, _seeds(name, getattr(self, name)))

    def given(self) -> dict[str, Any]:
        """The knobs that are set (not ``None``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    def apply(self, prof: Profile) -> Profile:
        """``prof`` with these knobs: a new Profile (its checks run), or ``prof`` itself if none."""
        if not self.given():
            return prof
        rep = dataclasses.replace
        head, thr, rl, lin, llama = (prof.headline, prof.ntp_threshold, prof.rl_after_ntp,
                                     prof.linear, prof.llama)
        if self.d is not None:
            head = with_(head, d=self.d)  # block_size follows d
        if self.p_cot is not None:
            # chapter 2's long run at the headline p_cot is the run RL starts from: it follows
            old = head.task.p_cot
            long_p = tuple(dict.fromkeys(self.p_cot if math.isclose(p, old) else p
                                         for p in thr.long_run_p_cots))
            head = with_(head, p_cot=self.p_cot)
            thr = rep(thr, long_run_p_cots=long_p if self.p_cot in long_p else (self.p_cot, *long_p))
        if self.ntp_steps is not None:
            # chapter 3 also starts RL from earlier checkpoints of the run: those that fall inside
            # it are kept (the headline keeps them too: with_), and at least the first must
            early = min(rl.early_steps, default=0)
            check(self.ntp_steps > early, "ntp_steps", self.ntp_steps,
                  f"must be an integer > {early} under profile '{prof.name}' (chapter 3 also starts "
                  f"RL from the run's step-{early} checkpoint)")
            head = with_(head, steps=self.ntp_steps)
            thr = rep(thr, long_run_steps=self.ntp_steps)
            rl = rep(rl, start_steps=self.ntp_steps,
                     early_steps=tuple(k for k in rl.early_steps if k < self.ntp_steps))
        sweep = thr.sweep
        if self.sweep_steps is not None:
            sweep = rep(sweep, base=with_(sweep.base, steps=self.sweep_steps))
        if self.sweep_seeds is not None:
            sweep = rep(sweep, seeds=self.sweep_seeds)
        thr = rep(thr, sweep=sweep)
        if self.rl_steps is not None:
            rl = rep(rl, rl=rep(rl.rl, steps=self.rl_steps))
        if self.rl_seeds is not None:
            rl = rep(rl, seeds=self.rl_seeds)
        if self.ntp_seeds is not None:
            rl = rep(rl, ntp_seeds=self.ntp_seeds)
        if self.linear_d is not None:
            lin = rep(lin, d=self.linear_d,
                      star_p_cots=tuple(_follow_d(p, lin.d, self.linear_d) for p in lin.star_p_cots))
        if self.linear_seeds is not None:
            lin = rep(lin, seeds=self.linear_seeds)
        worded = llama.worded
        if self.worded_d is not None:
            # the long answer is one word per outcome: keep the profile's headroom above d
            budget = worded.max_new_tokens + max(0, self.worded_d - worded.data.d)
            worded = rep(worded, data=rep(worded.data, d=self.worded_d), max_new_tokens=budget)
        if self.worded_p_cot is not None:
            worded = rep(worded, data=rep(worded.data, p_cot=self.worded_p_cot))
        if self.worded_sft_steps is not None:
            worded = rep(worded, sft_steps=self.worded_sft_steps)
        return rep(prof, headline=head, ntp_threshold=thr, rl_after_ntp=rl, linear=lin,
                   llama=rep(llama, worded=worded))


def _follow_d(p: float, old_d: int, new_d: int) -> float:
    """A STaR p_cot written relative to d (d^-1, d^-1.5, d^-2, 2^-d) at the new d; others kept."""
    if math.isclose(p, 2.0 ** -old_d, rel_tol=1e-9):
        return 2.0 ** -new_d
    for kappa in (1, 1.5, 2):
        if math.isclose(p, old_d ** -kappa, rel_tol=1e-9):
            return new_d ** -kappa
    return p


KNOBS = tuple(f.name for f in dataclasses.fields(Knobs))


def declared(chapter: str) -> tuple[str, ...]:
    """Every parameter ``chapter`` accepts: ``profile``, its knobs, what it reads itself."""
    check(chapter in CHAPTERS, "chapter", chapter, f"must be one of {list(CHAPTERS)}")
    return ("profile", *CHAPTERS[chapter], *PASSTHROUGH.get(chapter, {}))


def _unknown(name: str, value: Any, accepted: tuple[str, ...], where: str) -> ConfigError:
    near = difflib.get_close_matches(name, accepted, n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    # the wording of every config error (validate.check)
    return ConfigError(f"invalid {name}={value!r}: is not a parameter of {where}{hint}; "
                       f"accepted: {', '.join(accepted)}.")


def validate(chapter: str, params: Mapping[str, Any]) -> Knobs:
    """The knobs in ``params`` (papermill parameters, ``profile`` and pass-through ones included);
    a name ``chapter`` does not declare raises :class:`ConfigError` naming it and the accepted ones."""
    accepted = declared(chapter)
    for name, value in params.items():
        if name not in accepted:
            raise _unknown(name, value, accepted, f"chapter {chapter}")
    for name in PASSTHROUGH.get(chapter, {}):
        value = params.get(name)
        check(value is None or isinstance(value, str), name, value, "must be a string or None")
    return Knobs(**{k: v for k, v in params.items() if k in KNOBS})


def _parameters(ns: Mapping[str, Any]) -> dict[str, Any]:
    """The names in a chapter's globals that can be papermill parameters."""
    return {k: v for k, v in ns.items()
            if not k.startswith("_") and k not in _IPYTHON and isinstance(v, _LITERALS)}


def chapter_profile(chapter: str, ns: dict[str, Any]) -> Profile:
    """The profile a chapter runs under: ``get_profile(ns["profile"])`` with the knobs in ``ns``
    (the chapter's ``globals()`` after its parameters cell) applied.

    Every literal-valued public name in ``ns`` is a parameter (papermill injects literals after
    the parameters cell); one the chapter does not declare is refused. When a reader reruns the
    cell in Jupyter, the names of the later cells are in ``ns`` too: only the values are checked
    again then (the names were checked on the first run).
    """
    from .profiles import DEFAULT_PROFILE, get_profile

    name = ns.get("profile", DEFAULT_PROFILE)
    check(isinstance(name, str), "profile", name, "must be a profile name (a string)")
    params = _parameters(ns)
    if ns.get(_SEEN):
        params = {k: v for k, v in params.items() if k in declared(chapter)}
    knobs = validate(chapter, params)
    prof = knobs.apply(get_profile(name))
    ns[_SEEN] = True
    return prof


def for_chapter(chapter: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The book-wide ``params`` that ``chapter`` declares (each chapter receives only its own);
    a chapter this module does not know (a scratch book's) receives them all, to judge itself."""
    if chapter not in CHAPTERS:
        return dict(params or {})
    mine = declared(chapter)
    return {k: v for k, v in (params or {}).items() if k in mine}


def check_book(profile: str, chapters: list[str], params: Mapping[str, Any]) -> None:
    """Validate book-wide ``params`` (``book -p``) before any chapter executes: each must be
    declared by one of ``chapters`` (by name) and valid for every chapter that declares it."""
    from .profiles import get_profile

    check("profile" not in params, "profile", params.get("profile"),
          "is set with --profile, not -p")
    chapters = [ch for ch in chapters if ch in CHAPTERS]
    mine = {ch: for_chapter(ch, params) for ch in chapters}
    accepted = tuple(dict.fromkeys(k for ch in chapters for k in declared(ch) if k != "profile"))
    for name, value in params.items():
        if not any(name in got for got in mine.values()):
            raise _unknown(name, value, accepted, "the selected chapters " + ", ".join(chapters))
    prof = get_profile(profile)
    for ch, got in mine.items():
        validate(ch, got).apply(prof)


def literal(text: str) -> Any:
    """``text`` as a Python literal (``0.2``, ``[0, 1]``, ``None``), else as YAML (``true``,
    ``null``), else the string itself (a path)."""
    import yaml

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def table() -> list[dict[str, str]]:
    """One row per parameter: its name, the chapters that declare it, what it means."""
    rows: dict[str, list[str]] = {}
    for ch in CHAPTERS:
        for name in declared(ch)[1:]:
            rows.setdefault(name, []).append(ch.split("_")[0].lstrip("0"))
    helps = {**HELP, **{k: v for extra in PASSTHROUGH.values() for k, v in extra.items()}}
    return [{"name": n, "chapters": ", ".join(chs), "meaning": helps[n]} for n, chs in rows.items()]
