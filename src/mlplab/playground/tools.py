"""The learning-rate finder in the page: "lr_find" runs ``mlplab.lr_find`` (the range test) on a
run's current setup and sends its result.

The range test trains copies of the run's network and optimizer (the run itself is left as it
was, bit for bit: ``lr_find`` says so and its tests check it) on the run's training data, with
its loss, penalty, batch size and seed, for ``num_steps`` updates at learning rates growing
from ``start_lr`` to ``end_lr``; the page draws the curve and applies the suggestion, rounded to
three significant digits (``applied``), with one click.
"""

from __future__ import annotations

from ..lr_finder import lr_find as range_test
from .protocol import integer, message, real

__all__ = ["lr_find", "MAX_STEPS"]

MAX_STEPS = 1000  # updates of one range test, at most (it runs between two chunks of training)


def run_range_test(r, num_steps=200, start_lr=1e-5, end_lr=10.0):
    """``mlplab.lr_find`` on run ``r``'s current network, optimizer, data, loss and penalty."""
    return range_test(
        r.model,
        r.F_train,
        r.Y_train,
        r.trainer.loss,
        r.trainer.optimizer,
        start_lr=start_lr,
        end_lr=end_lr,
        num_steps=num_steps,
        batch_size=r.batch_size,
        regularizer=r.trainer.regularizer,
        seed=r.seed,
    )


@message(
    "lr_find",
    num_steps=(integer(10, MAX_STEPS), 200),
    start_lr=(real(1e-7, 1.0), 1e-5),
    end_lr=(real(1e-4, 10.0), 10.0),
)
def lr_find(session, run, num_steps, start_lr, end_lr):
    """The range test on the run named; answered with an "lr_find" message: the fields of
    ``LRFindResult.to_dict()``, ``applied`` (the suggestion to three significant digits, None
    without one: ``no_suggestion`` says why), and the run's ``rev`` and ``config`` it measured
    (the page tells a result of an earlier setup by them). The handler of the "lr_find" message (``protocol.message``).

    Parameters
    ----------
    session : Session
        The page's session.
    run : str
        The run's name ("main" or a race's lane), checked by ``protocol.parse``.
    num_steps : int in [10, MAX_STEPS], default 200
        Updates of the test.
    start_lr, end_lr : float, defaults 1e-5 and 10
        The range swept (start in [1e-7, 1], end in [1e-4, 10]); ``lr_find`` refuses an end
        not above the start (ArgumentError, sent to the page as an "error" message).
    """
    result = run_range_test(session.runs[run], num_steps, start_lr, end_lr)
    s = result.suggestion
    session.outbox.send_json(
        type="lr_find",
        run=run,
        rev=session.rev,
        config=session.runs[run].cfg,
        **result.to_dict(),
        applied=None if s is None else float(f"{s:.3g}"),
    )
