"""`omg`: the command line for every step of the book.

User mistakes (missing files, malformed CSVs, unknown names) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from omglib.config import PROFILE_NAMES, get_profile
from omglib.errors import OmgError
from omglib.paper import NETWORK_TABLES


def _profile(args: argparse.Namespace):
    """The chosen profile with the command line's ``--set`` overrides."""
    return get_profile(args.profile, args.overrides)


def _cmd_synth(args: argparse.Namespace) -> None:
    from omglib.synth.generate import generate

    manifest = generate(_profile(args), args.out, workers=args.workers, seed=args.seed,
                        labels_from=args.labels_from, progress=not args.quiet)
    run = manifest["run"]
    print(f"wrote {args.out} (profile {args.profile}, seed {manifest['seed']}): "
          f"{run['frames_rendered']} frames rendered in {run['seconds']} s"
          + (f" = {run['frames_per_second']} frames/s" if run["frames_per_second"] else " (all videos were already complete)"))
    for dataset, splits in manifest["counts"].items():
        for split, c in splits.items():
            extra = f", {c['utterances']} utterances" if "utterances" in c else ""
            print(f"  {dataset:9s} {split:10s} {c['videos']:4d} videos{extra}, {c['frames']} frames "
                  f"({c['visible_frames'] / max(c['frames'], 1):.1%} with the face visible)")
    ceiling = manifest["label_ceiling_ccc"]
    print("  label ceiling (CCC of true utterance means vs gold labels): "
          + ", ".join(f"{s} V {c['valence']:.3f} A {c['arousal']:.3f}" for s, c in ceiling.items()))


def _cmd_data_summary(args: argparse.Namespace) -> None:
    import json

    from omglib.data import affwild2, omg, roots

    frames_from = _profile(args).preprocess.frames_from
    report = {"datasets": []}
    for found in roots.find(args.data_root, args.dataset):
        layout = found.layout(frames_from)
        entries = layout.read_all()
        table = (omg if found.format == "omg" else affwild2).summarize(entries)
        report["datasets"].append({"dataset": found.dataset, "layout": found.describe(frames_from),
                                   "root": str(found.area), "labels": str(found.labels),
                                   "splits": table.to_dict(orient="index")})
        if args.json:
            continue
        print(f"{found.describe(frames_from)}: {found.area} (stores: <frames>/{found.dataset}/<split>)")
        print(table.to_string())
        missing = int((~entries["present"]).sum())
        if found.format == "omg" and args.missing_list and missing:
            omg.write_missing_list(entries, args.missing_list)
            print(f"{missing} utterance videos are missing (dead links are normal): listed in {args.missing_list}; "
                  "the rest can be used as they are")
        elif found.format == "omg" and missing:
            print(f"{missing} utterance videos are missing (dead links are normal); the rest can be used as they "
                  "are. List them with --missing-list FILE.csv")
        if "labelled" in table and not table["labelled"].all():
            print("  unlabelled: " + ", ".join(table.index[~table["labelled"]])
                  + " (the test set without labels: pre-processed and predicted, never scored)")
    if args.json:
        print(json.dumps(report))


