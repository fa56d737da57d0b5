"""The script watcher also notices the data files scripts read in setup() (files under
a script folder's data/, e.g. the ioc analyzer's indicator lists), not golden cases."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from mle.reload import ScriptWatcher


class _Root:
    def __init__(self, path: Path) -> None:
        self.path = path

    def script_dirs(self, kind: str) -> list[Path]:
        return [self.path / {"input": "inputs", "analyzer": "analyzers", "output": "outputs"}[kind]]


def _settled(watcher: ScriptWatcher) -> bool:
    """Two polls: a change is reported once the files stayed the same for one poll."""
    first = watcher.changed()
    return first or watcher.changed()


def _bump(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_changed_indicator_list_is_a_change_and_golden_cases_are_not(tmp_path: Path) -> None:
    lists = tmp_path / "analyzers/data/ioc"
    lists.mkdir(parents=True)
    (lists / "ip.txt").write_text("192.0.2.1\n")
    cases = tmp_path / "analyzers/tests/x/case"
    cases.mkdir(parents=True)
    (cases / "input.json").write_text("{}\n")
    watcher = ScriptWatcher(SimpleNamespace(root=_Root(tmp_path)), interval=0)
    assert not _settled(watcher)

    _bump(lists / "ip.txt", "192.0.2.1\n198.51.100.7\n")
    assert _settled(watcher)
    assert not _settled(watcher)  # reported once

    (lists / "new-feed.txt").write_text("evil.example\n")  # a new list in a subfolder
    assert _settled(watcher)

    _bump(cases / "input.json", "{\"a\": 1}\n")  # golden cases are not data
    assert not _settled(watcher)

    (lists / "new-feed.txt").unlink()
    assert _settled(watcher)
