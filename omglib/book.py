"""`omg book`: from a fresh clone to the static site, in the order the chapters need.

1. data: the surrogate is generated (resuming) unless ``data_root`` names real data;
2. pre-processing into FrameStores (a no-op when they are complete);
3. every experiment of Tables 3-6 (current results are re-used);
4. every notebook executed by papermill with the run's parameters, into a staging copy of the
   book (sources stay output-free); a failing cell or a stored traceback stops the build;
5. Jupyter Book 1 renders the staged book with execution off and warnings as errors.

`check_site` then opens every chapter page in headless Chromium (Debian's package) and
reports pages with error text, missing images or a failed load.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from omglib.config import get_profile
from omglib.errors import OmgError
from omglib.io import write_json

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run")


def notebooks() -> list[Path]:
    """The chapters, in order (``notebooks/NN_*.ipynb``)."""
    return sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def context(profile: str = "quick", data_root: str | Path | None = None, frames: str | Path | None = None,
            results: str | Path = "results", device: str = "auto", seeds: list[int] | None = None, force: bool = False,
            progress: bool = True, generate: bool = False, workers: int | None = None):
    """The experiments' context for a profile and a data folder, pre-processing ``data_root``
    into ``frames`` first (a no-op when complete). Without ``data_root`` the profile's surrogate
    (data/synth-PROFILE) is used, generated first when ``generate``."""
    from omglib.experiments import Context
    from omglib.preprocess.run import preprocess

    chosen = get_profile(profile)
    frames = Path(frames or f"data/frames-{chosen.name}")
    root = Path(data_root or f"data/synth-{chosen.name}")
    if data_root is None and generate and not (root / "manifest.json").is_file():
        from omglib.synth.generate import generate as synth

        synth(chosen, root, progress=progress)
    if root.is_dir():
        preprocess(root, frames, chosen.preprocess, progress=progress)
    elif data_root:
        raise OmgError(f"{root}: no such folder (pass data_root the dataset folder, e.g. omg synth's output)")
    elif not frames.is_dir():
        raise OmgError(f"neither {root} nor {frames} exists: run `omg synth --profile {chosen.name} --out {root}` "
                       "first, or pass data_root your OMG-Emotion (+ Aff-Wild2) folder")
    return Context.create(chosen, frames, results, device, tuple(seeds) if seeds else None, progress=progress, force=force,
                          workers=workers or None)


@dataclass
class BookRun:
    html: Path
    seconds: dict[str, float] = field(default_factory=dict)


def build(profile: str = "quick", data_root: str | Path | None = None, frames: str | Path | None = None,
          results: str | Path = "results", out: str | Path = "book", device: str = "auto", seeds: list[int] | None = None,
          force: bool = False, progress: bool = True, workers: int | None = None) -> BookRun:
    """Run every step for ``profile`` and render the site into ``out``/_build/html."""
    from omglib import experiments

    out = Path(out).resolve()
    run = BookRun(out / "_build" / "html")
    tic = time.perf_counter()
    ctx = context(profile, data_root, frames, results, device, seeds, force, progress, generate=True, workers=workers)
    run.seconds["data and pre-processing"] = time.perf_counter() - tic
    tic = time.perf_counter()
    experiments.run(ctx, [e.name for e in experiments.table_order(sorted(experiments.TABLES))])
    run.seconds["experiments"] = time.perf_counter() - tic
    stage = out / "_source"
    _stage_sources(stage)
    figures(data_root_of(profile, data_root), stage / "build" / "figures")
    parameters = {"profile": ctx.profile.name, "data_root": str(Path(data_root).resolve()) if data_root else "",
                  "frames": str(ctx.frames.resolve()), "results": str(ctx.results.resolve()), "device": str(ctx.device),
                  "seeds": list(ctx.seeds), "workers": ctx.workers, "force": False}
    tic = time.perf_counter()
    _execute_all(stage, parameters, ctx.workers, progress)
    run.seconds[f"notebooks ({len(notebooks())}, {ctx.workers} at a time)"] = time.perf_counter() - tic
    tic = time.perf_counter()
    render(stage, out)
    run.seconds["jupyter-book"] = time.perf_counter() - tic
    write_json(out / "_build" / "timings.json", {k: round(v, 1) for k, v in run.seconds.items()})
    return run


def _execute_all(stage: Path, parameters: dict, workers: int, progress: bool) -> None:
    """Every chapter, ``workers`` at a time (each in its own kernel; the results they read are
    already current, so they do not depend on each other)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    chapters = notebooks()
    if workers <= 1:
        for notebook in chapters:
            execute(notebook, stage / "notebooks" / notebook.name, parameters, progress)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        futures = [pool.submit(execute, nb, stage / "notebooks" / nb.name, parameters, False) for nb in chapters]
        try:
            for future in futures:
                future.result()  # the first failing chapter's OmgError, in chapter order
        finally:
            pool.shutdown(cancel_futures=True)


def _stage_sources(stage: Path) -> None:
    """A fresh copy of the book's sources; executed notebooks are added next to them."""
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "notebooks").mkdir(parents=True)
    for name in BOOK_SOURCES:
        source = REPO / name
        if source.is_dir():  # the default stage and site live inside book/ themselves
            shutil.copytree(source, stage / name, ignore=shutil.ignore_patterns("_source", "_build"))
        else:
            shutil.copy2(source, stage / name)