def _cmd_preprocess(args: argparse.Namespace) -> None:
    from omglib.preprocess.run import merge, parse_shard, preprocess, preprocess_shard

    config = _profile(args).preprocess  # --crop-size and the like are overrides: recorded like --set
    if args.shard:
        shard = parse_shard(args.shard)
        done = preprocess_shard(args.data_root, args.out, config, shard, workers=args.workers, progress=not args.quiet,
                                dataset=args.dataset)
        print(f"shard {args.shard} of {args.data_root} -> {args.out} (parts only):")
        for name, (ok, failed, total) in done.items():
            print(f"  {name:20s} {ok:5d} videos done, {failed} failed, of {total} in the whole store")
        print(f"when every shard is done: omg preprocess --data-root {args.data_root} --out {args.out} "
              f"--profile {args.profile} --merge" + "".join(f" --set {o}" for o in args.overrides))
        return
    if args.merge:
        stores = merge(args.data_root, args.out, config, dataset=args.dataset)
    else:
        stores = preprocess(args.data_root, args.out, config, workers=args.workers, progress=not args.quiet,
                            dataset=args.dataset)
    print(f"wrote {args.out}:")
    for name, store in stores.items():
        meta = store.meta
        problems = [f"{len(found)} {what}" for what, found in (("missing videos", meta.missing_videos), ("failed", meta.failed),
                    ("truncated", meta.truncated), ("no valid frames", meta.no_valid_frames)) if found]
        print(f"  {name:20s} {len(meta.units):5d} videos {meta.frames:8d} frames, "
              f"{meta.detection_rate:.1%} with a face" + (f"; {', '.join(problems)} (see meta.json)" if problems else ""))


def _cmd_models(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from omglib.models import describe

    profile = _profile(args)
    print(f"profile {profile.label()}: " + ", ".join(f"{k}={v}" for k, v in asdict(profile.model).items()))
    print(f"{'model':42s} {'parameters':>13s} {'GFLOPs/frame':>13s}")
    for row in describe(profile):
        print(f"{row['name']:42s} {row['parameters']:13,d} {row['gflops_per_frame']:13.3f}")


def _cmd_weights_import(args: argparse.Namespace) -> None:
    from omglib.models.weights import KINDS, import_weights

    out = Path(args.out or f"weights/{args.kind}.pt")
    meta = import_weights(args.kind, args.file, out)
    print(f"wrote {out}: {meta['paper_start']} from {args.file} (sha256 {meta['source_sha256'][:16]}...) for omglib's "
          f"RGB [-1, 1] faces; dropped {len(meta['dropped'])} classifier tensors")
    print(f"  use it: omglib.models.build(NAME, 'paper', weights='{out}') for any {KINDS[args.kind][0]} network")


def _cmd_figure(args: argparse.Namespace) -> None:
    from omglib.io import atomic_path
    from omglib.reporting import preprocessing_steps, surrogate_va_grid

    if Path(args.out).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise OmgError(f"{args.out}: use a .png, .pdf or .svg file name")
    if args.name == "preprocess":
        if not args.video:
            raise OmgError("figure preprocess needs --video FILE (any video OpenCV can read)")
        fig = preprocessing_steps(args.video, crop_size=get_profile(args.profile).preprocess.crop_size)
    else:
        fig = surrogate_va_grid(seed=args.seed)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=110)
    print(f"wrote {args.out}")


def _context(args: argparse.Namespace, prepare: bool = True):
    from omglib.book import Settings, context

    return context(Settings.of_command(args), prepare=prepare)


def _cmd_book(args: argparse.Namespace) -> None:
    from omglib import book, distributed

    if distributed.launched():
        raise OmgError("torchrun runs `omg run` (training); build the book afterwards with one process")
    run = book.build(book.Settings.of_command(args), args.out)
    for stage, seconds in run.seconds.items():
        print(f"  {stage:40s} {seconds:7.1f} s")
    print(f"  {'total':40s} {sum(run.seconds.values()):7.1f} s")
    print(f"wrote {run.html / 'index.html'}")
    if book.chromium():
        shot = run.html.parent / "results.png"
        problems = book.check_site(run.html, shot, repository=bool(run.repository))
        for page, found in problems.items():
            print(f"  {page}: {'; '.join(found)}")
        if problems:
            raise OmgError(f"{len(problems)} pages of the site have problems (listed above)")
        print(f"every page loads in headless Chromium; screenshots of the results page: {shot} and its 390-px version")
    if args.publish:
        from omglib.publish import publish

        print(f"published {run.html} to the gh-pages branch of {args.publish} (commit {publish(run.html, args.publish)[:12]})")


