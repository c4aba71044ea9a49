"""`omg book`: from a fresh clone to the static site, in the order the chapters need.

1. data: the surrogate is generated (resuming) unless ``data_root`` names real data;
2. pre-processing into FrameStores (a no-op when they are complete);
3. every experiment of Tables 3-6 (current results are re-used);
4. every notebook executed by papermill with the run's parameters, into a staging copy of the
   book (sources stay output-free); a failing cell or a stored traceback stops the build;
5. Jupyter Book 1 renders the staged book with execution off and warnings as errors.

Notebooks and Jupyter Book run in `build_env`, not in the user's environment. `check_site`
then opens every page in headless Chromium (Debian's package) and reports pages with error
text, a figure's repr, missing images or images without alt text, fewer images than their
notebook drew, a missing download (.ipynb and .md for a chapter, .md for a method page) or
repository link, a failed load, or the builder's absolute paths in any page or download.
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

from omglib.config import Profile, get_profile
from omglib.errors import OmgError
from omglib.io import write_json, write_text
from omglib.provenance import git_commit

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run")


def notebooks() -> list[Path]:
    """The chapters, in order (``notebooks/NN_*.ipynb``)."""
    return sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@dataclass(frozen=True)
class Settings:
    """What a run of the book is parameterised by, in one place: every chapter's parameters cell
    defines these names (papermill passes them), and `omg run` / `omg book` read the same
    options. ``data_root`` None: the profile's surrogate; ``frames`` None: data/frames-LABEL;
    ``seeds`` None: the profile's; ``workers`` None: one per core on CPU, 1 on a GPU."""

    profile: str = "quick"
    data_root: str | Path | None = None
    frames: str | Path | None = None
    results: str | Path = "results"
    device: str = "auto"
    seeds: tuple[int, ...] | None = None
    workers: int | None = None
    force: bool = False
    overrides: tuple[str, ...] | dict = ()  # "SECTION.FIELD=VALUE" strings (`--set`) or a chapter's mapping
    engine: str = "local"  # where trainings run (`omglib.experiments.engine.Engine`): local or dask
    scheduler: str = ""  # dask: a running scheduler's address
    cluster: str = ""  # dask: a cluster spec whose queue starts the workers
    progress: bool = True

    PARAMETERS = ("profile", "data_root", "frames", "results", "device", "seeds", "workers", "force", "overrides",
                  "engine", "scheduler", "cluster")

    @classmethod
    def of_chapter(cls, namespace: dict) -> Settings:
        """From a chapter's parameters (its namespace): an empty value ("", [], 0, {}) is the default."""
        given = {k: namespace[k] for k in cls.PARAMETERS}
        return cls(given["profile"], given["data_root"] or None, given["frames"] or None, given["results"],
                   given["device"], tuple(given["seeds"]) or None, given["workers"] or None, bool(given["force"]),
                   given["overrides"] or (), given["engine"] or "local", given["scheduler"], given["cluster"],
                   progress=False)

    @classmethod
    def of_command(cls, args) -> Settings:
        """From the command line's options (`omglib.cli`)."""
        return cls(args.profile, args.data_root, args.frames, args.results, args.device,
                   tuple(args.seeds) if args.seeds else None, args.workers, args.force, tuple(args.overrides),
                   args.engine, args.scheduler or "", args.cluster or "", progress=not args.quiet)

    def chosen(self) -> Profile:
        return get_profile(self.profile, self.overrides)

    def root(self) -> Path:
        """The raw data folder: ``data_root``, or the profile's surrogate (data/synth-LABEL, the
        label naming the surrogate's overrides, if any)."""
        return Path(self.data_root or f"data/synth-{self.chosen().label('synth')}")


