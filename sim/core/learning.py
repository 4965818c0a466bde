"""The learning rule, as array operations over all ties and topics at once.

A learner closes a share of its gap to its teacher in the tie's topic each month. The share is the
tie's intensity (contact plus this month's activities) times the learner's effort in that topic
(motivation, leadership engagement, dedicated time: TPN mechanisms 1, 2 and 5) times context fit
(similar resources transfer better: mechanism 3), and gains shrink near the 100-point ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sim.config import LearningConfig


@dataclass
class TieBatch:
    """Ties active in one month. Cells are flat (row * K + topic) indices, computed once per batch.

    A teacher row at or above N is an outside expert; `peer` (0/1) marks ties whose teacher is a
    member, who then also learns by teaching and whose contact motivates the learner.
    """

    learner: np.ndarray
    learner_cell: np.ndarray
    teacher_cell: np.ndarray
    intensity: np.ndarray
    fit: np.ndarray
    peer: np.ndarray

    @classmethod
    def build(cls, learner, teacher, topic, intensity, fit, peer, n_topics: int) -> TieBatch:
        return cls(
            learner,
            learner * n_topics + topic,
            teacher * n_topics + topic,
            intensity,
            fit,
            np.asarray(peer, dtype=float),
        )

    @classmethod
    def concat(cls, batches: list[TieBatch]) -> TieBatch:
        if len(batches) == 1:
            return batches[0]
        return cls(*(np.concatenate([getattr(b, f) for b in batches]) for f in cls.__annotations__))


@dataclass
class MonthGains:
    gained: np.ndarray  # (N, K) points learned this month
    goal_gain: np.ndarray  # (N,) mean points gained per goal topic
    peer_contact: np.ndarray  # (N,) fit-weighted intensity of contact with peers


def engagement(leadership: np.ndarray, interest: np.ndarray, cfg: LearningConfig) -> np.ndarray:
    """(N, K) leadership's part of effort; it changes only when a leader does."""
    return (leadership[:, None] * interest) ** cfg.leadership_weight


def effort(
    motivation: np.ndarray, time: np.ndarray, engaged: np.ndarray, cfg: LearningConfig
) -> np.ndarray:
    """(N, K) effort in [0, 1]; multiplicative, so one missing ingredient stalls learning.
    `engaged` is `engagement(leadership, interest)`."""
    person = motivation**cfg.motivation_weight * time**cfg.time_weight
    return person[:, None] * engaged


def context_fit(resource_a: np.ndarray, resource_b: np.ndarray, penalty: float) -> np.ndarray:
    """1 for peers of equal resources, falling exponentially with the resource difference."""
    return np.exp(-penalty * np.abs(resource_a - resource_b))


def bounded(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """np.clip without its Python overhead, which dominates on arrays of a few hundred cells."""
    return np.minimum(np.maximum(x, low), high)


def headroom(capacity: np.ndarray, exponent: float) -> np.ndarray:
    """Diminishing returns: the last points before 100 are the hardest to gain."""
    return (1 - capacity / 100) ** exponent


def tie_gains(
    capacity: np.ndarray,
    teacher_level: np.ndarray,
    room: np.ndarray,
    effort_nk: np.ndarray,
    ties: TieBatch,
) -> tuple[np.ndarray, np.ndarray]:
    """Points each tie adds to its learner this month, and the gap to its teacher (>= 0).

    `teacher_level` is capacity with the experts' rows below; `room` is `headroom(capacity)`.
    """
    cell = ties.learner_cell
    gap = np.maximum(teacher_level.ravel()[ties.teacher_cell] - capacity.ravel()[cell], 0.0)
    share = np.minimum(ties.intensity * effort_nk.ravel()[cell] * ties.fit, 1.0)
    return share * gap * room.ravel()[cell], gap


def feasible_levels(
    typical: np.ndarray, spread: np.ndarray, resource: np.ndarray, feasible_sd: float
) -> np.ndarray:
    """(N, K) the level a member's own work can reach in each topic: what members of its type
    with its resources typically show, plus `feasible_sd` of the type's baseline spread. Gains
    then scale with how much members of a kind differ (what peers show is possible), not with
    the distance to 100, which would favour low-baseline topics many times over."""
    predicted = ndtri(bounded(resource, 0.001, 0.999))[:, None]  # resources on the sd scale
    return bounded(typical + spread * (predicted + feasible_sd), 0, 100)


def goal_work(
    capacity: np.ndarray,
    feasible: np.ndarray,
    effort_nk: np.ndarray,
    goals: np.ndarray,
    ties: TieBatch,
    pace: float,
    cfg: LearningConfig,
) -> np.ndarray:
    """(N, K) points a member's own work on its goals adds this month (plan, follow-up,
    accountability to its twin and the network): a share of its gap to what its resources make
    feasible, not to its teacher's level, so a whole network can pass its best member. Effort
    drives it; this month's ties (contact and activities, times context fit) support it by
    what they add in know-how. `pace` is 1 in the programme, less once it has ended."""
    support = np.bincount(ties.learner_cell, ties.intensity * ties.fit, capacity.size)
    boost = 1 + cfg.goal_support * support.reshape(capacity.shape)
    share = np.minimum(cfg.goal_work_rate * pace * effort_nk * boost, 1.0)
    return share * np.maximum(feasible - capacity, 0.0) * goals


def learn(
    capacity: np.ndarray,
    teacher_level: np.ndarray,
    ties: TieBatch,
    effort_nk: np.ndarray,
    goal_weight: np.ndarray,
    others: np.ndarray,
    cfg: LearningConfig,
    work: np.ndarray | None = None,
) -> MonthGains:
    """One month of learning: along ties, back to peer mentors, from members' own work on their
    goals (`work`, if any), and spilling into `others`.

    `goal_weight` is (N, K), 1 / (number of goals) in goal cells and 0 elsewhere, so that a
    weighted row sum is the mean gain per goal; `others` masks the non-goal topics that apply.
    """
    room = headroom(capacity, cfg.ceiling_exponent)
    gains, gap = tie_gains(capacity, teacher_level, room, effort_nk, ties)
    size = capacity.size
    gained = np.bincount(ties.learner_cell, gains, size)
    taught = np.bincount(ties.teacher_cell, gains * ties.peer, teacher_level.size)[:size]
    gained = (gained + cfg.mentor_share * taught * room.ravel()).reshape(capacity.shape)
    if work is not None:
        gained += work
    goal_gain = (gained * goal_weight).sum(axis=1)
    gained += cfg.spillover * goal_gain[:, None] * others * room
    from_better_peer = ties.intensity * ties.fit * ties.peer * (gap > 0)  # mechanism 2
    contact = np.bincount(ties.learner, from_better_peer, len(capacity))
    return MonthGains(gained, goal_gain, contact)


def updated_motivation(
    motivation: np.ndarray,
    baseline: np.ndarray,
    goal_gain: np.ndarray,
    peer_contact: np.ndarray,
    coaching: np.ndarray,
    cfg: LearningConfig,
) -> np.ndarray:
    """Motivation rises with progress, peer contact and coaching, and relaxes to its baseline."""
    lift = (
        cfg.progress_motivation * (1 - np.exp(-np.maximum(goal_gain, 0)))
        + cfg.peer_motivation * np.minimum(peer_contact, 1)
        + coaching
    )
    new = motivation + np.minimum(lift, 1) * (1 - motivation)
    new -= cfg.motivation_decay * (new - baseline)
    return bounded(new, 0, 1)