def figures(root: Path, folder: Path) -> None:
    """The method pages' two figures (surrogate faces across VA; pre-processing of one test video)."""
    from omglib.io import atomic_path
    from omglib.reporting import preprocessing_steps, surrogate_va_grid

    folder.mkdir(parents=True, exist_ok=True)
    videos = sorted((omg_root(root) / "test").glob("*/*.mp4")) or sorted(omg_root(root).rglob("*.mp4"))
    if not videos:
        raise OmgError(f"{omg_root(root)}: no utterance video to show in the pre-processing figure")
    for name, fig in (("surrogate_va_grid.png", surrogate_va_grid()), ("preprocessing_steps.png", preprocessing_steps(videos[0]))):
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, dpi=110)


def execute(notebook: Path, target: Path, parameters: dict, progress: bool = True) -> None:
    """Run ``notebook`` with papermill (working directory: the repository) into ``target``;
    a failing cell or any stored error output is an OmgError naming the notebook."""
    import papermill

    try:
        papermill.execute_notebook(str(notebook), str(target), parameters=parameters, cwd=str(Path.cwd()),
                                   progress_bar=False, kernel_name="python3", log_output=False)
    except papermill.PapermillExecutionError as error:
        raise OmgError(f"{notebook.name}: cell {error.exec_count} failed: {error.ename}: {error.evalue} "
                       f"(executed copy with the traceback: {target})") from None
    executed = json.loads(target.read_text())
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) if output.get("output_type") == "stream" else ""
            if output.get("output_type") == "error" or "Traceback (most recent call last)" in text:
                raise OmgError(f"{target}: a cell stored an error or a traceback; fix the notebook or the data")
    _tidy(executed["cells"])
    target.write_text(json.dumps(executed, indent=1))
    log.info("executed %s", notebook.name)


def _tidy(cells: list[dict]) -> None:
    """The site shows the chapter, not the plumbing: both parameter cells are removed (the
    setup cell prints the run's parameters) and the setup cell's code is folded."""
    plumbing = {"parameters", "injected-parameters"}
    last = max(i for i, c in enumerate(cells) if plumbing & set(c["metadata"].get("tags", [])))
    for i, cell in enumerate(cells[: last + 2]):
        tags = cell["metadata"].setdefault("tags", [])
        if plumbing & set(tags):
            tags.append("remove-cell")
        elif i == last + 1:
            tags.append("hide-input")


def render(stage: Path, out: Path) -> None:
    """Jupyter Book 1, execution off, every warning an error."""
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage), "--path-output", str(out),
               "--warningiserror", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise OmgError(f"jupyter-book build failed (exit {done.returncode}):\n{tail}")


def chromium() -> str | None:
    """Debian's headless Chromium, when installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_site(html: Path, screenshot: Path | None = None, page: str = "notebooks/11_results.html") -> dict[str, list[str]]:
    """Load every chapter page in headless Chromium; returns {page: problems} for pages that
    failed to render, show error text or reference missing images. Saves a screenshot of
    ``page`` when asked."""
    import re

    browser = chromium()
    if browser is None:
        raise OmgError("chromium not found: install Debian's chromium package (make browser)")
    problems: dict[str, list[str]] = {}
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts and p.name not in ("genindex.html", "search.html"))
    for path in pages:
        redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', path.read_text())
        if redirect:  # Jupyter Book's index.html only forwards to the first page
            if not (path.parent / redirect.group(1)).is_file():
                problems[str(path.relative_to(html))] = [f"redirects to missing {redirect.group(1)}"]
            continue
        dom = subprocess.run([browser, *CHROMIUM_FLAGS, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                             timeout=120).stdout
        found = []
        if "</html>" not in dom:
            found.append("did not load")
        for marker in ("Traceback (most recent call last)", "Error:", "PapermillExecutionError"):
            if marker in dom:
                found.append(f"shows {marker!r}")
        for src in re.findall(r'<img[^>]+src="([^"]+)"', dom):
            if not src.startswith("data:") and not (path.parent / src.split("#")[0]).is_file():
                found.append(f"missing image {src}")
        if found:
            problems[str(path.relative_to(html))] = found
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1280,2400",
                        (html / page).as_uri()], capture_output=True, timeout=120, check=False)
    return problems


def data_root_of(profile: str, data_root: str | Path | None) -> Path:
    """The raw data folder a chapter reads: ``data_root``, or the profile's surrogate."""
    return Path(data_root or f"data/synth-{get_profile(profile).name}")


def omg_root(root: Path) -> Path:
    """The OMG-layout folder of a data root in any of its forms (`omglib.preprocess.run.data_roots`):
    ``root`` itself or its OMG child; ``root``/omg, for the caller's message, when there is none."""
    from omglib.preprocess.run import data_roots

    try:
        return dict(data_roots(root)).get("omg", root / "omg")
    except OmgError:
        return root / "omg"


def source_label(root: Path) -> str:
    """"surrogate" for data `omg synth` wrote (it leaves a manifest), "real" otherwise: every
    table column says which data it comes from."""
    return "surrogate" if (root / "manifest.json").is_file() else "real"