def context(settings: Settings, prepare: bool = True, generate: bool = False):
    """The experiments' context for ``settings``, pre-processing the data root into the frames
    folder first (a no-op when complete; with ``prepare`` False, an incomplete store is refused
    instead). The profile's surrogate is generated first when ``generate`` and it is missing."""
    from omglib.experiments import Context
    from omglib.experiments.engine import Engine
    from omglib.preprocess.run import incomplete, preprocess

    chosen, root, progress = settings.chosen(), settings.root(), settings.progress
    engine = Engine(settings.engine, settings.scheduler, settings.cluster)  # refused before any work when wrong
    # the FrameStores depend on the pre-processing settings, and on the surrogate's when it is one
    label = chosen.label("preprocess", *([] if settings.data_root else ["synth"]))
    frames = Path(settings.frames or f"data/frames-{label}")
    if settings.data_root is None and generate and not (root / "manifest.json").is_file():
        from omglib.synth.generate import generate as synth

        synth(chosen, root, progress=progress)
    if root.is_dir() and not prepare and (missing := incomplete(root, frames, chosen.preprocess)):
        raise OmgError(f"{frames}: {', '.join(missing)} not pre-processed (complete) at this profile's settings. "
                       f"Pre-process once, before torchrun: omg preprocess --data-root {root} --out {frames} "
                       f"--profile {chosen.name}" + "".join(f" --set {o}" for o in chosen.overrides
                                                             if o.startswith("preprocess.")))
    if root.is_dir():
        preprocess(root, frames, chosen.preprocess, progress=progress)
    elif settings.data_root:
        raise OmgError(f"{root}: no such folder (pass data_root the dataset folder, e.g. omg synth's output)")
    elif not frames.is_dir():
        raise OmgError(f"neither {root} nor {frames} exists: run `omg synth --profile {chosen.name} --out {root}` "
                       "first, or pass data_root your OMG-Emotion (+ Aff-Wild2) folder")
    return Context.create(chosen, frames, settings.results, settings.device, settings.seeds, progress=progress,
                          force=settings.force, workers=settings.workers, engine=engine)


@dataclass(frozen=True)
class Chapter:
    """What a chapter's setup cell needs: the experiments' context (None when not asked for),
    the raw data folder, which data it is ("surrogate" or "real") and the line it opens with."""

    ctx: object
    root: Path
    source: str
    banner: str


def chapter(namespace: dict, experiments: bool = True) -> Chapter:
    """A chapter's setup, one call: ``book.chapter(globals())`` reads its parameters
    (`Settings.PARAMETERS`) and prepares the data and the context (with ``experiments``)."""
    settings = Settings.of_chapter(namespace)
    root = settings.root()
    source = source_label(root)
    ctx = context(settings) if experiments else None
    seen = f", device `{ctx.device}`, training seeds {list(ctx.seeds)}" if ctx is not None else ""
    return Chapter(ctx, root, source, f"Profile **{settings.chosen().label()}**, data: **{source}** "
                                      f"(`{shown(root)}`){seen}.")


@dataclass
class BookRun:
    html: Path
    seconds: dict[str, float] = field(default_factory=dict)
    repository: str = ""  # the URL every page links to ("": none configured, no button)


def build(settings: Settings, out: str | Path = "book") -> BookRun:
    """Run every step for ``settings`` and render the site into ``out``/_build/html."""
    from omglib import experiments

    out = Path(out).resolve()
    run = BookRun(out / "_build" / "html")
    tic = time.perf_counter()
    ctx = context(settings, generate=True)
    run.seconds["data and pre-processing"] = time.perf_counter() - tic
    tic = time.perf_counter()
    choices = experiments.training_choices(ctx.profile.train)[0]  # chapter 11's rows (Sec. 6.1)
    experiments.run(ctx, [e.name for e in experiments.table_order(sorted(experiments.TABLES))] + [e.name for e in choices])
    run.seconds["experiments"] = time.perf_counter() - tic
    stage = out / "_source"
    root = settings.root()
    commit = (git_commit() or "not from a git checkout")[:12]
    run.repository = _stage_sources(stage, f"This site shows the <b>{ctx.profile.label()}</b> profile's run on "
                                           f"<b>{source_label(root)}</b> data, built from commit {commit}.")
    figures(root, stage / "build" / "figures", ctx.profile)
    parameters = chapter_parameters(ctx, settings.data_root)
    tic = time.perf_counter()
    _execute_all(stage, parameters, ctx.workers, settings.progress)
    run.seconds[f"notebooks ({len(notebooks())}, {ctx.workers} at a time)"] = time.perf_counter() - tic
    tic = time.perf_counter()
    render(stage, out)
    run.seconds["jupyter-book"] = time.perf_counter() - tic
    write_json(out / "_build" / "timings.json", {k: round(v, 1) for k, v in run.seconds.items()})
    return run


