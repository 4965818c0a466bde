"""ABC with pyabc for sim.analysis.calibration: priors, a seeded sampler, and a stored run.

The posterior is pyabc's ABC-SMC run as a single generation at a fixed threshold, which is rejection
ABC: parameter sets drawn from the prior, kept when their programme lands within the threshold, all
with equal weight. Further SMC generations propose from a kernel density of the last one, and in
twenty dimensions their importance weights collapse (measured with the earlier uniform priors: an
effective sample size of 6 of 400 after one generation, 1.3 after four), so a threshold reached that
way would rest on a handful of parameter sets. pyabc's own parallel samplers reseed their workers
from the operating system, so two runs with the same seed differ; `SeededSampler` gives candidate k
of generation t its own seed and accepts in candidate order, so a run depends on its seed only, on
one core or many. A finished run is read back from its database; an interrupted one resumes from a
checkpoint of the candidates it had evaluated (with the same result).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from datetime import timedelta
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
from joblib import Parallel, delayed
from pyabc.sampler import Sampler

from sim.analysis.calibration import PRIORS, Prior, distance, simulate
from sim.core.metrics import PUBLISHED_ESTIMATES
from sim.core.posterior import Posterior, with_values
from sim.core.scenario import ScenarioConfig

log = logging.getLogger(__name__)


def candidate_seed(seed: int, generation: int, candidate: int) -> np.ndarray:
    """Generation -1 is pyabc's calibration sample, which sets the first threshold."""
    return np.random.SeedSequence([seed, generation + 1, candidate]).generate_state(4)


def _evaluate(simulate_one, seed: int, generation: int, candidates: range) -> list:
    """Candidates in order, each from its own seed (pyabc proposes with numpy's global RNG)."""
    particles = []
    for k in candidates:
        np.random.seed(candidate_seed(seed, generation, k))
        particles.append(simulate_one())
    return particles


class SeededSampler(Sampler):
    """Evaluates candidates 0, 1, 2, ... of each generation in chunks across `n_jobs` processes
    and keeps them in candidate order up to the n-th accepted one. With a `checkpoint` file,
    every evaluated batch is appended to it, and an interrupted generation resumes after the
    last complete batch: the candidates' own seeds make the result the same as without a stop."""

    def __init__(
        self, seed: int, n_jobs: int = 1, chunk: int = 20, checkpoint: Path | None = None
    ) -> None:
        super().__init__()
        self.seed, self.n_jobs, self.chunk, self.checkpoint = seed, n_jobs, chunk, checkpoint

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, **_):
        sample = self._create_empty_sample()
        done = 0

        def take(particles: list) -> None:
            nonlocal done
            for particle in particles:
                if sample.n_accepted >= n:
                    break
                sample.append(particle)
                done += 1

        take(evaluated(self.checkpoint, t))
        if done:
            log.info("generation %d resumed after %d candidates (%s)", t, done, self.checkpoint)
        with Parallel(n_jobs=self.n_jobs) as parallel:
            while sample.n_accepted < n and done < max_eval:
                starts = range(done, done + self.n_jobs * self.chunk, self.chunk)
                batches = parallel(
                    delayed(_evaluate)(simulate_one, self.seed, t, range(s, s + self.chunk))
                    for s in starts
                )
                particles = list(chain.from_iterable(batches))
                if self.checkpoint:
                    with self.checkpoint.open("ab") as file:
                        pickle.dump((t, particles), file)
                take(particles)
        self.nr_evaluations_ = done
        sample.ok = sample.n_accepted >= n
        return sample


def evaluated(checkpoint: Path | None, generation: int) -> list:
    """The candidates of `generation` a checkpoint holds, in order, up to its last complete
    batch (a batch cut short by a stop is dropped and evaluated again)."""
    particles: list = []
    if not (checkpoint and checkpoint.is_file()):
        return particles
    with checkpoint.open("rb") as file:
        while True:
            try:
                t, batch = pickle.load(file)
            except (EOFError, pickle.UnpicklingError):
                return particles
            if t == generation:
                particles += batch


class ProgrammeModel:
    """pyabc's model: one simulated programme per parameter set (a class, so workers can pickle
    it); its seed comes from the candidate's seeded draw."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config

    def __call__(self, parameter: dict) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**62))
        return simulate(with_values(self.config, dict(parameter)), seed)


def prior() -> pyabc.Distribution:
    def rv(p: Prior) -> pyabc.RV:
        return (
            pyabc.RV("loguniform", p.low, p.high)
            if p.log
            else pyabc.RV("uniform", p.low, p.high - p.low)
        )

    return pyabc.Distribution(**{p.key: rv(p) for p in PRIORS})


@dataclass(frozen=True)
class Settings:
    """How many parameter sets to accept, within which distance, and for how long at most."""

    population: int = 400
    epsilon: float = 0.5
    hours: float = 1.0


def abc_rejection(config: ScenarioConfig, db: Path, seed: int, settings: Settings, n_jobs: int):
    """The posterior towards the article's contrasts, run into `db` or read back from it when
    that run finished; an interrupted run resumes from its checkpoint beside `db`. Returns
    pyabc's History."""
    logging.getLogger("ABC").setLevel(logging.WARNING)
    url = f"sqlite:///{db}"
    checkpoint = db.with_name(
        f"{db.name}.seed{seed}-n{settings.population}-eps{settings.epsilon:g}.partial"
    )
    if db.is_file():
        history = pyabc.History(url)
        if history.max_t >= 0:
            return history
        db.unlink()  # stopped before its generation was stored: the checkpoint resumes it
    db.parent.mkdir(parents=True, exist_ok=True)
    abc = pyabc.ABCSMC(
        ProgrammeModel(config),
        prior(),
        distance,
        population_size=settings.population,
        eps=pyabc.ListEpsilon([settings.epsilon]),
        sampler=SeededSampler(seed, n_jobs, checkpoint=checkpoint),
    )
    abc.new(url, dict(PUBLISHED_ESTIMATES))
    history = abc.run(max_nr_populations=1, max_walltime=timedelta(hours=settings.hours))
    checkpoint.unlink(missing_ok=True)  # the generation is in the database now
    return history


def posterior_of(history) -> Posterior:
    """The last generation's parameter sets and weights."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    particles = frame[[p.key for p in PRIORS]].reset_index(drop=True)
    return Posterior(particles.assign(weight=np.asarray(weights) / np.sum(weights)))


def generations(history) -> pd.DataFrame:
    """Per generation: its acceptance threshold, simulations, acceptance rate and minutes."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].rename(columns={"samples": "simulations"})
    pops["acceptance_rate"] = history.get_nr_particles_per_population().loc[pops["t"]].to_numpy()
    pops["acceptance_rate"] /= pops["simulations"]
    pops["minutes"] = pops["wall_time"] / 60
    return pops[["t", "epsilon", "simulations", "acceptance_rate", "minutes"]]
