"""The class challenge: "who gets the lowest test error with a 2-number code?", set by the teacher, ranked live.

A :class:`Challenge` names a measure (:data:`MEASURES`: test MSE, PSNR or
linear-probe accuracy), constraints (the dataset, latent size at most k, epochs
at most e, which kinds of model) and an end time. It is a class setting, kept in
the class's SQLite index (:func:`load_challenge`, :func:`set_challenge`) so that
it survives a restart; only the teacher sets, changes or ends it.

:func:`rank` turns the board's runs (:class:`Contender`) into a
:class:`Standing`: the runs that meet the constraints, best first; those that
meet them but have no value yet ("measuring..."); and those that miss a
constraint, apart, each with its reasons. Measures are cheap:

- **Test MSE** is the mean squared error per pixel, on pixels in [0, 1]. While a
  run trains, its job's validation loss stands in for it (the reconstruction part
  of the last epoch's validation loss, which *is* that MSE for a run trained with
  MSE on unit-normalised inputs, whose inputs are the pixels in [0, 1]); once the
  run stops, the whole test split is measured once in the background
  (:mod:`aecore.jobs.run_measures`), which also covers runs trained with BCE or
  on standardised inputs (their loss is no pixel MSE).
- **PSNR** is ``10 log10(1 / MSE)`` dB of that MSE (peak 1: pixels in [0, 1];
  the PSNR of the split's mean MSE, not a mean of per-image PSNRs).
- **Linear-probe accuracy** (a softmax classifier on the frozen codes) is measured
  only once a run stops, in the background, once per checkpoint.

Once the end time has passed, the standing is frozen (:func:`freeze`) the first
time it is drawn with no stopped run still being measured: later training changes
nothing. Nothing here imports streamlit.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aecore.config import RunConfig
from aecore.describe import arch_name, counted, model_name
from aecore.errors import AecoreError
from aecore.jobs.run_measures import Measured
from aecore.jobs.store import ClassStore
from aecore.models import list_models

CHALLENGE_SETTING, FINAL_SETTING = "challenge", "challenge_final"  # names in the class's settings table
MAX_DURATION_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Measure:
    """A way to rank runs: its name, label, unit and direction."""

    name: str
    label: str
    lower_is_better: bool
    format: str  # how a value is printed
    goal: str  # what the class aims for, in words

    def shown(self, value: float) -> str:
        return self.format.format(value)


MEASURES = {measure.name: measure for measure in (
    Measure("test_mse", "Test MSE", True, "{:.5f}", "lowest test MSE"),
    Measure("psnr", "PSNR (dB)", False, "{:.2f}", "highest PSNR"),
    Measure("probe", "Linear-probe accuracy", False, "{:.1%}", "highest linear-probe accuracy"),
)}


def model_kinds() -> list[str]:
    """Every kind of model a challenge can allow, as the board's Model column writes it: "MLP AE", "conv VAE"..."""
    return [f"{arch_name(arch)} {kind}" for arch in list_models() for kind in ("AE", "VAE")]


def kind_of(config: RunConfig) -> str:
    """``config``'s kind of model, as :func:`model_kinds` lists it."""
    return model_name(config.model)


