"""`tpn-sim`, the Hydra command line, run as a real subprocess in a temporary folder.

Covers a single run and its results folder, --help and --cfg, the one-line errors of the
pre-flight validation (which must leave no output folder behind), and re-runs that find their
results instead of recomputing them.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import ScenarioConfig
from sim.analysis.sensitivity import JobConfig
from sim.config import ConfigError
from sim.core.designs.base import DESIGNS
from sim.core.posterior import SHIPPED
from sim.interfaces.cli import preflight
from sim.interfaces.hydra_config import compose_scenario, composed, hydra_configs
from sim.results.store import code_hash, config_key, file_digests, is_complete, sweep_dirname

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MANIFEST_KEYS = {
    "config_key",
    "root_seed",
    "replications",
    "overrides",
    "command",
    "started",
    "finished",
    "packages",
    "git_commit",
    "files",
}


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, tpn_sim):
    """`tpn-sim replications=2` in an empty folder: (working dir, run folder, completed process)."""
    cwd = tmp_path_factory.mktemp("cli")
    done = tpn_sim("replications=2", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd, cwd / "results" / "runs" / "replications=2", done


# --- a single run ------------------------------------------------------------------------------


def test_single_run_prints_a_summary_table(single_run) -> None:
    _, _, done = single_run
    assert "results/runs/replications=2: design 'tpn', 2 replications" in done.stdout
    for measure in ("accreditation_estimate", "cbhi_coverage_estimate", "mean_effect"):
        assert re.search(rf"^\s*(tpn\s+)?{measure}\s+-?[\d,.]+\s+\[", done.stdout, re.M), measure


def test_single_run_writes_its_folder(single_run, result_files) -> None:
    cwd, folder, _ = single_run
    assert sorted(p.name for p in (cwd / "results" / "runs").iterdir()) == ["replications=2"]
    for name in result_files:
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    assert is_complete(folder)


def test_manifest_records_the_run(single_run) -> None:
    _, folder, _ = single_run
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest.keys() >= MANIFEST_KEYS
    config = ScenarioConfig()
    assert manifest["root_seed"] == config.seed
    assert manifest["replications"] == 2
    assert manifest["overrides"] == ["replications=2"]
    command = shlex.split(manifest["command"])
    assert command[0] == "tpn-sim" and "replications=2" in command
    assert manifest["started"] <= manifest["finished"]
    assert {"mesa", "hydra-core"} <= manifest["packages"].keys()
    assert manifest["packages"]["mesa"] and manifest["packages"]["hydra-core"]
    assert "git_commit" in manifest
    # the key identifies this config text, this model source and the posterior file it samples
    assert manifest["code_hash"] == code_hash()
    posterior = file_digests([str(SHIPPED)])
    text = (folder / "config.yaml").read_text()
    assert manifest["config_key"] == config_key(text, code_hash(), posterior)
    # every listed file is there with its recorded size, and every table is listed
    files = manifest["files"]
    assert set(files) == {"panel.parquet", "events.parquet", "ties.parquet", "summary.csv"} | {
        "config.yaml"
    }
    for name, recorded in files.items():
        assert (folder / name).stat().st_size == recorded["bytes"], name
        assert recorded["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()


def test_config_yaml_is_the_resolved_config(single_run) -> None:
    _, folder, _ = single_run
    written = yaml.safe_load((folder / "config.yaml").read_text())
    assert written == asdict(JobConfig(replications=2))


def test_summary_has_one_row_per_replication(single_run) -> None:
    _, folder, _ = single_run
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 2
    assert summary["run"].tolist() == [0, 1]
    assert summary["seed"].nunique() == 2
    assert (summary["design"] == "tpn").all()
    for table in ("panel", "events"):
        frame = pd.read_parquet(folder / f"{table}.parquet")
        assert frame["run"].notna().all() and set(frame["run"]) == {0, 1}, table


def test_hydra_log_records_what_ran(single_run) -> None:
    _, folder, _ = single_run
    logs = list(folder.glob("*.log"))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert "running design 'tpn', 2 replications, root seed 20210801" in log
    assert "replications=2" in log
    assert "results written" in log
    assert yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) == ["replications=2"]


def test_rerun_finds_the_results_and_skips(single_run, tpn_sim) -> None:
    cwd, folder, _ = single_run
    manifest = (folder / "manifest.json").read_bytes()
    panel_mtime = (folder / "panel.parquet").stat().st_mtime_ns
    again = tpn_sim("replications=2", cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert "skipped" in again.stdout
    assert "running design" not in again.stdout
    assert "skipped" in next(folder.glob("*.log")).read_text()
    assert (folder / "manifest.json").read_bytes() == manifest  # same 'started' and all
    assert (folder / "panel.parquet").stat().st_mtime_ns == panel_mtime
    assert "accreditation_estimate" in again.stdout  # the summary is still printed


@pytest.mark.slow
def test_recorded_command_reproduces_the_job(single_run, tpn_sim) -> None:
    """The manifest's command, run again, is the same job: same folder, so it is skipped."""
    cwd, folder, _ = single_run
    manifest = (folder / "manifest.json").read_bytes()
    command = shlex.split(json.loads(manifest)["command"])
    again = tpn_sim(*command[1:], cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert "replications=2: skipped" in again.stdout
    assert (folder / "manifest.json").read_bytes() == manifest


def test_recorded_command_is_what_was_typed(single_run) -> None:
    _, folder, _ = single_run
    assert json.loads((folder / "manifest.json").read_text())["command"] == (
        "tpn-sim replications=2"
    )


@pytest.mark.slow
def test_changed_config_in_the_same_folder_is_recomputed(tmp_path, tpn_sim) -> None:
    """The folder name is only a place: a different config there is not taken for finished."""
    run_dir = "hydra.run.dir=results/runs/here"
    first = tpn_sim("replications=1", run_dir, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "results" / "runs" / "here"
    before = json.loads((folder / "manifest.json").read_text())
    second = tpn_sim("replications=1", "seed=7", run_dir, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "skipped" not in second.stdout
    after = json.loads((folder / "manifest.json").read_text())
    assert after["root_seed"] == 7 and after["config_key"] != before["config_key"]
    assert after["started"] != before["started"]
    assert is_complete(folder, after["config_key"])


# --- help and the resolved config --------------------------------------------------------------


@pytest.mark.slow
def test_help_lists_groups_and_options(tmp_path, tpn_sim) -> None:
    done = tpn_sim("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = dict(re.findall(r"^(\w+): (.+)$", section, re.M))
    groups = [d for d in CONFIGS.iterdir() if d.is_dir() and d.name not in ("hydra", "data")]
    assert groups
    for group in groups:
        options = sorted(f.stem for f in group.glob("*.yaml"))
        assert group.name in listed, f"--help does not list group {group.name}"
        assert sorted(listed[group.name].split(", ")) == options, group.name
    assert set(DESIGNS) <= set(listed["network"].split(", "))  # and the expert variants
    assert {"designs", "leadership_x_capacity"} <= set(listed["experiment"].split(", "))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cfg_job_prints_the_resolved_config_and_runs_nothing(tmp_path, tpn_sim) -> None:
    done = tpn_sim("--cfg", "job", cwd=tmp_path, module=True)  # python -m sim
    assert done.returncode == 0, done.stderr
    assert "design: tpn" in done.stdout
    assert "replications: 100" in done.stdout
    assert yaml.safe_load(done.stdout) == asdict(JobConfig())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cfg_job_shows_overrides(tmp_path, tpn_sim) -> None:
    done = tpn_sim("--cfg", "job", "network=pairwise", "replications=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)
    assert printed["network"]["design"] == "pairwise"
    assert printed["replications"] == 3
    assert list(tmp_path.iterdir()) == []


# --- bad input: one line, exit 2, nothing written ----------------------------------------------

BAD_INPUT = [
    pytest.param(
        ["learning.peer_contact_rate=-1"],
        ["learning.peer_contact_rate", "-1", "allowed"],
        id="range",
    ),
    pytest.param(["network=ring"], ["network", "ring", "allowed", "tpn", "pairwise"], id="option"),
    pytest.param(["learning.foo=1"], ["learning.foo", "allowed", "peer_contact_rate"], id="key"),
    pytest.param(
        ["learning.peer_contact_rate=abc"],
        ["learning.peer_contact_rate='abc' is invalid", "a number in [0, 1]"],
        id="type",
    ),
    pytest.param(["replications=0"], ["replications", "0", "allowed"], id="replications"),
    pytest.param(
        ["kickoff.goals_per_institution=9"],
        ["kickoff.goals_per_institution", "9", "allowed"],
        id="cross-field",
    ),
    pytest.param(
        ["+experiment=nope"], ["experiment", "nope", "allowed", "designs"], id="experiment"
    ),
    pytest.param(
        ["-m", "learning.peer_contact_rate=0.1,-1"],
        ["learning.peer_contact_rate", "-1", "allowed"],
        id="sweep-value",
    ),
    pytest.param(["network=tpn,none"], ["network", "tpn,none", "allowed", "-m"], id="sweep-no-m"),
    pytest.param(
        ["+experiment=designs", "replications=1", "learning.drift_sd=-2"],
        ["learning.drift_sd", "-2", "allowed"],
        id="experiment-job",
    ),
    pytest.param(
        ["network=../../somewhere/evil"],
        ["network='../../somewhere/evil' is invalid", "allowed one of", "tpn"],
        id="option-as-path",
    ),
    pytest.param(
        ["-m", "network=tpn,../x"], ["network='../x' is invalid", "allowed"], id="swept-path"
    ),
    pytest.param(
        ["hydra/launcher=../../x"],
        ["hydra/launcher='../../x' is invalid", "a plain option name"],
        id="hydra-option-as-path",
    ),
    pytest.param(
        ["+hydra.callbacks.x._target_=builtins.print"],
        ["+hydra.callbacks.x._target_=builtins.print is refused", "run code"],
        id="callback",
    ),
    pytest.param(["+foo=1"], ["+foo=1 is invalid", "never reads", "foo=value"], id="add-key"),
    pytest.param(["seed==1"], ["'seed==1' is invalid", "key=value"], id="syntax"),
    pytest.param(["network=réseau"], ["'network=réseau' is invalid", "ASCII"], id="non-ascii"),
    pytest.param(["network=nan"], ["network=nan is invalid", "allowed one of"], id="option-nan"),
    pytest.param(["-m", "--cfg", "job"], ["--multirun with --cfg is invalid"], id="m-and-cfg"),
    pytest.param(
        ["++learning.foo=1"], ["++learning.foo=1 is invalid", "never reads"], id="force-add-key"
    ),
    pytest.param(
        ["--help", "+learning.x._target_=os.getcwd"],
        ["_target_", "is refused"],
        id="target-with-help",
    ),
]


@pytest.mark.parametrize(
    "override", ["network=../evil", "population=/etc/x", "+hydra.callbacks.a._target_=print"]
)
def test_scripts_get_the_same_refusals(override: str) -> None:
    """Notebooks and scripts compose through the same check as the command line."""
    with pytest.raises(ConfigError, match=r"is (invalid|refused)"):
        compose_scenario([override])


@pytest.mark.slow
@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path, tpn_sim, args: list[str], fragments: list[str]
) -> None:
    done = tpn_sim(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("tpn-sim: error: "), line
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()
    assert list(tmp_path.iterdir()) == [], "an output folder was created"


@pytest.mark.slow
def test_bad_input_via_python_m_sim(tmp_path, tpn_sim) -> None:
    done = tpn_sim("network=ring", cwd=tmp_path, module=True)
    assert done.returncode == 2
    assert done.stderr.startswith("tpn-sim: error: network=ring is invalid: allowed")
    assert len(done.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_unknown_key_error_names_the_value(tmp_path, tpn_sim) -> None:
    done = tpn_sim("learning.foo=1", cwd=tmp_path)
    assert done.returncode == 2
    assert "learning.foo=1" in done.stderr


@pytest.mark.slow
def test_glob_sweep_of_a_group_runs(tmp_path, tpn_sim) -> None:
    """Its folder is named by the sweep's overrides, made safe ('(' and '*' replaced, a hash
    added)."""
    done = tpn_sim("-m", "network=glob(t*)", "replications=1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (sweep,) = (tmp_path / "results" / "sweeps").iterdir()
    assert sweep.name == sweep_dirname(["network=glob(t*)", "replications=1"])
    assert is_complete(sweep / "network=tpn,replications=1")


def test_a_run_folder_name_is_capped_and_stays_distinct() -> None:
    from sim.interfaces.hydra_config import run_dirname

    assert run_dirname("network=hub,replications=200") == "network=hub,replications=200"
    assert run_dirname("network=a/b") == "network=a_b" and run_dirname("") == "default"
    long = [run_dirname(f"headline_topics=[{','.join(['accreditation'] * n)}]") for n in (30, 31)]
    assert all(len(name) == 120 for name in long) and long[0] != long[1]


@pytest.mark.slow
def test_overrides_too_long_for_a_file_name_still_run(tmp_path, tpn_sim) -> None:
    topics = ",".join(["accreditation"] * 30)  # some 450 characters of overrides
    done = tpn_sim(f"headline_topics=[{topics}]", "replications=1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [folder] = (tmp_path / "results" / "runs").iterdir()
    assert len(folder.name) == 120 and is_complete(folder)


# --- your own options, with -cd/--config-dir --------------------------------------------------


@pytest.fixture
def own_options(tmp_path: Path) -> Path:
    """A -cd folder with options of its own: a network, a population and a learning file."""
    mine = tmp_path / "mydir"
    for path, text in {
        "network/mine.yaml": "design: hub\n",
        "population/one.yaml": "leadership_mean: 0.7\n",
        "learning/mine.yaml": "peer_contact_rate: 0.05\n",
    }.items():
        (mine / path).parent.mkdir(parents=True, exist_ok=True)
        (mine / path).write_text(text)
    return mine


def test_the_checks_before_a_run_see_your_options_where_hydra_does(own_options) -> None:
    assert preflight(["-cd", str(own_options), "network=mine", "population=one"]) is None
    with hydra_configs(str(own_options)):
        config, _ = composed(["network=mine", "population=one"])
    assert config.network.design == "hub" and config.population.leadership_mean == 0.7
    assert "mine" in preflight(["-cd", str(own_options), "network=../x"])  # listed, not a path


def test_a_config_file_that_is_not_utf8_is_named(own_options) -> None:
    """Hydra's reader fails without naming the file: the checks find it."""
    (own_options / "learning" / "latin.yaml").write_bytes(
        "reciprocity: 0.2 # \xe9\n".encode("latin-1")
    )
    line = preflight(["-cd", str(own_options), "learning=latin"])
    assert line == (
        f"{own_options}/learning/latin.yaml is invalid: not UTF-8 text (invalid continuation "
        "byte): allowed UTF-8 YAML"
    )


@pytest.mark.slow
def test_a_run_with_your_options_says_your_calibrated_value_wins(tmp_path, own_options, tpn_sim):
    done = tpn_sim(
        "-cd",
        "mydir",
        "network=mine",
        "population=one",
        "learning=mine",
        "replications=1",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    [folder] = (tmp_path / "results" / "runs").iterdir()
    written = yaml.safe_load((folder / "config.yaml").read_text())
    assert written["network"]["design"] == "hub"
    assert written["population"]["leadership_mean"] == 0.7
    warning = (
        "[WARNING] - learning.peer_contact_rate=0.05 (learning/mine.yaml) is kept in every "
        "replication instead of drawn from the posterior: a value you set wins"
    )
    assert warning in next(folder.glob("*.log")).read_text()
