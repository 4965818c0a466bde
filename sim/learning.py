"""The learning rule, as array operations over all ties and topics at once.

A learner closes a share of its gap to its teacher in the tie's topic each month. The share is the
tie's intensity (contact plus this month's activities) times the learner's effort in that topic
(motivation, leadership engagement, dedicated time: TPN mechanisms 1, 2 and 5) times context fit
(similar resources transfer better: mechanism 3), and gains shrink near the 100-point ceiling.
"""

from __future__ import annotations

import numpy as np

from sim.config import LearningConfig


def effort(
    motivation: np.ndarray,
    leadership: np.ndarray,
    interest: np.ndarray,
    time: np.ndarray,
    cfg: LearningConfig,
) -> np.ndarray:
    """(N, K) effort in [0, 1]; multiplicative, so one missing ingredient stalls learning."""
    person = motivation**cfg.motivation_weight * time**cfg.time_weight
    return person[:, None] * (leadership[:, None] * interest) ** cfg.leadership_weight


def context_fit(resource_a: np.ndarray, resource_b: np.ndarray, penalty: float) -> np.ndarray:
    """1 for peers of equal resources, falling exponentially with the resource difference."""
    return np.exp(-penalty * np.abs(resource_a - resource_b))


def headroom(capacity: np.ndarray, exponent: float) -> np.ndarray:
    """Diminishing returns: the last points before 100 are the hardest to gain."""
    return (1 - np.clip(capacity, 0, 100) / 100) ** exponent


def tie_gains(
    capacity: np.ndarray,
    teacher_level: np.ndarray,
    learner: np.ndarray,
    teacher: np.ndarray,
    topic: np.ndarray,
    intensity: np.ndarray,
    effort_nk: np.ndarray,
    fit: np.ndarray,
    ceiling_exponent: float,
) -> np.ndarray:
    """Points each tie adds to its learner this month; zero where the teacher is not better."""
    own = capacity[learner, topic]
    gap = np.maximum(teacher_level[teacher, topic] - own, 0.0)
    share = np.minimum(intensity * effort_nk[learner, topic] * fit, 1.0)
    return share * gap * headroom(own, ceiling_exponent)


def per_cell(values: np.ndarray, row: np.ndarray, col: np.ndarray, shape: tuple[int, int]):
    """Sum values into an (N, K) array by (row, col): many ties may feed one cell."""
    flat = np.bincount(row * shape[1] + col, weights=values, minlength=shape[0] * shape[1])
    return flat.reshape(shape).astype(float, copy=False)  # bincount of nothing is int


def per_row(values: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(row, weights=values, minlength=n).astype(float, copy=False)


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
    return np.clip(new, 0, 1)