@dataclass(frozen=True)
class Challenge:
    """What the class competes on: ``measure`` (a key of :data:`MEASURES`), on ``dataset`` (all its classes), with a
    latent size of at most ``max_latent`` and at most ``max_epochs`` epochs (None: any), a model of one of
    ``models`` (kinds from :func:`model_kinds`; empty: any), until ``ends_at`` (seconds since the epoch)."""

    measure: str = "test_mse"
    dataset: str = "mnist"
    max_latent: int | None = 2
    max_epochs: int | None = 5
    models: tuple[str, ...] = ()
    ends_at: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        if self.measure not in MEASURES:
            raise AecoreError(f"unknown measure {self.measure!r}; known: {', '.join(MEASURES)}")
        for name in ("max_latent", "max_epochs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise AecoreError(f"the challenge's {name.replace('_', ' ')} must be a whole number of at least 1")
        unknown = [kind for kind in self.models if kind not in model_kinds()]
        if unknown:
            raise AecoreError(f"unknown model kind(s) {', '.join(unknown)}; known: {', '.join(model_kinds())}")
        if not isinstance(self.dataset, str) or not self.dataset:
            raise AecoreError("a challenge needs a dataset")

    @property
    def metric(self) -> Measure:
        return MEASURES[self.measure]

    def ended(self, now: float | None = None) -> bool:
        """Whether the end time has passed."""
        return (time.time() if now is None else now) >= self.ends_at

    def misses(self, config: RunConfig, epochs: int) -> list[str]:
        """Why a run of ``config``, trained (or training) for ``epochs`` epochs, is out of the challenge; [] if in."""
        reasons = []
        if config.data.name != self.dataset:
            shown = "own images" if config.data.name.startswith("folder:") else config.data.name
            reasons.append(f"trained on {shown}, not {self.dataset}")
        elif config.data.classes:
            reasons.append(f"trained on classes {', '.join(map(str, config.data.classes))} only, not all")
        if self.max_latent is not None and config.model.latent_dim > self.max_latent:
            reasons.append(f"latent size {config.model.latent_dim} > {self.max_latent}")
        if self.max_epochs is not None and epochs > self.max_epochs:
            reasons.append(f"{counted(epochs, 'epoch')} > {self.max_epochs}")
        if self.models and kind_of(config) not in self.models:
            reasons.append(f"{kind_of(config)} is not one of {', '.join(self.models)}")
        return reasons

    def describe(self) -> str:
        """One line: "lowest test MSE on mnist · latent ≤ 2 · ≤ 5 epochs · MLP AE or conv AE"."""
        parts = [f"{self.metric.goal} on {self.dataset}"]
        if self.max_latent is not None:
            parts.append(f"latent ≤ {self.max_latent}")
        if self.max_epochs is not None:
            parts.append(f"≤ {counted(self.max_epochs, 'epoch')}")
        if self.models:
            parts.append(" or ".join(self.models))
        return " · ".join(parts)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Challenge:
        values = json.loads(text)
        return cls(**{**values, "models": tuple(values.get("models", ()))})


# ------------------------------------------------------------------------------ runs and ranking


@dataclass(frozen=True)
class Contender:
    """A run on the board, as the challenge sees it. ``epochs``: trained or to be trained, the larger; ``training``:
    its job is queued or training; ``live_mse``: :func:`live_mse` of its history; ``measured``: its checkpoint's
    background measures (None while measuring, or when it has none to measure); ``ref``: the caller's handle."""

    name: str
    config: RunConfig
    epochs: int
    training: bool
    live_mse: float | None = None
    measured: Measured | None = None
    measuring: bool = False
    ref: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Placing:
    """One run in a standing: its rank (None while it has no value), the value and how it is shown, where it was
    measured, its settings, and the reasons it is out (empty when in)."""

    name: str
    rank: int | None = None
    value: float | None = None
    shown: str = ""
    measured_on: str = ""
    model: str = ""
    latent: int = 0
    epochs: int = 0
    status: str = ""
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Standing:
    """The challenge's ranking now: ``ranked`` best first, ``waiting`` (in, without a value yet), ``apart`` (out);
    ``final`` once frozen after the end time; ``settled``: no stopped run is still being measured."""

    ranked: tuple[Placing, ...] = ()
    waiting: tuple[Placing, ...] = ()
    apart: tuple[Placing, ...] = ()
    final: bool = False
    settled: bool = True

    def to_json(self) -> str:
        return json.dumps({"ranked": [asdict(p) for p in self.ranked], "waiting": [asdict(p) for p in self.waiting],
                           "apart": [asdict(p) for p in self.apart]})

    @classmethod
    def from_json(cls, text: str) -> Standing:
        values = json.loads(text)
        placings = {part: tuple(Placing(**{**p, "reasons": tuple(p["reasons"])}) for p in values[part])
                    for part in ("ranked", "waiting", "apart")}
        return cls(**placings, final=True)


def reports_pixel_mse(config: RunConfig) -> bool:
    """Whether a run's validation loss holds its pixel MSE: trained with MSE on unit-normalised inputs, which are the
    pixels in [0, 1] (every dataset loader gives pixels in [0, 1]; ``normalization="standard"`` would make them
    z-scores)."""
    return config.objective.reconstruction == "mse" and config.data.normalization == "unit"


def live_mse(config: RunConfig, history: tuple[dict, ...] | list[dict]) -> float | None:
    """The pixel MSE a run's job already reports: the reconstruction part of its last epoch's validation loss, for a
    run that :func:`reports_pixel_mse`; None for any other run, or before an epoch has finished (or without a
    validation split)."""
    if not reports_pixel_mse(config) or not history:
        return None
    value = (history[-1].get("val") or {}).get("reconstruction")
    return float(value) if value is not None and math.isfinite(value) else None


def psnr_from_mse(mse: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error on pixels in [0, 1]: 10 log10(1 / MSE)."""
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def value_of(measure: str, contender: Contender) -> tuple[float | None, str, str]:
    """(value, measured on, what to show instead when there is no value) of ``contender`` for ``measure``."""
    measured = contender.measured
    if measure == "probe":
        if measured is not None and measured.probe_accuracy is not None:
            return measured.probe_accuracy, "test set", ""
        if contender.training:
            return None, "", "measured when it stops"
        if contender.measuring:
            return None, "", "measuring..."
        return None, "", measured.note if measured is not None and measured.note else "no checkpoint"
    if measured is not None and measured.test_mse is not None:
        mse, source = measured.test_mse, "test set"
    elif contender.live_mse is not None:
        mse, source = contender.live_mse, "validation, live" if contender.training else "validation"
    elif contender.measuring:
        return None, "", "measuring..."
    elif contender.training:
        return None, "", "after its first epoch" if reports_pixel_mse(contender.config) else "measured when it stops"
    else:
        return None, "", measured.note if measured is not None and measured.note else "no checkpoint"
    return (mse if measure == "test_mse" else psnr_from_mse(mse)), source, ""


def rank(challenge: Challenge, contenders: list[Contender]) -> Standing:
    """The standing of ``contenders`` in ``challenge`` (see :class:`Standing`); ties keep the board's order."""
    metric = challenge.metric
    valued, waiting, apart = [], [], []
    settled = True
    for contender in contenders:
        config = contender.config
        placing = Placing(contender.name, model=kind_of(config), latent=config.model.latent_dim,
                          epochs=contender.epochs, status="training" if contender.training else "stopped")
        reasons = challenge.misses(config, contender.epochs)
        if reasons:
            apart.append(replace(placing, reasons=tuple(reasons)))
            continue
        value, source, instead = value_of(challenge.measure, contender)
        settled = settled and not (contender.measuring and not contender.training)
        if value is None:
            waiting.append(replace(placing, shown=instead))
        else:
            valued.append(replace(placing, value=value, shown=metric.shown(value), measured_on=source))
    valued.sort(key=lambda p: p.value if metric.lower_is_better else -p.value)
    ranked, place = [], 0
    for index, placing in enumerate(valued):
        if index == 0 or placing.value != valued[index - 1].value:
            place = index + 1  # equal values share a rank
        ranked.append(replace(placing, rank=place))
    return Standing(tuple(ranked), tuple(waiting), tuple(apart), settled=settled)


def marked(name: str, mine: str | None) -> str:
    """``name`` with "(you)" when it is the viewer's own run."""
    return f"{name} (you)" if mine is not None and name == mine else name


def standing_csv(challenge: Challenge, standing: Standing) -> str:
    """The standing as CSV (the ranked runs, those waiting, then those apart with their reasons), for the teacher."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rank", "name", challenge.metric.label, "measured on", "model", "latent", "epochs", "status",
                     "out because"])
    for placing in (*standing.ranked, *standing.waiting, *standing.apart):
        value = "" if placing.value is None else f"{placing.value:.6g}"
        writer.writerow([placing.rank or "", placing.name, value or placing.shown, placing.measured_on, placing.model,
                         placing.latent, placing.epochs, placing.status, "; ".join(placing.reasons)])
    return out.getvalue()


# ------------------------------------------------------------------------------ the class setting


def load_challenge(store: ClassStore) -> Challenge | None:
    """The class's challenge, or None when the teacher has set none (or what is stored cannot be read)."""
    text = store.setting(CHALLENGE_SETTING, "")
    if not text:
        return None
    try:
        return Challenge.from_json(text)
    except (ValueError, TypeError, AecoreError):
        return None


def set_challenge(store: ClassStore, owner: Any, challenge: Challenge | None) -> None:
    """Set, change (``challenge``) or remove (None) the class's challenge: the teacher (``owner.is_teacher``) only.
    A changed challenge is ranked afresh."""
    _teacher_only(owner)
    store.delete_setting(FINAL_SETTING)
    if challenge is None:
        store.delete_setting(CHALLENGE_SETTING)
    else:
        if challenge.ends_at - time.time() > MAX_DURATION_S:
            raise AecoreError("a challenge lasts at most a week")
        store.set_setting(CHALLENGE_SETTING, challenge.to_json())


def _teacher_only(owner: Any) -> None:
    if not getattr(owner, "is_teacher", False):
        raise AecoreError("only the teacher can set, change or end the class's challenge")


def end_challenge(store: ClassStore, owner: Any, now: float | None = None) -> None:
    """End the class's challenge now (the teacher only): its standing is frozen when next drawn."""
    _teacher_only(owner)
    challenge = load_challenge(store)
    if challenge is not None:
        set_challenge(store, owner, replace(challenge, ends_at=time.time() if now is None else now))


def standing_now(store: ClassStore, challenge: Challenge, contenders: list[Contender],
                 now: float | None = None) -> Standing:
    """The standing to show: the frozen one once the challenge has ended (frozen here, the first time the live
    standing is settled after the end), else the live one."""
    if challenge.ended(now):
        frozen = store.setting(FINAL_SETTING, "")
        if frozen:
            try:
                return Standing.from_json(frozen)
            except (ValueError, TypeError, KeyError):
                pass
    standing = rank(challenge, contenders)
    if challenge.ended(now) and standing.settled:
        store.set_setting(FINAL_SETTING, standing.to_json())
        return replace(standing, final=True)
    return standing
