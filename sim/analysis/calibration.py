"""Calibrate with uncertainty: a posterior over the parameters the article cannot pin down.

The article reports one programme: the selection estimator for accreditation among hospitals (5.6)
and for CBHI coverage among districts (4.8), each the contrast of one noisy realisation with a
handful of members. Approximate Bayesian computation (pyabc, run by sim.analysis.abc) therefore
simulates one programme per proposed parameter set and keeps sets whose simulated contrasts land
near the published ones, while the literature bounds what each kind of programme may plausibly
deliver per study (`STUDIES`). The result is a sample of parameter sets, the posterior, which any
study can draw from (`calibration.sample=posterior`) so that reported intervals carry parameter
uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from sim.config import Sample
from sim.core.metrics import PUBLISHED_ESTIMATES, summarise
from sim.core.model import TwinningModel
from sim.core.posterior import with_values
from sim.core.run import replication_seeds
from sim.core.scenario import ScenarioConfig

# How far one simulated programme's contrast may sit from the published one, in points per unit of
# distance: about the spread of the article's estimator between replications of one parameter set
# (accreditation rests on ~3 choosing hospitals, CBHI on ~10 districts).
CONTRAST_SCALE = {"accreditation": 5.0, "cbhi_coverage": 2.0}
BAND_SCALE = 2.0  # points outside a study's plausible band per unit of distance


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: dotted config key, prior range, and why that range. A rate whose
    order of magnitude is unknown is log-uniform (`log`): uniform priors on a dozen such rates
    would add up to a prior on the programme's effect concentrated far above the literature's."""

    key: str
    low: float
    high: float
    reason: str
    log: bool = False

    def unit(self, values: np.ndarray) -> np.ndarray:
        """Position in the range, 0 to 1, on the prior's own (linear or log) scale."""
        f = np.log if self.log else np.asarray
        return (f(values) - f(self.low)) / (f(self.high) - f(self.low))

    def label(self) -> str:
        return f"{'log-uniform' if self.log else 'uniform'} [{self.low:g}, {self.high:g}]"


def rate(key: str, low: float, high: float, reason: str) -> Prior:
    return Prior(key, low, high, reason, log=True)


PRIORS = [
    rate("learning.peer_contact_rate", 0.005, 0.3, "monthly remote contact closes 0.5-30% of gap"),
    rate("learning.exchange_visit_rate", 0.05, 0.8, "a visit closes 5-80% of the gap"),
    rate("learning.coaching_rate", 0.003, 0.3, "a coaching session: 0.3% to a third of the gap"),
    rate("learning.network_workshop_rate", 0.003, 0.3, "a workshop: 0.3% to a third of the gap"),
    rate("learning.expert_visit_rate", 0.1, 1.0, "an expert visit: 10% to all of the gap"),
    Prior("network.expert_fit", 0.3, 0.95, "outsiders' know-how fits worse than a peer's (TPN 3)"),
    Prior("learning.leadership_weight", 0.1, 2.0, "engagement matters (TPN 1), exponent 0.1-2"),
    Prior("learning.fit_penalty", 0.0, 4.0, "resource-dissimilar teachers fit worse (TPN 2)"),
    Prior("learning.ceiling_exponent", 0.0, 1.5, "learning slows near 100, up to sharply"),
    Prior("learning.progress_motivation", 0.0, 0.5, "success motivates: up to half the headroom"),
    Prior("learning.interest_trend", 0.0, 8.0, "leaders' interest moves a KPI 0-8 points a year"),
    Prior("learning.measurement_sd", 0.5, 6.0, "audit scores and coverage are measured with error"),
    # members of a type differ at baseline; no source says which of the two spreads is wider
    Prior("topic.accreditation.baseline_sd", 5.0, 15.0, "hospitals' scores: sd 5-15 points"),
    Prior("topic.cbhi_coverage.baseline_sd", 5.0, 15.0, "districts' coverage: sd 5-15 points"),
    rate("learning.goal_work_rate", 0.001, 0.1, "goal work closes 0.1-10%/month of its gap"),
    rate("learning.goal_support", 0.05, 5.0, "a twin or expert multiplies goal work 1.05-6x"),
    Prior("learning.feasible_sd", 0.0, 4.0, "work can take a member 0-4 sds past its peers"),
    Prior("learning.reciprocity", 0.0, 0.5, "the stronger twin learns up to half as much"),
    Prior("learning.turnover_knowledge_loss", 0.0, 0.6, "a leaving leader takes up to 60%"),
    Prior("learning.turnover_tie_loss", 0.0, 0.6, "a leaving leader weakens the tie up to 60%"),
]