def chapter_parameters(ctx, data_root: str | Path | None) -> dict:
    """The papermill parameters every chapter gets (`Settings.PARAMETERS`): the run's profile and
    its overrides, folders, device, seeds and workers, as a chapter's parameters cell writes them."""
    values = {"profile": ctx.profile.name, "data_root": str(Path(data_root).resolve()) if data_root else "",
              "frames": str(ctx.frames.resolve()), "results": str(ctx.results.resolve()), "device": str(ctx.device),
              "seeds": list(ctx.seeds), "workers": ctx.workers, "force": False,
              "overrides": dict(o.split("=", 1) for o in ctx.profile.overrides), "engine": ctx.engine.kind,
              "scheduler": ctx.engine.scheduler, "cluster": ctx.engine.cluster}
    return {name: values[name] for name in Settings.PARAMETERS}


def _execute_all(stage: Path, parameters: dict, workers: int, progress: bool) -> None:
    """Every chapter, ``workers`` at a time (each `execute` is its own papermill process; the
    results the chapters read are already current, so they do not depend on each other)."""
    from concurrent.futures import ThreadPoolExecutor

    chapters = notebooks()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(execute, nb, stage / "notebooks" / nb.name, parameters, progress) for nb in chapters]
        try:
            for future in futures:
                future.result()  # the first failing chapter's OmgError, in chapter order
        finally:
            pool.shutdown(cancel_futures=True)


def _stage_sources(stage: Path, shows: str = "") -> str:
    """A fresh copy of the book's sources (executed notebooks are added next to them), its
    configuration carrying `repository_url` and, at the top of every page, ``shows`` (which
    profile, data and commit the site shows); returns that URL ("" when there is none)."""
    import yaml

    if stage.exists():
        shutil.rmtree(stage)
    (stage / "notebooks").mkdir(parents=True)
    for name in BOOK_SOURCES:
        source = REPO / name
        if source.is_dir():  # the default stage and site live inside book/ themselves
            shutil.copytree(source, stage / name, ignore=shutil.ignore_patterns("_source", "_build"))
        else:
            shutil.copy2(source, stage / name)
    config = yaml.safe_load((stage / "_config.yml").read_text())
    url = repository_url(config)
    config.setdefault("repository", {})["url"] = url
    config.setdefault("html", {})["use_repository_button"] = bool(url)  # no link rather than a made-up one
    if shows:
        config["html"]["announcement"] = shows
    write_text(stage / "_config.yml", yaml.safe_dump(config, sort_keys=False))
    return url


def repository_url(config: dict) -> str:
    """Where the site links to as its repository: ``$OMG_REPOSITORY_URL`` (the publishing
    workflow sets it from GitHub's own context), else ``repository.url`` in _config.yml, else
    none ("")."""
    import os

    return os.environ.get("OMG_REPOSITORY_URL") or (config.get("repository") or {}).get("url") or ""


def figures(root: Path, folder: Path, profile: str | Profile) -> None:
    """The method pages' figures: surrogate faces across VA, the pre-processing of one test video,
    and Figs. 4-7 drawn from the networks at paper size and at ``profile``. Drawn with Agg
    whatever backend the environment names, so a headless machine renders them too. Then the
    numbers those pages show (`omglib.snippets`: network sizes, the data's manifest, benchmark
    records) as Markdown snippets in ``folder``/../tables, which the pages ``{include}``."""
    import matplotlib.pyplot as plt

    from omglib import snippets
    from omglib.diagrams import paper_figures
    from omglib.io import atomic_path
    from omglib.reporting import preprocessing_steps, surrogate_va_grid

    plt.switch_backend("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    drawn = {"surrogate_va_grid": surrogate_va_grid(), "preprocessing_steps": preprocessing_steps(utterance_clips(root)[0]),
             **paper_figures(profile)}
    for name, fig in drawn.items():
        with atomic_path(folder / f"{name}.png") as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
    snippets.write(root, folder.parent / "tables")


# The kernel's environment is fixed here, not inherited: an MPLBACKEND=Agg in the user's shell
# (common on servers and CI images) would otherwise make every figure vanish from the book.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
              "PYTHONHASHSEED": "0"}
_DROPPED_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH",
                "PYTHONSTARTUP", "LANGUAGE")