def _cmd_run(args: argparse.Namespace) -> None:
    import time

    from omglib import distributed, experiments
    from omglib.reporting import format_table

    if args.list:
        from omglib.experiments import catalogue

        for number, rows in experiments.TABLES.items():
            print(f"Table {number}:")
            for e in rows:
                print(f"  {e.name}")
        print(f"\nAny other experiment by its name: {catalogue.GRAMMAR}\n"
              f"  NETWORK  a network of `omg models`, a multi-RNN with any taps\n"
              f"  TAG      {', '.join(catalogue.TAGS)} (default Aff-Wild2, with landmarks)\n"
              f"  FIELD    a setting of the profile's train or model section: {', '.join(catalogue.SETTING_SECTIONS)}\n"
              f"           ({catalogue.LR}: the learning rate the network trains with on OMG, frozen or end to end)\n"
              "e.g.\n" + "\n".join(f"  omg run \"{e}\"" for e in catalogue.EXAMPLES))
        return
    if not args.names and not args.table:
        raise OmgError("name an experiment (`omg run --list` shows them) or a table (--table 3)")
    chosen = [experiments.get(n) for n in args.names]
    order = experiments.table_order(args.table) if args.table else []
    order += [e for e in chosen if e not in order]
    if distributed.launched():  # torchrun: every process trains each network together, one at a time
        if args.engine != "local":
            raise OmgError("torchrun trains one network on many GPUs, the dask engine many networks on many workers: "
                           "choose one (drop --engine, or start omg run without torchrun)")
        args.device, args.workers = str(distributed.start(args.device)), 1
        args.quiet = args.quiet or not distributed.is_main()
        if not distributed.is_main():
            logging.getLogger().setLevel(logging.ERROR)
    ctx = _context(args, prepare=not distributed.launched())  # N processes must not pre-process side by side
    tic = time.perf_counter()
    main, processes = distributed.is_main(), (f"{distributed.world()} processes under torchrun" if distributed.active()
                                              else f"{ctx.workers} processes" if ctx.engine.kind == "local"
                                              else ctx.engine.where)
    try:
        summaries = experiments.run(ctx, [e.name for e in order])
    finally:
        distributed.stop()
    if not main:
        return
    print(f"{len({s.experiment for s in summaries.values()})} experiments x seeds {list(ctx.seeds)} in {time.perf_counter() - tic:.0f} s "
          f"({processes}); mean over seeds (sd) [95% video-cluster interval]:")
    if any(s.split != "test" for s in summaries.values()):
        print(f"the test split of {ctx.frames} has no labels (omg_TestVideos_WithoutLabels.csv), so it cannot be scored: "
              "its predictions are in each run's predictions.csv (`omg evaluate` scores them once labelled), and the "
              "scores below are on validation, which also chose each model (optimistic)")
    for asked in (e.name for e in order if summaries[e.name].experiment != e.name):
        print(f"{asked}: the {ctx.profile.name} profile runs it as {summaries[asked].experiment} (`catalogue.as_run`)")
    for name, s in summaries.items():
        if name != s.experiment:
            continue  # the asked spelling of a row printed under its own
        print(f"{name:58s} V {s.ccc_valence:6.3f} ({s.sd_valence:.3f}) [{s.ci_valence[0]:.2f}, {s.ci_valence[1]:.2f}]"
              f"  A {s.ccc_arousal:6.3f} ({s.sd_arousal:.3f}) [{s.ci_arousal[0]:.2f}, {s.ci_arousal[1]:.2f}]")
    for number in args.table or []:
        print(f"\nTable {number} ({ctx.profile.name} profile, {ctx.frames}); CCC, mean over seeds +- sd [95% interval]:")
        print(format_table(experiments.table(ctx, number)))


