"""`tpn-sim-app`: a what-if page for planners, in the browser (Solara).

    tpn-sim-app [--host 127.0.0.1] [--port 8765]

Pick a network design (or upload your own pairs), set the budget, the members, leadership,
mentor capacity, outside experts, programme length and visits, and run: the scenario runs in
the background over its replications, with a progress bar and a cancel button, and the page
shows the twinning network, KPI trajectories in chosen and other topics, the article's
estimator next to the true effect, and the cost. Pin a result as the baseline, change a
setting, run again, and read the paired difference in one sentence. Uploaded institutions and
pairs are checked row by row, as on the command line. Everything runs and is served locally:
the page's assets come from the `solara-assets` package, figures are matplotlib images.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import cast

import ipyvuetify
import solara
import solara.lab

from sim.config import ConfigError
from sim.core.run import run_scenario
from sim.core.scenario import ScenarioConfig
from sim.interfaces import whatif
from sim.interfaces.whatif import CONTROLS, DESIGNS, Run

HOST, PORT = "127.0.0.1", 8765


class Cancelled(Exception):
    """The planner cancelled the run, or started another."""


@solara.lab.task(prefer_threaded=True)
def simulate(run_name: str, config: ScenarioConfig) -> Run:
    """Run the scenario in the background; the page stays live, shows progress, can cancel."""

    def done(replications: int) -> None:
        simulate.progress = 100 * replications / config.replications
        if not simulate.is_current():
            raise Cancelled

    return Run(run_name, config, run_scenario(config, done=done))


design = solara.reactive("tpn")
values = solara.reactive(whatif.defaults())
files: solara.Reactive[dict[str, Path]] = solara.reactive({})
upload_errors: solara.Reactive[dict[str, str]] = solara.reactive({})
problem = solara.reactive("")
baseline: solara.Reactive[Run | None] = solara.reactive(None)
color_by = solara.reactive("capacity")
runs = solara.reactive(0)


def session_folder() -> Path:
    """A folder of this page's own for uploads (never a path the user typed), removed when the
    page closes."""
    return Path(tempfile.mkdtemp(prefix="tpn-sim-app-"))


def start() -> None:
    """Compose and check the scenario; run it only if every setting and file is valid."""
    try:
        if upload_errors.value:
            raise ConfigError(next(iter(upload_errors.value.values())))
        config = whatif.scenario(design.value, values.value, files.value)
    except ConfigError as error:
        problem.value = str(error)
        return
    problem.value = ""
    runs.value += 1
    simulate(f"run {runs.value}: {design.value}", config)


@solara.component
def Heading(text: str, level: int = 3) -> None:
    """A heading as plain HTML: solara's Markdown would load a maths renderer from a CDN."""
    solara.HTML(tag=f"h{level}", unsafe_innerHTML=html.escape(text))


def received(kind: str, folder: Path, data: bytes | None) -> None:
    """An uploaded file (None: the file was removed): kept under the page's own name, and
    checked at once by composing the scenario with it; a bad file is kept out and its first
    problem shown, by line and column."""
    others = {k: v for k, v in upload_errors.value.items() if k != kind}
    if data is None:
        files.value = {k: v for k, v in files.value.items() if k != kind}
        upload_errors.value = others
        return
    chosen = {**files.value, kind: whatif.save_upload(folder, kind, data)}
    try:
        whatif.scenario(whatif.OWN_PAIRS if kind == "pairs" else design.value, values.value, chosen)
    except ConfigError as error:  # named as uploaded, not by the server's folder
        upload_errors.value = others | {kind: str(error).replace(f"{folder}{os.sep}", "")}
        return
    upload_errors.value, files.value = others, chosen
    if kind == "pairs":
        design.value = whatif.OWN_PAIRS


@solara.component
def CsvInput(on_data: Callable[[bytes | None], None]) -> ipyvuetify.extra.FileInput:
    """A CSV file input passing the chosen file's content to `on_data` (None once removed).
    The content is read in a thread of its own: the browser sends it in chunks to the
    server's event loop, which must not wait for itself."""
    info, set_info = solara.use_state(cast(list | None, None))
    chosen, set_chosen = solara.use_state(cast(list | None, None))
    widget = ipyvuetify.extra.FileInput.element(
        accept=".csv", multiple=False, show_progress=False, on_file_info=set_info
    )

    def wire() -> None:  # the chosen file's reader, as solara's FileDrop takes it
        if info is not None:
            real = solara.get_widget(widget)
            real.version += 1
            real.reset_stats()
            set_chosen(real.get_files() if info else [])

    def read(cancel: threading.Event) -> None:
        if chosen is not None:
            on_data(chosen[0]["file_obj"].read() if chosen else None)

    solara.use_effect(wire, [info])
    solara.use_thread(read, dependencies=[chosen])
    return widget