def build_env() -> dict[str, str]:
    """The environment of the notebook kernels and of Jupyter Book: the user's (PATH, PYTHONPATH,
    ...), with the matplotlib backend, locale and hash seed fixed, no display, and the config and
    cache folders that Jupyter, IPython and matplotlib write moved to a private temporary folder,
    so a read-only HOME or a user's Jupyter configuration changes nothing."""
    import os
    import tempfile

    scratch = Path(tempfile.gettempdir()) / f"omglib-kernel-{os.getuid()}"
    folders = {"MPLCONFIGDIR": "matplotlib", "IPYTHONDIR": "ipython", "JUPYTER_CONFIG_DIR": "jupyter-config",
               "JUPYTER_DATA_DIR": "jupyter-data", "JUPYTER_RUNTIME_DIR": "jupyter-runtime", "XDG_CACHE_HOME": "cache"}
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(KERNEL_ENV)
    for name, folder in folders.items():
        (scratch / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(scratch / folder)
    if not any((scratch / "matplotlib").glob("fontlist-*.json")):  # else the first chapter would print "building the font cache"
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, capture_output=True, check=False)
    return env


def execute(notebook: Path, target: Path, parameters: dict, progress: bool = True) -> None:
    """Run ``notebook`` with papermill (working directory: the current one) into ``target``, in
    its own process with `build_env`; a failing cell or any stored error output is an OmgError
    naming the notebook."""
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "papermill", str(notebook), str(target), "-y", json.dumps(parameters),
               "--cwd", str(Path.cwd()), "-k", "python3", "--no-progress-bar", "--no-log-output"]
    done = subprocess.run(command, capture_output=True, text=True, env=build_env())
    if not target.is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise OmgError(f"{notebook.name}: papermill wrote no output (exit {done.returncode}):\n{tail}")
    executed = json.loads(target.read_text())
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise OmgError(f"{notebook.name}: cell {cell.get('execution_count')} failed: {output['ename']}: "
                               f"{output['evalue']} (executed copy with the traceback: {target})")
            text = "".join(output.get("text", "")) if output.get("output_type") == "stream" else ""
            if "Traceback (most recent call last)" in text:
                raise OmgError(f"{target}: a cell printed a traceback; fix the notebook or the data")
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise OmgError(f"{notebook.name}: papermill failed (exit {done.returncode}):\n{tail}")
    _tidy(executed["cells"], parameters)
    run = executed.get("metadata", {}).get("papermill", {})  # what papermill recorded, in the reader's terms too
    run.update({k: v for k, v in {"input_path": shown(notebook), "output_path": target.name,
                                  "parameters": reader_parameters(parameters)}.items() if k in run})
    write_text(target, json.dumps(executed, indent=1))
    log.info("executed %s", notebook.name)


def _tidy(cells: list[dict], parameters: dict) -> None:
    """The site shows the chapter, not the plumbing: both parameter cells are removed (the
    setup cell prints the run's parameters) and the setup cell's code is folded. The injected
    cell, which the downloaded notebook keeps, names the folders as a reader types them
    (`reader_parameters`), not as the builder's machine has them."""
    plumbing = {"parameters", "injected-parameters"}
    last = max(i for i, c in enumerate(cells) if plumbing & set(c["metadata"].get("tags", [])))
    for i, cell in enumerate(cells[: last + 2]):
        tags = cell["metadata"].setdefault("tags", [])
        if "injected-parameters" in tags:
            cell["source"] = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in reader_parameters(parameters).items())
        if plumbing & set(tags):
            tags.append("remove-cell")
        elif i == last + 1:
            tags.append("hide-input")


def reader_parameters(parameters: dict) -> dict:
    """``parameters`` with its folders (data_root, frames, results) as a reader types them
    (`shown`): a downloaded chapter then runs from the reader's clone."""
    return {k: shown(v) if k in ("data_root", "frames", "results") and v else v for k, v in parameters.items()}


def render(stage: Path, out: Path) -> None:
    """Jupyter Book 1, execution off, every warning an error."""
    import os

    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage), "--path-output", str(out),
               "--warningiserror", "--quiet"]
    env = build_env()  # this checkout's omglib first: the book's Sphinx extension (omglib.sphinx_downloads) is in it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise OmgError(f"jupyter-book build failed (exit {done.returncode}):\n{tail}")


