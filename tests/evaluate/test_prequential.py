"""Progressive validation through the real engine on tiny streams with known answers.

Each test writes a root whose analyzers are built to give exact metrics: a perfect
model, a useless one, one that peeks at the label (it must see nothing), one that
echoes on each event the verdict it learnt from the previous one (feedback must come
after the score is recorded), and the frozen run (no verdicts after burn-in).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from mle.errors import ConfigError
from mle.evaluate import metrics
from mle.evaluate.labels import LabelSource, label_value, read_labeled
from mle.evaluate.report import Settings, evaluate
from mle.evaluate.runner import load_root_config, run_stream

CONFIG = """
inputs = { { tag = "eve", uri = "file://data.json", script = "filter.lua" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FILTER = "function loop(msg) if msg then mle.route(msg) end end\n"

ANALYZERS = {
    # knows the answer from a field that is not the label
    "perfect.lua": """
        analyzer = { event_types = {"dns"} }
        function loop(msg)
          if mle.evaluating then mle.features(msg, { hint = msg.hint }) end
          mle.score(msg, msg.hint)
        end
    """,
    "useless.lua": """
        analyzer = { event_types = {"dns"} }
        function loop(msg) mle.score(msg, 0.5) end
    """,
    # would be perfect if the label reached loop()
    "peek.lua": """
        analyzer = { event_types = {"dns"} }
        function loop(msg)
          local truth = msg.label
          if truth == nil and msg.meta then truth = msg.meta.truth end
          mle.score(msg, (truth == 1 or truth == true or truth == "malicious") and 1 or 0)
        end
    """,
    # scores each event with the verdict of the event before it
    "echo.lua": """
        analyzer = { event_types = {"dns"} }
        local last = 0.5
        function loop(msg) mle.score(msg, last) end
        function feedback(fb) last = fb.verdict == "malicious" and 1 or 0 end
    """,
    # 1 from the first verdict that shows the label or disagrees with the event's hint
    "check.lua": """
        analyzer = { event_types = {"dns"} }
        local bad = false
        function loop(msg) mle.score(msg, bad and 1 or 0) end
        function feedback(fb)
          local e = fb.event
          if e.label ~= nil or (e.meta and e.meta.truth ~= nil) or fb.note ~= "mle evaluate"
             or (fb.verdict == "malicious") ~= (e.hint == 1) or fb.flow_id ~= e.flow_id then
            bad = true
          end
        end
    """,
}


@pytest.fixture
def root(make_root: Callable[..., Path]) -> Path:
    return make_root(CONFIG, inputs={"filter.lua": FILTER},
                     analyzers={k: textwrap.dedent(v) for k, v in ANALYZERS.items()})


def write_stream(path: Path, labels: list[int], nested: bool = False) -> Path:
    with path.open("wb") as f:
        for i, y in enumerate(labels):
            record = {"event_type": "dns", "flow_id": 1000 + i, "hint": y}
            if nested:
                record["meta"] = {"truth": y, "other": "kept"}
            else:
                record["label"] = y
            f.write(orjson.dumps(record) + b"\n")
    return path


def alternating(n: int) -> list[int]:
    return [1 - i % 2 for i in range(n)]  # 1, 0, 1, 0, ...


def test_perfect_useless_and_peeking_models(root: Path, tmp_path: Path) -> None:
    labels = alternating(40)
    data = write_stream(tmp_path / "s.json", labels)
    result = run_stream(load_root_config(root), read_labeled([str(data)], LabelSource("label")))
    assert result.events == result.labeled == result.feedback == 40
    by = {tag: metrics.summarize(s.labels, s.scores, 0.5) for tag, s in result.by_tag.items()}
    assert by["perfect"].roc_auc == 1.0 and by["perfect"].precision == 1.0 and by["perfect"].recall == 1.0
    assert (by["perfect"].tp, by["perfect"].fp, by["perfect"].fn, by["perfect"].tn) == (20, 0, 0, 20)
    assert by["perfect"].log_loss == pytest.approx(0, abs=1e-12)
    assert by["useless"].roc_auc == 0.5
    assert (by["useless"].precision, by["useless"].recall) == (0.5, 1.0)  # everything flagged at 0.5
    # the label never reached loop(): the peeking model saw nothing and is useless
    assert by["peek"].roc_auc == 0.5 and by["peek"].tp == 0
    # feedback carried the right verdict about the right event, without the label
    assert set(result.by_tag["check"].scores) == {0.0}


def test_a_nested_label_field_is_removed(root: Path, tmp_path: Path) -> None:
    data = write_stream(tmp_path / "s.json", alternating(20), nested=True)
    result = run_stream(load_root_config(root), read_labeled([str(data)], LabelSource("meta.truth")),
                        tags=["peek", "check"])
    assert set(result.by_tag) == {"peek", "check"}
    assert metrics.roc_auc(result.by_tag["peek"].labels, result.by_tag["peek"].scores) == 0.5
    assert set(result.by_tag["check"].scores) == {0.0}


def test_feedback_arrives_after_the_score(root: Path, tmp_path: Path) -> None:
    """Labels alternate, and echo scores each event with the verdict it learnt last: if
    the verdict of an event came before its score, echo would be perfect (AUC 1); in
    prequential order it is exactly wrong (AUC 0), and the first event gets the prior."""
    data = write_stream(tmp_path / "s.json", alternating(30))
    echo = run_stream(load_root_config(root), read_labeled([str(data)], LabelSource("label")),
                      tags=["echo"]).by_tag["echo"]
    assert echo.scores[0] == 0.5
    assert echo.scores[1:] == [float(y) for y in echo.labels[:-1]]
    assert metrics.roc_auc(echo.labels[1:], echo.scores[1:]) == 0.0


def test_frozen_run_learns_only_before_burn_in(root: Path, tmp_path: Path) -> None:
    data = write_stream(tmp_path / "s.json", alternating(30))
    result = run_stream(load_root_config(root), read_labeled([str(data)], LabelSource("label")),
                        tags=["echo"], learn_until=5)
    assert result.feedback == 5
    echo = result.by_tag["echo"]
    assert echo.scores[6:] == [float(echo.labels[4])] * 24  # the verdict of event 4, the last one learnt


def test_labels_from_a_file(root: Path, tmp_path: Path) -> None:
    labels = alternating(12)
    data = tmp_path / "s.json"
    data.write_bytes(b"".join(orjson.dumps({"event_type": "dns", "flow_id": 50 + i, "hint": y}) + b"\n"
                              for i, y in enumerate(labels)))
    by_line = tmp_path / "by-line.csv"
    by_line.write_text("line,label\n" + "".join(f"{i + 1},{'malicious' if y else 'benign'}\n"
                                                 for i, y in enumerate(labels) if i != 3))
    by_flow = tmp_path / "by-flow.csv"
    by_flow.write_text("flow_id,label\n" + "".join(f"{50 + i},{y}\n" for i, y in enumerate(labels)))
    config = load_root_config(root)
    one = run_stream(config, read_labeled([str(data)], LabelSource(str(by_line))), tags=["perfect"])
    assert one.labeled == 11 and one.by_tag["perfect"].positions[:4] == [0, 1, 2, 4]  # line 4 has no label
    two = run_stream(config, read_labeled([str(data)], LabelSource(str(by_flow))), tags=["perfect"])
    assert two.by_tag["perfect"].labels == labels


def test_label_values() -> None:
    assert [label_value(v) for v in (True, 0, 2.5, "DGA", "legit", " benign ", "", None, "1")] == \
        [1, 0, 1, 1, 0, 0, None, None, 1]
    with pytest.raises(ConfigError, match="not a label"):
        label_value("maybe")


def test_evaluate_reports_every_model(root: Path, tmp_path: Path) -> None:
    data = write_stream(tmp_path / "s.json", alternating(60))
    report = evaluate(load_root_config(root), [str(data)], LabelSource("label"),
                      Settings(burn_in=10, window=10, train_fraction=0.5, tags=["perfect", "useless"]))
    perfect = report.doc["analyzers"]["perfect"]
    assert perfect["overall"]["online"]["events"] == 50 and perfect["overall"]["frozen"]["roc_auc"] == 1.0
    assert perfect["test"]["batch"]["roc_auc"] == 1.0 and perfect["batch"]["trained_on"] == 30
    assert len(perfect["windows"]["online"]) == 5
    assert "no features" in report.doc["analyzers"]["useless"]["batch"]["error"]