@solara.component
def Upload(kind: str, folder: Path) -> None:
    solara.Text(f"Your {kind} (CSV)")
    CsvInput(on_data=lambda data: received(kind, folder, data))
    if kind in upload_errors.value:
        solara.Error(upload_errors.value[kind], classes=["upload-error"])


@solara.component
def Controls() -> None:
    folder = solara.use_memo(session_folder, [])
    solara.use_effect(lambda: partial(shutil.rmtree, folder, ignore_errors=True), [])  # on close
    solara.Select("Network design", values=DESIGNS, value=design)
    for control in CONTROLS:
        if control.key in whatif.COUNTS and "institutions" in files.value:
            continue  # the uploaded file says who the members are
        slider = solara.SliderInt if control.integer else solara.SliderFloat
        value = values.value[control.key]
        slider(
            f"{control.label}: {value:,g}",
            value=value,
            min=control.low,
            max=control.high,
            step=control.step,
            on_value=lambda v, key=control.key: values.set({**values.value, key: v}),
        )
    Heading("Your own data (the command line's formats)", 4)
    Upload("institutions", folder)
    Upload("pairs", folder)


@solara.component
def Result(run: Run) -> None:
    """One run's figures and numbers, with downloads."""
    Heading(f"{run.name} ({run.config.replications} replications)")
    table = whatif.outcomes(run)
    solara.DataFrame(table)
    solara.FileDownload(whatif.csv_bytes(run.results.summary), "summary.csv", "Summary (CSV)")
    solara.ToggleButtonsSingle(value=color_by, values=["capacity", "gain"])
    images = {  # drawn once per run (and colouring), as PNG: the figures are closed at once
        "network": solara.use_memo(
            lambda: whatif.png_bytes(whatif.network_figure(run, color_by.value)),
            [run, color_by.value],
        ),
        "trajectories": solara.use_memo(
            lambda: whatif.png_bytes(whatif.trajectory_figure(run)), [run]
        ),
    }
    for name, png in images.items():
        solara.Image(png)
        solara.FileDownload(png, f"{name}.png", f"{name} (PNG)")


@solara.component
def AgainstBaseline(latest: Run) -> None:
    pinned = baseline.value
    if pinned is None or pinned is latest:
        return
    try:
        comparison = whatif.compared(pinned, latest)
    except ConfigError as error:
        solara.Warning(f"Not compared with the baseline: {error}")
        return
    Heading("Against the baseline")
    for line in comparison.sentences:
        solara.Success(line, classes=["comparison"])
    for line in comparison.warnings:
        solara.Warning(line)
    solara.DataFrame(whatif.differences(comparison))


@solara.component
def RunButtons() -> None:
    with solara.Row():
        solara.Button("Run", on_click=start, color="primary", disabled=simulate.pending)
        solara.Button("Cancel", on_click=simulate.cancel, disabled=not simulate.pending)


@solara.component
def Page() -> None:
    solara.Title("Twinning what-if")
    with solara.Sidebar():
        Controls()
        RunButtons()
    Main()


@solara.component
def Main() -> None:
    """Progress, problems, the latest result and its comparison with the pinned baseline."""
    Heading("What if we wired our institutions differently?", 2)
    if problem.value:
        solara.Error(problem.value, classes=["problem"])
    if simulate.pending:
        solara.ProgressLinear(simulate.progress or True)
        solara.Text("Running in the background; the page stays live.")
    if simulate.cancelled:
        solara.Info("Cancelled.")
    if simulate.error:
        solara.Error(str(simulate.exception))
    latest = simulate.latest
    if latest is None:
        solara.Info("Set a scenario on the left and press Run.")
        return
    solara.Button("Pin as baseline", on_click=lambda: baseline.set(latest))
    AgainstBaseline(latest)
    Result(latest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tpn-sim-app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=HOST, help=f"address to listen on (default {HOST})")
    parser.add_argument("--port", type=int, default=PORT, help=f"port (default {PORT})")
    args = parser.parse_args(argv)
    os.environ["SOLARA_APP"] = f"{__name__}:Page"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # nothing goes online
    # plain http on this machine: solara's session cookie falls back to samesite=lax, as it should
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    import uvicorn

    print(f"tpn-sim-app: http://{args.host}:{args.port}/", flush=True)
    uvicorn.run("solara.server.starlette:app", host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