def _cmd_evaluate(args: argparse.Namespace) -> None:
    import json

    from omglib.data.omg import read_omg_csv, read_predictions
    from omglib.experiments import Scores
    from omglib.metrics import paired_bootstrap

    truth = read_omg_csv(args.truth)
    if not truth.attrs["has_labels"]:
        raise OmgError(f"{args.truth}: has no labels to evaluate against (use a labelled OMG CSV)")
    pred = read_predictions(args.predictions, truth)
    m = Scores.of(truth, pred[["valence", "arousal"]].to_numpy(), args.bootstrap, args.seed)
    videos = truth["video"].to_numpy()
    tests = {}
    if args.compare:
        other = read_predictions(args.compare, truth)
        tests = {d: paired_bootstrap(truth[d], pred[d], other[d], args.bootstrap, args.seed, clusters=videos)
                 for d in ("valence", "arousal")}
    if args.json:
        out = {"ccc_valence": m.ccc_valence, "ccc_arousal": m.ccc_arousal, "ci_valence": list(m.ci_valence),
               "ci_arousal": list(m.ci_arousal), "ci_utterance_valence": list(m.ci_utterance_valence),
               "ci_utterance_arousal": list(m.ci_utterance_arousal), "ccc_per_video_valence": m.ccc_per_video_valence,
               "ccc_per_video_arousal": m.ccc_per_video_arousal, "n_videos": m.n_videos, "n_utterances": m.n_utterances}
        if tests:
            out["compare"] = {"file": args.compare, **tests}
        print(json.dumps(out))
        return
    print(f"{args.predictions}: {m.n_utterances} utterances of {m.n_videos} videos")
    for d in ("valence", "arousal"):
        lo, hi = getattr(m, f"ci_{d}")
        ulo, uhi = getattr(m, f"ci_utterance_{d}")
        print(f"  {d:8s} CCC {getattr(m, f'ccc_{d}'):.4f} [95% CI, videos resampled {lo:.3f}, {hi:.3f}; utterances "
              f"resampled {ulo:.3f}, {uhi:.3f}]  per-video CCC (early official) {getattr(m, f'ccc_per_video_{d}'):.4f}  "
              f"PCC {getattr(m, f'pcc_{d}'):.4f}  MSE {getattr(m, f'mse_{d}'):.4f}")
    for d, test in tests.items():
        print(f"  {d:8s} vs {args.compare}: difference {test['difference']:+.4f} "
              f"[{test['low']:+.3f}, {test['high']:+.3f}] (videos resampled), p = {test['p_value']:.3g}")


def _cmd_predict(args: argparse.Namespace) -> None:
    import tempfile

    from omglib.export import open_network
    from omglib.predict import PredictOptions, inputs, predict_video, resolve_model

    if (args.input is None) == (args.webcam is None):
        raise OmgError("give one INPUT (a video, a folder of frames or of videos) or --webcam N")
    options = PredictOptions(args.mode, args.arousal_scale, args.overlay, args.segments, progress=not args.quiet)
    model = resolve_model(args.model, args.results, args.profile)
    default_out = Path("predictions") / ("webcam" if args.input is None else Path(args.input).stem)
    out = Path(args.out) if args.out else default_out
    jobs = [(args.webcam, out)] if args.input is None else inputs(args.input, out)
    failed = []
    with tempfile.TemporaryDirectory(prefix="omg-predict-") as scratch:
        network = open_network(model, args.backend, scratch)
        for source, folder in jobs:
            try:
                summary = predict_video(source, network, folder, options)
            except OmgError as error:
                if len(jobs) == 1:
                    raise
                failed.append(str(error))
                print(f"failed: {error}", file=sys.stderr)
                continue
            latency = summary.latency_ms
            print(f"{source}: {summary.frames} frames ({summary.face_frames} with a face) -> {folder}/frames.csv, "
                  f"trace.png; {summary.frames_per_second} frames/s"
                  + (f", network {latency.mean:.1f} ms per frame (p95 {latency.p95:.1f})" if latency else "")
                  + (f"; truncated: read {summary.truncated['read']} of {summary.truncated['expected']} frames"
                     if summary.truncated else ""))
    if failed:
        raise OmgError(f"{len(failed)} of {len(jobs)} inputs failed (listed above); the others were written")


