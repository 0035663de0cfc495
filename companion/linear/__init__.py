"""The autoregressive linear model of the theory chapter, trained by NTP and then by STaR.

**The model (our reconstruction, in the spirit of Malach 2023).** The paper's linear model
is not public. Here every next response token is predicted by a *linear* function of a
*fixed* feature map of the context, with one weight matrix per response position (Malach's
time-inhomogeneous linear auto-regressive predictor). At response position ``k`` (0-based;
``k = 0`` predicts ``b_1``) with previous token ``t`` (``'='`` at ``k = 0``, else the
previously emitted bit) and prompt bits ``x = x_1 .. x_d``::

    phi(context) = e_k  (x)  e_t  (x)  (1, x_1, ..., x_d)        logits = W phi(context)

where ``e_k`` one-hot encodes the position (``d + 1`` of them: ``b_1..b_d`` and ``<eos>``),
``e_t`` the previous token (``0``, ``1`` or ``=``) and ``(x)`` is the outer product. The
logits range over the response alphabet ``0, 1, <eos>``. For a bit ``t`` the block
``e_t (x) (1, x)`` spans ``{1, t, x_i, t * x_i}``: the bits, the previous token and their
pairwise products, a degree-2 feature map of dimension ``3 (d+1)^2``, polynomial in ``d``.

Why this map (the two properties the theory needs):

* **Each chain step is linear.** ``b_k = b_(k-1) xor x_k = t + x_k - 2 t x_k`` is an affine
  function of the features at position ``k``, so ``logit(1) - logit(0) = M (2 b_k - 1)`` is
  linear in ``phi`` and the chain is learned to any accuracy as ``M`` grows. The weights
  must *find* which bit a position reads (all ``d`` bits are offered at every position):
  learning the chain is a real, polynomial-size learning problem.
* **The one-step answer is not.** Every coordinate of ``phi`` depends on at most one prompt
  bit (given the previous token), and the parity of ``m >= 2`` uniform bits is uncorrelated
  with every function of fewer than ``m`` of them. So the direct answer ``y`` at position 0
  (``m = d``), and the stop-or-continue decision after ``b_1 = x_1`` (which depends on
  ``y xor x_1``, ``m = d - 1``), look like fair coins to the model (``d >= 3``). A linear model
  that outputs ``y`` in one step needs the degree-``d`` monomial; a fixed feature map that
  contains it without knowing the task contains all ``2^d`` of them (exponential size), and
  then needs ``~2^d`` samples: :class:`PromptTable` is that learner.

So after NTP this model is exactly the "learned everything except x -> y" model of
:mod:`companion.theory`, and its predictions (the 1/3 greedy threshold, calibration in
length, the STaR recursion ``p -> 2p/(1+p)``) can be checked against it numerically.

**Training.** NTP minimises the summed cross-entropy on response tokens plus
``l2/2 |W|^2`` (MAP with a Gaussian prior) by full-batch L-BFGS. The problem is convex, so
a fit has no seed; the ridge keeps the optimum finite, because chain steps are deterministic
and would push weights to infinity. STaR samples at temperature 1, keeps the correct
responses and refits on them (warm-started: the optimum does not depend on the start).

**Experiments** (cached by the complete :class:`~companion.config.LinearConfig`):
:func:`threshold_sweep` (Theorem 1), :func:`star_experiment` (Theorem 2) and
:func:`samples_vs_d` (sample complexity), each a tidy DataFrame.

**Modules.** :mod:`.model` (the model, its feature map, :func:`ideal_model`), :mod:`.train`
(NTP targets and loss, the L-BFGS :func:`fit`, :func:`fit_ntp`, :func:`star_round`),
:mod:`.table` (:class:`PromptTable`), :mod:`.measurements` (metrics, decision probabilities,
the chapter's checks) and :mod:`.sweeps` (the three cached experiments and their summaries).
Everything public is re-exported here.
"""

from .measurements import (all_prompts, decision_probs, expected_long_frac, greedy_threshold, measure,
                           measure_greedy, star_checks, threshold_checks)
from .model import CLASS_OF_TOKEN, N_OUT, N_PREV, OUT_TOKENS, LinearAR, feature_names, ideal_model
from .sweeps import (STAR_LEARNER, TABLE_LEARNER, fit_slopes, kappa_learner, min_samples, samples_vs_d,
                     star_experiment, star_n, star_run, star_summary, threshold_sweep)
from .table import PromptTable
from .train import (HEAD, PositionBlock, Tokens, block_loss_grad, fit, fit_ntp, linear_ntp_loss,
                    response_tokens, star_round)

__all__ = [
    # model
    "OUT_TOKENS", "N_OUT", "N_PREV", "CLASS_OF_TOKEN", "LinearAR", "ideal_model", "feature_names",
    # train
    "HEAD", "PositionBlock", "Tokens", "response_tokens", "block_loss_grad", "linear_ntp_loss", "fit",
    "fit_ntp", "star_round",
    # table
    "PromptTable",
    # measurements
    "measure", "measure_greedy", "decision_probs", "expected_long_frac", "all_prompts", "greedy_threshold",
    "threshold_checks", "star_checks",
    # sweeps
    "threshold_sweep", "star_experiment", "samples_vs_d", "star_run", "star_n", "min_samples", "star_summary",
    "fit_slopes", "STAR_LEARNER", "TABLE_LEARNER", "kappa_learner",
]