@dataclass(frozen=True)
class Study:
    """A kind of programme the literature has measured: how the model runs it, and the band its
    effect in goal topics at the programme's end (points, per study) plausibly lies in."""

    name: str
    settings: dict[str, object]
    low: float
    high: float
    source: str


STUDIES = [
    Study(
        "peer programme (TPN)",
        {"network.design": "tpn"},
        2.0,
        14.4,
        "peer-to-peer training +4.0, training at the work site adds 6.0-10.4 "
        "(Rowe et al., BMJ Glob Health 2021;6:e003229): from half the peer median to 4.0 + 10.4",
    ),
    Study(
        "outreach by experts",
        {"network.design": "external_expert"},
        4.3,
        20.6,
        "educational outreach +9.9, IQR 4.3-20.6 (Rowe et al., BMJ Glob Health 2021;6:e003229)",
    ),
    Study(
        "supervision with problem solving",
        {  # supervision is routine: a supervisor for every two members visits each goal monthly
            "network.design": "external_expert",
            "network.expert_followup": True,
            "network.n_experts": 20,
            "network.expert_visits_per_month": 4,
        },
        10.7,
        20.8,
        "routine supervision +10.7; supervisors solving problems with staff +14.2 to +20.8 "
        "(Rowe et al., Hum Resour Health 2022;20:1)",
    ),
]


def simulate(config: ScenarioConfig, seed: int) -> dict[str, float]:
    """One programme under `config` and the same members under every study's design: the
    article's two contrasts (from the TPN run) and each study's effect in goal topics. It runs
    the configured values, never a posterior draw: a candidate is judged by its own values."""
    config = replace(config, calibration=replace(config.calibration, sample=Sample.point))
    out: dict[str, float] = {}
    for study in STUDIES:
        row = summarise(TwinningModel(with_values(config, study.settings), seed).run())
        out[study.name] = row["mean_effect"]
        if study.settings["network.design"] == "tpn":
            out |= {topic: row[f"{topic}_estimate"] for topic in PUBLISHED_ESTIMATES}
    return out


def distance(simulated: dict[str, float], observed: dict[str, float]) -> float:
    """Misfit of one simulated programme: each contrast's distance from the published value in
    units of CONTRAST_SCALE, and each study's distance outside its band in units of BAND_SCALE
    (zero inside), combined as a Euclidean norm; infinite if a contrast is undefined."""
    fit = [(simulated[t] - observed[t]) / CONTRAST_SCALE[t] for t in PUBLISHED_ESTIMATES]
    outside = [
        max(s.low - simulated[s.name], 0.0, simulated[s.name] - s.high) / BAND_SCALE
        for s in STUDIES
    ]
    total = float(np.sqrt(np.sum(np.square(fit + outside))))
    return total if np.isfinite(total) else float("inf")


def predictive(
    config: ScenarioConfig, draw: Callable[[int], dict], draws: int, seed: int, n_jobs: int = 1
) -> pd.DataFrame:
    """One simulated programme per draw: `draw(seed)` gives its parameter set (a posterior's
    `draw`, or a constant for a point), the seeds are spawned from `seed`. Columns: the two
    contrasts and each study's effect."""

    def one(s: int) -> dict[str, float]:
        return simulate(with_values(config, draw(s)), s)

    seeds = replication_seeds(seed, draws)
    rows = Parallel(n_jobs=n_jobs)(delayed(one)(s) for s in seeds)
    return pd.DataFrame(rows)
