"""`rca train` (from the simulator, distilled from teacher models, or fine-tuned from confirmed incidents)
and `rca model list/activate`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rca.cli.errors import UserError


def add_parser(subparsers) -> None:
    """Register `rca train` and `rca model`."""
    train = subparsers.add_parser(
        "train",
        help="train the root-cause GNN on simulator incidents (or fine-tune from feedback)",
        description="Trains on simulated incidents with a validation split and early stopping, prints AC@1, "
        "AC@3 and Avg@5 on validation and stores a versioned model. With --with-feedback it fine-tunes "
        "the active model on confirmed incidents from the graph and activates the result only when "
        "the held-back confirmed incidents are ranked no worse. With --teacher it distils the teachers' mean "
        "ranking into one network started from the active model (see --students).",
    )
    train.add_argument("--seed", type=int, help="training seed (default: the committed settings' seed)")
    train.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    train.add_argument("--per-cell", type=int, help="training incidents per (size, fault type)")
    train.add_argument("--sizes", help="training estate sizes, e.g. 20,100,300,500")
    train.add_argument("--kind", choices=("gnn", "mlp"), default="gnn", help="gnn, or the DiagMLP ablation")
    train.add_argument(
        "--knob",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a simulator generator knob before the training suites are simulated (repeatable; "
        "bench/accuracy.py --knob lists them); the model records every knob's value",
    )
    train.add_argument(
        "--teacher",
        action="append",
        default=[],
        metavar="VERSION_OR_FILE",
        help="distil: a trained model (a stored version or an artifact file) whose logits the new model "
        "learns to match, averaged over every --teacher (repeatable); the new model starts from the active one",
    )
    train.add_argument(
        "--students",
        type=int,
        help="with --teacher: students trained with seeds SEED, SEED+1, ... whose weights are averaged (default 3)",
    )
    train.add_argument(
        "--teacher-share",
        type=float,
        help="with --teacher: the share of the loss that follows the teachers' ranking, the rest the true root "
        "cause (default: the committed settings' 0.7)",
    )
    train.add_argument("--out", type=Path, help="also write the artifact to this file")
    train.add_argument("--activate", action="store_true", help="make the new version the active one")
    train.add_argument("--with-feedback", action="store_true", help="fine-tune the active model on confirmed incidents")
    train.add_argument("--feedback-weight", type=float, default=5.0, help="loss weight of a confirmed incident")
    train.add_argument(
        "--since", type=float, default=0.0, help="only confirmed incidents created at or after this epoch time"
    )
    train.add_argument("--held-back", type=float, default=0.3, help="share of confirmed incidents kept for judging")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.set_defaults(handler=run_train)

    model = subparsers.add_parser("model", help="list and activate trained model versions")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    listing = sub.add_parser(
        "list",
        help="model versions with their validation figures, training seed and generator knobs moved from "
        "today's; * marks the active one",
    )
    listing.set_defaults(handler=run_list)
    activate = sub.add_parser("activate", help="make VERSION the model the service uses")
    activate.add_argument("version")
    activate.set_defaults(handler=run_activate)


def _settings(args):
    from rca.training.gnn import TrainSettings

    s = TrainSettings(kind=args.kind)
    if args.seed is not None:
        s.seed = args.seed
    if args.epochs is not None:
        s.max_epochs = args.epochs
    if args.per_cell is not None:
        s.train_per_cell = args.per_cell
    if args.sizes:
        try:
            s.train_sizes = tuple(int(v) for v in args.sizes.split(","))
        except ValueError:
            raise UserError(f"--sizes: comma-separated integers expected, got {args.sizes!r}") from None
    return s


def _print_metrics(title: str, m: dict) -> None:
    print(f"{title:34s} AC@1 {m['ac1']:.3f}  AC@3 {m['ac3']:.3f}  Avg@5 {m['avg5']:.3f}  ({m['incidents']} incidents)")


def run_train(args: argparse.Namespace, settings) -> int:
    from rca.rank.gnn.artifact import Registry
    from rca.simulator.knobs import KnobError, knob_values, set_knobs
    from rca.training.pipeline import simulator_data, train_artifact

    train_settings = _settings(args)
    registry = Registry(settings.model.dir)
    # a bad distillation is refused before a knob moves this process's generator
    students = _distillation_args(args, train_settings)
    teachers, active = _teachers(args.teacher, registry)
    try:
        for moved in set_knobs(args.knob):
            print(f"generator knob {moved}")
    except KnobError as exc:
        raise UserError(f"--knob {exc}") from None
    if args.with_feedback:
        return _with_feedback(args, settings, registry, train_settings)
    names, train_set, val_set = simulator_data(train_settings, settings.model.cache_dir, not args.no_progress)
    if teachers:
        from rca.training.distil import distil, distil_settings

        artifact = distil(
            active,
            teachers,
            names,
            train_set,
            val_set,
            distil_settings(train_settings),
            students,
            progress=not args.no_progress,
            extra_settings={"generator_knobs": knob_values()},
        )
        print(
            f"distilled {_count(len(teachers), 'teacher')} into {_count(students, 'student')} "
            f"of {active.version}, averaged"
        )
    else:
        artifact = train_artifact(
            train_settings,
            names,
            train_set,
            val_set,
            progress=not args.no_progress,
            extra_settings={"generator_knobs": knob_values()},
        )
    path = registry.store(artifact)
    if args.out:
        artifact.save(args.out)
    print(
        f"model {artifact.version} ({artifact.kind}), best epoch {artifact.metrics['best_epoch']} "
        f"of {artifact.metrics['epochs_run']}; stored {path}" + (f" and {args.out}" if args.out else "")
    )
    _print_metrics("validation, model alone:", artifact.metrics["validation"])
    if "validation_combined" in artifact.metrics:
        _print_metrics("validation, combined engine:", artifact.metrics["validation_combined"])
    if args.activate:
        registry.activate(artifact.version)
        print(f"active model: {artifact.version}")
    return 0


def _distillation_args(args, train_settings) -> int:
    """The number of students; --teacher-share set on the settings. UserError for options that do not fit."""
    if args.teacher and (args.with_feedback or args.kind != "gnn"):
        raise UserError("--teacher distils into the graph network: it takes neither --with-feedback nor --kind mlp")
    if not args.teacher and (args.students is not None or args.teacher_share is not None):
        raise UserError(
            "--students and --teacher-share shape a distillation: give the models to learn from with --teacher"
        )
    students = 3 if args.students is None else args.students
    if students < 1:
        raise UserError(f"--students: at least 1, got {students}")
    if args.teacher_share is not None:
        if not 0.0 <= args.teacher_share <= 1.0:
            raise UserError(f"--teacher-share: a share from 0 to 1, got {args.teacher_share}")
        train_settings.teacher_share = args.teacher_share
    return students


def _teachers(wanted: list[str], registry):
    """The teacher artifacts (each a file, else a stored version) and the active one; ([], None) without teachers."""
    from rca.rank.gnn.artifact import ArtifactError, load
    from rca.rank.gnn.serving import FEATURE_NAMES

    if not wanted:
        return [], None
    teachers = []
    for name in wanted:
        try:
            path = Path(name) if Path(name).is_file() else registry.path_of(name)
            teacher = load(path, FEATURE_NAMES)
        except (ArtifactError, OSError) as exc:
            raise UserError(f"--teacher {name}: {exc}") from None
        if teacher.kind != "gnn":
            raise UserError(f"--teacher {name}: model {teacher.version} is a {teacher.kind}, not a graph network")
        teachers.append(teacher)
    try:
        active = registry.load_active(FEATURE_NAMES)
    except ArtifactError as exc:
        raise UserError(f"active model: {exc}") from None
    return teachers, active


def _with_feedback(args, settings, registry, train_settings) -> int:
    from graph_schema.connection import open_graph
    from rca.rank.gnn.artifact import ArtifactError
    from rca.rank.gnn.serving import FEATURE_NAMES
    from rca.training.feedback import (
        FeedbackRefused,
        fine_tune,
        fine_tune_settings,
        prepare,
        read_confirmed,
    )
    from rca.training.pipeline import simulator_data

    try:
        active = registry.load_active(FEATURE_NAMES)
    except ArtifactError as exc:
        raise UserError(f"active model: {exc}") from None
    with open_graph(settings.graph) as store:
        store.check()  # the stored snapshots in the form read_confirmed reads (schema version 4)
        rows = read_confirmed(store, args.since)
    if not rows:
        raise UserError(
            "fine-tuning refused: no confirmed incidents in the graph: confirm root causes with the Feedback call first"
        )
    names, train_set, val_set = simulator_data(train_settings, settings.model.cache_dir, not args.no_progress)
    try:
        feedback = prepare(rows, names, args.held_back, args.feedback_weight)
    except FeedbackRefused as exc:
        raise UserError(f"fine-tuning refused: {exc}") from None
    for line in feedback.skipped:
        print(f"skipped {line}")
    tune_settings = fine_tune_settings(train_settings)
    tuned, report, better, reason = fine_tune(
        active, feedback, names, train_set, val_set, tune_settings, progress=not args.no_progress
    )
    print(
        f"fine-tuned {active.version} on {len(feedback.tune)} confirmed incidents "
        f"(weight {args.feedback_weight}) + {len(train_set)} simulated; judged on {len(feedback.held_back)} held back"
    )
    for when in ("before", "after"):
        r = report[when]
        _print_metrics(f"{when}: held-back confirmed, model:", r["held_back"])
        if "held_back_combined" in r:
            _print_metrics(f"{when}: held-back confirmed, engine:", r["held_back_combined"])
        _print_metrics(f"{when}: simulator validation:", r["simulator_validation"])
    if not better:
        print(f"not activated: {reason}; the active model stays {active.version}")
        return 3
    registry.store(tuned)
    registry.activate(tuned.version)
    if args.out:
        tuned.save(args.out)
    print(f"active model: {tuned.version} ({reason})")
    print(json.dumps({"before": report["before"], "after": report["after"]}, sort_keys=True))
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _lineage(artifact) -> str:
    """Where a version came from when it did not start from scratch: distilled or fine-tuned, from which."""
    if not artifact.parent:
        return ""
    teachers = artifact.settings.get("teachers")
    if teachers:
        return f"  (distilled from {_count(len(teachers), 'teacher')}, started from {artifact.parent})"
    return f"  (fine-tuned from {artifact.parent})"


def run_list(args: argparse.Namespace, settings) -> int:
    from rca.rank.gnn.artifact import ArtifactError, Registry, load
    from rca.simulator.knobs import knob_values

    registry = Registry(settings.model.dir)
    active = registry.active_version()
    committed = knob_values()
    for version, path in registry.versions():
        try:
            a = load(path)
            a.model()
            m = a.metrics.get("validation_combined") or a.metrics.get("validation", {})
            # the generator knobs it was trained with that are not today's (models before `--knob` record none)
            moved = [f"{k}={v}" for k, v in a.settings.get("generator_knobs", {}).items() if committed.get(k) != v]
            info = (
                f"{a.kind:4s} val AC@1 {m.get('ac1', 0):.3f} AC@3 {m.get('ac3', 0):.3f}"
                + (f"  seed {a.settings['seed']}" if "seed" in a.settings else "")
                + (f"  knobs {' '.join(moved)}" if moved else "")
                + _lineage(a)
            )
        except ArtifactError as exc:
            info = f"unusable: {exc}"
        print(f"{'*' if version == active else ' '} {version:28s} {info}  {path}")
    return 0


def run_activate(args: argparse.Namespace, settings) -> int:
    from rca.rank.gnn.artifact import ArtifactError, Registry

    try:
        Registry(settings.model.dir).activate(args.version)
    except ArtifactError as exc:
        raise UserError(str(exc)) from None
    print(f"active model: {args.version} (a running `rca serve` picks it up when restarted)")
    return 0
