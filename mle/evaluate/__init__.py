"""``mle evaluate``: progressive validation of analyzers on labeled EVE.

Each event goes through the real engine (one process, a private Redis, the root's
input script and analyzers) with its label removed; the analyzers' scores are read
from the annotated event; only then is the label handed to every analyzer that
defines ``feedback(fb)`` as an analyst's verdict, so online models learn from it.

Modules:

    labels.py     where labels come from (a field of each record, or a CSV file) and what they mean
    runner.py     the prequential run through the engine (and the frozen run: feedback only in burn-in)
    metrics.py    precision, recall, F1, ROC AUC, log loss: overall, on a split, per window (pure Python)
    baselines.py  a scikit-learn model trained in batch on the features the analyzer recorded
    report.py     the terminal table and the JSON document
    plots.py      PNG plots (matplotlib, optional: pip install 'mle[plots]')
"""