def _cmd_export(args: argparse.Namespace) -> None:
    from omglib.export import export
    from omglib.predict import resolve_model

    out = export(resolve_model(args.model, args.results, args.profile), args.format, args.out)
    print(f"wrote {out}")


class _Setting(argparse.Action):
    """A flag that is one profile setting: ``--crop-size 96`` is ``--set preprocess.crop_size=96``,
    recorded in the profile's overrides like every other change."""

    def __init__(self, option_strings, dest, field: str, **kwargs):
        super().__init__(option_strings, "overrides", default=argparse.SUPPRESS, **kwargs)
        self.field = field

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.overrides = [*getattr(namespace, "overrides", []), f"{self.field}={values}"]


def _options(*names: str, profile: str | None = "quick",
             profile_help: str = "settings profile (sizes of data, networks and training)") -> argparse.ArgumentParser:
    """A parent parser (``add_help=False``, as torchvision's references build theirs) holding the
    shared options ``names``, each declared once here: profile (with ``--set``), results,
    workers, quiet."""
    parser = argparse.ArgumentParser(add_help=False)
    for name in names:
        if name == "profile":
            parser.add_argument("--profile", choices=PROFILE_NAMES, default=profile,
                                help=f"{profile_help} (default: {profile or 'any'})")
            parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                                help="change one profile setting, e.g. --set train.epochs=1 --set model.gru_hidden=64 "
                                "(sections: synth, preprocess, model, train; repeatable; recorded in every result)")
        elif name == "results":
            parser.add_argument("--results", default="results", help="results root (results/PROFILE/EXPERIMENT/seed-K/)")
        elif name == "workers":
            parser.add_argument("--workers", type=int, default=None,
                                help="processes (default: one per core on CPU; independent trainings: 1 on a GPU)")
        elif name == "quiet":
            parser.add_argument("--quiet", action="store_true", help="no progress bars")
        else:
            raise ValueError(f"no shared option {name!r}")
    return parser


