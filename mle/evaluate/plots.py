"""PNG plots of an evaluation (matplotlib, an optional extra: ``pip install 'mle[plots]'``).

Per analyzer: ``<tag>-over-time.png`` (F1 and ROC AUC per window for each model, with
burn-in, split, drift reports and any marks as vertical lines), ``<tag>-scores.png``
(the online model's score distribution per class after burn-in) and
``<tag>-roc.png`` (ROC curves of the models on the test split).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mle.errors import MLEError
from mle.evaluate import metrics
from mle.evaluate.report import MODELS, Report

COLORS = {"online": "tab:blue", "frozen": "tab:orange", "batch": "tab:green"}


class PlotsUnavailable(MLEError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotsUnavailable("--plots needs matplotlib: pip install 'mle[plots]'") from None
    return plt


def check_available() -> None:
    """Raise :class:`PlotsUnavailable` now rather than after a long run."""
    _pyplot()


def _safe(tag: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in tag)


def write_plots(report: Report, folder: str | Path, marks: dict[str, int] | None = None) -> list[Path]:
    """Write the plots of every analyzer into ``folder``; returns the files."""
    plt = _pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    doc = report.doc
    for tag, entry in doc["analyzers"].items():
        name = _safe(tag)
        # metrics over time
        fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
        for ax, metric, title in ((axes[0], "f1", "F1"), (axes[1], "roc_auc", "ROC AUC")):
            for model in MODELS:
                ws = entry["windows"].get(model)
                if not ws:
                    continue
                xs = [w["end"] for w in ws if w[metric] is not None]
                ys = [w[metric] for w in ws if w[metric] is not None]
                ax.plot(xs, ys, marker=".", color=COLORS[model], label=model, zorder=3 if model == "online" else 2)
            ax.axvline(doc["burn_in"], color="grey", linestyle=":", label="end of burn-in")
            if doc.get("frozen_at") not in (None, doc["burn_in"]):
                ax.axvline(doc["frozen_at"], color="tab:orange", linestyle=":", label="frozen copy taken")
            if "batch" in entry["windows"]:
                ax.axvline(doc["split"], color="tab:green", linestyle=":", label="batch train/test split")
            for i, d in enumerate(doc["drift"]):
                ax.axvline(d["position"], color="tab:red", alpha=0.5, linewidth=1,
                           label="drift detector fired" if i == 0 else None)
            for label, position in (marks or {}).items():
                ax.axvline(position, color="black", linestyle="--", label=label)
            ax.set_ylabel(f"{title} (window of {doc['window']:,})")
            ax.grid(alpha=0.3)
        axes[0].legend(loc="lower left", fontsize=8)
        axes[1].set_xlabel("event")
        fig.suptitle(f"{tag}: prequential metrics over the stream")
        fig.tight_layout()
        written.append(_save(fig, out / f"{name}-over-time.png", plt))
        # score distributions per class
        online = report.scores[tag]["online"]
        fig, ax = plt.subplots(figsize=(7, 4))
        bins = [i / 40 for i in range(41)]
        for cls, color, label in ((0, "tab:blue", "benign"), (1, "tab:red", "malicious")):
            values = [s for s, y in zip(online.scores, online.labels, strict=True) if y == cls]
            if values:
                ax.hist(values, bins=bins, alpha=0.55, color=color, label=f"{label} ({len(values):,})")
        ax.axvline(doc["threshold"], color="black", linestyle="--", label="threshold")
        ax.set_yscale("log")
        ax.set_xlabel(f"{tag} score (online, after burn-in)")
        ax.set_ylabel("events")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, out / f"{name}-scores.png", plt))
        # ROC on the test split
        fig, ax = plt.subplots(figsize=(5, 5))
        for model in MODELS:
            s = report.scores[tag].get(model)
            if s is None:
                continue
            test = s.after(doc["split"])
            if len(set(test.labels)) < 2:
                continue
            fpr, tpr = metrics.roc_curve(test.labels, test.scores)
            auc = metrics.roc_auc(test.labels, test.scores)
            ax.plot(fpr, tpr, color=COLORS[model], label=f"{model} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{tag}: ROC after the split")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, out / f"{name}-roc.png", plt))
    return written


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