def chromium() -> str | None:
    """Debian's headless Chromium, when installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_site(html: Path, screenshot: Path | None = None, page: str = "notebooks/12_results.html",
               private: tuple[str | Path, ...] = (), repository: bool = True) -> dict[str, list[str]]:
    """Load every page in headless Chromium; returns {page: problems} for pages that failed to
    render, show error text, a figure's repr instead of the figure or a Markdown table as text,
    reference missing images, show an image without alt text in words, show fewer images than
    their executed notebook (the copy the site offers for download) has image outputs, or lack
    the link to the repository
    (when ``repository``: the site was built with one, `BookRun.repository`) or a download
    (`download_problems`); and {file: problems} for any page or download that holds
    a ``private`` path (the builder's folders: the repository, the working directory and the
    site's book folder always are). With ``screenshot``, saves ``page`` at desktop width there
    and at phone width (390 px) beside it (``*-390px.png``)."""
    import re
    import tempfile

    problems = _private_paths(html, (REPO, Path.cwd(), html.resolve().parents[1], *private))

    browser = chromium()
    if browser is None:
        raise OmgError("chromium not found: install Debian's chromium package (make browser)")
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts and p.name not in ("genindex.html", "search.html"))
    with tempfile.TemporaryDirectory(prefix="omglib-chromium-") as profile:
        flags = (*CHROMIUM_FLAGS, f"--user-data-dir={profile}")  # no profile in HOME, which may be read-only
        for path in pages:
            name = path.relative_to(html).as_posix()
            redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', path.read_text())
            if redirect:  # Jupyter Book's index.html only forwards to the first page
                if not (path.parent / redirect.group(1)).is_file():
                    problems[name] = [f"redirects to missing {redirect.group(1)}"]
                continue
            dom = subprocess.run([browser, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                                 timeout=120).stdout
            found = []
            if "</html>" not in dom:
                found.append("did not load")
            for marker in ("Traceback (most recent call last)", "Error:", "PapermillExecutionError"):
                if marker in dom:
                    found.append(f"shows {marker!r}")
            if re.search(r"&lt;(Figure|Axes)[ :(]", dom):
                found.append("shows a figure's repr (<Figure size ...>) instead of the figure: end its cell with "
                             "omglib.plots.image(fig)")
            if re.search(r"<p>[^<]*\|\s*(?:-{3,}|[—–]-?)\s*\|", dom):  # its delimiter row, dashes typeset or not
                found.append("shows a Markdown table as text: a cell's Markdown output is rendered as CommonMark "
                             "(set nb_render_markdown_format: gfm in _config.yml)")
            tags = [(_attribute(tag, "src"), _attribute(tag, "alt")) for tag in re.findall(r"<img\b[^>]*>", dom)]
            images = [src for src, _ in tags if src]
            for src in images:
                if not src.startswith("data:") and not (path.parent / src.split("#")[0]).is_file():
                    found.append(f"missing image {src}")
            found += [f"image {src[:60]} has no alt text in words (its cell's mystnb image.alt)" for src, alt in tags
                      if ("_images/" in src or src.startswith("data:image")) and not _words(alt)]
            notebook = html / "_sources" / Path(name).with_suffix(".ipynb")
            drawn = image_outputs(notebook) if notebook.is_file() else 0
            if len(images) < drawn:
                found.append(f"shows {len(images)} images, its notebook has {drawn} image outputs")
            found += download_problems(path, dom, chapter=notebook.is_file(), repository=repository)
            if found:
                problems[name] = problems.get(name, []) + found
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            phone = screenshot.with_name(f"{screenshot.stem}-390px{screenshot.suffix}")
            for shot, size in ((screenshot, "1280,2400"), (phone, "390,2000")):
                subprocess.run([browser, *flags, "--hide-scrollbars", f"--screenshot={shot}", f"--window-size={size}",
                                (html / page).as_uri()], capture_output=True, timeout=120, check=False)
    return problems


def _attribute(tag: str, name: str) -> str:
    import html
    import re

    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return html.unescape(found.group(1)) if found else ""


def _words(alt: str) -> bool:
    """Whether an image's alt text describes it in words (not empty, not a file name or path)."""
    import re

    return len(alt.split()) >= 3 and not re.search(r"\.(png|jpe?g|svg)\b|_images/|/", alt)


def _private_paths(html: Path, folders: tuple[str | Path, ...]) -> dict[str, list[str]]:
    """{file: problems} for every page and download under ``html`` that holds one of
    ``folders`` as an absolute path: a published site is read on other machines."""
    private = sorted({str(Path(f).resolve()) for f in folders if len(Path(f).resolve().parts) >= 3},  # not / or /home
                     key=len, reverse=True)
    problems: dict[str, list[str]] = {}
    for path in sorted(html.rglob("*")):
        if path.suffix not in (".html", ".ipynb", ".md", ".txt", ".json", ".py") or "_static" in path.parts:
            continue
        text = path.read_text(errors="replace")
        leaked = [folder for folder in private if folder in text]
        if leaked:
            problems[path.relative_to(html).as_posix()] = [
                f"holds the builder's path {leaked[0]}: show paths as a reader types them (omglib.book.shown)"]
    return problems


def header_links(dom: str) -> dict[str, list[str]]:
    """The links of a page's header buttons (sphinx-book-theme): {"source-repository": [url],
    "download-source": [href], "download-markdown": [href], ...}."""
    import html
    import re

    links: dict[str, list[str]] = {}
    for tag in re.findall(r"<a\b[^>]*>", dom):
        href, kind = re.search(r'href="([^"]*)"', tag), re.search(r"btn-(source-repository|download-[a-z]+)-button", tag)
        if href and kind:
            links.setdefault(kind.group(1), []).append(html.unescape(href.group(1)))
    return links


def download_problems(page: Path, dom: str, chapter: bool, repository: bool = True) -> list[str]:
    """What a page lacks of what the site promises: the link to the repository (when the site
    has one), and its downloads, each an existing file (a chapter: .ipynb and .md; a method
    page: .md)."""
    links = header_links(dom)
    problems = [] if links.pop("source-repository", None) or not repository else ["no link to the repository"]
    offered = {Path(href.split("#")[0]).suffix: href for hrefs in links.values() for href in hrefs}
    for suffix in (".ipynb", ".md") if chapter else (".md",):
        if suffix not in offered:
            problems.append(f"no {suffix} download")
        elif not (page.parent / offered[suffix].split("#")[0]).is_file():
            problems.append(f"its {suffix} download {offered[suffix]} is missing")
    return problems


def image_outputs(notebook: Path) -> int:
    """How many image outputs (PNG, JPEG, SVG) an executed notebook holds."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(any(mime.startswith("image/") for mime in output.get("data", {}))
               for cell in cells for output in cell.get("outputs", []))


def omg_layout(root: Path):
    """The OMG-Emotion copy under a data root in any of its forms (`omglib.data.roots`)."""
    from omglib.data.roots import find

    for found in find(root):
        if found.dataset == "omg":
            return found.layout()
    raise OmgError(f"{root}: no OMG-Emotion CSVs (omg_TrainVideos.csv, ...) in it: the chapters read OMG-Emotion")


def utterance_clips(root: Path) -> list[Path]:
    """The utterance videos present under a data root, test split first (the figures' and the
    last chapter's examples)."""
    layout = omg_layout(root)
    clips = [p for s in ("test", "validation", "train") if s in layout.splits()
             for p in sorted(map(Path, layout.read_split(s).query("present")["path"]))]
    if not clips:
        raise OmgError(f"{root}: no utterance video present to show")
    return clips


def source_label(root: Path) -> str:
    """"surrogate" for data `omg synth` wrote (it leaves a manifest), "real" otherwise: every
    table column says which data it comes from."""
    return "surrogate" if (root / "manifest.json").is_file() else "real"


def shown(path: str | Path, within: tuple = ()) -> str:
    """``path`` as a reader types it: relative to the working directory (or the repository) when
    inside it, else from the folder of ``within`` that holds it (that folder's name first), else
    only its last part. A published page never shows the builder's absolute paths."""
    path, typed = Path(path).resolve(), (Path.cwd().resolve(), REPO)
    for base in (*typed, *(Path(f).resolve() for f in within)):
        if path.is_relative_to(base):
            inner = path.relative_to(base).as_posix()
            return inner if base in typed else f"{base.name}/{inner}".removesuffix("/.")
    return path.name