def _experiment_options() -> argparse.ArgumentParser:
    parser = _options("profile", "results", "workers", "quiet")
    parser.add_argument("--data-root", default=None, help="videos: an OMG root, an Aff-Wild2 root, or a folder of them "
                        "(default data/synth-PROFILE); pre-processed into --frames/<omg|affwild2|affwild>/<split> first")
    parser.add_argument("--frames", default=None, help="FrameStore folder (default data/frames-PROFILE)")
    parser.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1 ...")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="training seeds (default: the profile's, e.g. 0 1 2); stored seeds are re-used")
    parser.add_argument("--force", action="store_true", help="retrain even when the stored result is current")
    parser.add_argument("--engine", default="local",
                        help="where trainings run: local (default), this machine's processes (--workers); dask, a Dask "
                        "cluster: --scheduler's, --cluster's, or else a local one of --workers processes")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="dask: a running scheduler")
    parser.add_argument("--cluster", default=None, metavar="SPEC.yaml",
                        help="dask: a cluster spec (queue: slurm | pbs | sge | lsf, jobs, cores, memory, gpus, ...) "
                        "whose queue starts the workers")
    return parser


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", required=True, help="your OMG-Emotion, Aff-Wild2 (any ABAW release, videos or "
                        "cropped_aligned) or Aff-Wild copy, or a folder of them, in any wrapper folders; recognised by "
                        "their label files")
    parser.add_argument("--dataset", choices=["omg", "affwild2", "affwild"], default=None,
                        help="what a root of one dataset is, where its files cannot tell (e.g. affwild: Aff-Wild "
                        "converted to the Aff-Wild2 layout)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omg", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="generate the surrogate OMG / Aff-Wild2 / Aff-Wild datasets",
                                parents=[_options("profile", "workers", "quiet")])
    synth.add_argument("--out", required=True, help="output folder (gets omg/, affwild2/, affwild/, manifest.json)")
    synth.add_argument("--seed", type=int, default=None, help="default: the profile's seed")
    synth.add_argument("--labels-from", default=None, metavar="DIR",
                       help="folder with the official OMG CSVs: reuse their utterance timings and labels")
    synth.set_defaults(func=_cmd_synth)

    data = commands.add_parser("data", help="inspect a dataset folder")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    summary = data_commands.add_parser("summary", help="videos and utterances per split, present and missing",
                                       parents=[_options("profile", profile_help="which input its settings read")])
    _data_options(summary)
    summary.add_argument("--missing-list", default=None, metavar="FILE.csv", help="list the missing OMG videos in this CSV")
    summary.add_argument("--json", action="store_true",
                         help='one JSON object: {"datasets": [{"dataset", "root", "splits": {SPLIT: {"present", ...}}}]}')
    summary.set_defaults(func=_cmd_data_summary)

    pre = commands.add_parser("preprocess", help="detect, landmark, align and crop every frame into FrameStores",
                              parents=[_options("profile", "workers", "quiet", profile_help="sets crop size and tracking period")])
    _data_options(pre)
    pre.add_argument("--out", required=True, help="output folder: one FrameStore per split, OUT/<omg|affwild2|affwild>/<split>")
    pre.add_argument("--detector", choices=["hog", "cnn"], action=_Setting, field="preprocess.detector",
                     help="dlib HOG (default) or MMOD CNN (= --set preprocess.detector=...)")
    pre.add_argument("--detect-every", type=int, action=_Setting, field="preprocess.detect_every", metavar="FRAMES",
                     help="full-frame search period; 1 = every frame (= --set preprocess.detect_every=...)")
    pre.add_argument("--crop-size", type=int, action=_Setting, field="preprocess.crop_size", metavar="PIXELS",
                     help="side of the aligned crop, paper: 96 (= --set preprocess.crop_size=...)")
    parts = pre.add_mutually_exclusive_group()
    parts.add_argument("--shard", default=None, metavar="I/N",
                       help="only a deterministic 1/N of the videos (I = 1..N), as per-video parts; e.g. a Slurm array task")
    parts.add_argument("--merge", action="store_true",
                       help="consolidate the shards' parts into the stores (refuses while a video has no part)")
    pre.set_defaults(func=_cmd_preprocess)

    models = commands.add_parser("models", help="list every network of the paper with its size",
                                 parents=[_options("profile", profile="paper")])
    models.set_defaults(func=_cmd_models)

    run = commands.add_parser("run", help="train and evaluate experiments (rows of Tables 3-6), re-using current results",
                              parents=[_experiment_options()])
    run.add_argument("names", nargs="*", metavar="NAME",
                     help="experiment names, e.g. 'CNN-3RNN-2nd-pool_last-pool_fc' or 'CNN-3RNN (Aff-Wild, seq_len=40)'")
    run.add_argument("--table", type=int, action="append", choices=NETWORK_TABLES, help="run a whole table (repeatable)")
    run.add_argument("--list", action="store_true", help="list the experiments of every table and the names' grammar")
    run.set_defaults(func=_cmd_run)

    evaluate = commands.add_parser("evaluate", help="score predictions in the official format against an OMG CSV")
    evaluate.add_argument("--predictions", required=True, help="CSV with video,utterance,arousal,valence (arousal in [0,1])")
    evaluate.add_argument("--truth", required=True, help="the labelled official CSV, e.g. omg_TestVideos_WithLabels.csv")
    evaluate.add_argument("--compare", default=None, help="a second predictions CSV: paired bootstrap test")
    evaluate.add_argument("--bootstrap", type=int, default=1000, help="resamples for intervals and the test")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object (official pooled CCC, video-cluster intervals)")
    evaluate.set_defaults(func=_cmd_evaluate)

    book = commands.add_parser("book", help="everything: data, pre-processing, Tables 3-6, notebooks, the static site",
                               parents=[_experiment_options()])
    book.add_argument("--out", default="book", help="site goes to OUT/_build/html (executed notebooks: OUT/_source)")
    book.add_argument("--publish", metavar="REMOTE", default=None,
                      help="then push the checked site to REMOTE's gh-pages branch (a URL, a path or a remote name)")
    book.set_defaults(func=_cmd_book)

    weights = commands.add_parser("weights", help="the paper's starting weights (VGG-Face, ImageNet ResNet-50 / DenseNet-121)")
    weights_commands = weights.add_subparsers(dest="weights_command", required=True, metavar="ACTION")
    imported = weights_commands.add_parser("import", help="convert a published weights file to omglib's keys and [-1, 1] input")
    imported.add_argument("kind", choices=["vgg-face", "resnet50", "densenet121"],
                          help="vgg-face: vgg_face_dag.pth; resnet50 / densenet121: torchvision's ImageNet files")
    imported.add_argument("file", help="the published file")
    imported.add_argument("--out", default=None, help="converted file (default weights/KIND.pt)")
    imported.set_defaults(func=_cmd_weights_import)

    figure = commands.add_parser("figure", help="render a figure without a notebook",
                                 parents=[_options("profile", profile_help="for preprocess: crop size")])
    figure.add_argument("name", choices=["va-grid", "preprocess"],
                        help="va-grid: surrogate faces across the VA space; preprocess: frame -> landmarks -> crop")
    figure.add_argument("--out", required=True, help="image file (.png, .pdf, .svg)")
    figure.add_argument("--seed", type=int, default=0)
    figure.add_argument("--video", default=None, help="for preprocess: the video to show")
    figure.set_defaults(func=_cmd_figure)

    predict = commands.add_parser("predict", help="valence and arousal of every frame of a video (or folder, or webcam)",
                                  parents=[_options("results", "quiet")])
    predict.add_argument("input", nargs="?", default=None, metavar="INPUT",
                         help="a video file, a folder of frame images, or a folder of videos")
    predict.add_argument("--model", required=True, help="a model.pt (or an exported .onnx / .ts.pt), or an experiment name "
                         "trained by `omg run` (looked up under --results)")
    predict.add_argument("--out", default=None, help="output folder (default predictions/<input name>)")
    predict.add_argument("--mode", choices=["window", "stream"], default="window",
                         help="window: the paper's fixed windows; stream: causal, frame by frame (live)")
    predict.add_argument("--segments", default=None, metavar="CSV",
                         help="an OMG utterance CSV or a start,end table (seconds): also write utterances.csv")
    predict.add_argument("--overlay", action="store_true", help="also write overlay.mp4 (face box and a VA gauge)")
    predict.add_argument("--arousal-scale", choices=["internal", "omg"], default="internal",
                         help="internal: arousal in [-1, 1]; omg: [0, 1] as in the official files")
    predict.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch")
    predict.add_argument("--webcam", type=int, default=None, metavar="N", help="read camera N instead of INPUT (Ctrl-C ends)")
    predict.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                         help="profile of an experiment name (default: any)")
    predict.set_defaults(func=_cmd_predict)

    export = commands.add_parser("export", help="write a trained model as ONNX or TorchScript",
                                 parents=[_options("results")])
    export.add_argument("model", metavar="MODEL", help="a model.pt or an experiment name trained by `omg run`")
    export.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    export.add_argument("--out", default=None, help="file to write (default beside the model: model.onnx / model.ts.pt)")
    export.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                        help="profile of an experiment name (default: any)")
    export.set_defaults(func=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        args.func(args)
    except OmgError as error:
        print(f"omg: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("omg: interrupted; completed videos are kept and a re-run resumes", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
