"""Where a root directory keeps its config and scripts (MLE or Dragonfly layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mle.errors import ConfigError

#: Script folders by kind, in search order: MLE's name first, then Dragonfly's.
SCRIPT_DIRS = {
    "input": ("inputs", "filter"),
    "analyzer": ("analyzers", "analyzer"),
    "output": ("outputs",),
}


@dataclass(frozen=True)
class Root:
    """A working root: ``config.lua`` + ``inputs/ analyzers/ outputs/`` (MLE) or
    ``config/config.lua`` + ``filter/ analyzer/`` (Dragonfly)."""

    path: Path
    config_file: Path

    @classmethod
    def locate(cls, root: str | Path, config: str | Path | None = None) -> Root:
        """Find the config file of ``root``; ``config`` overrides the search."""
        path = Path(root).resolve()
        if not path.is_dir():
            raise ConfigError(f"root directory {path} does not exist")
        if config is not None:
            config_file = Path(config)
            if not config_file.is_absolute():
                config_file = (Path.cwd() / config_file).resolve()
            if not config_file.is_file():
                raise ConfigError(f"config file {config_file} does not exist")
            return cls(path, config_file)
        for candidate in (path / "config.lua", path / "config" / "config.lua"):
            if candidate.is_file():
                return cls(path, candidate)
        raise ConfigError(f"no config.lua in {path} (looked for config.lua and config/config.lua)")

    @property
    def layout(self) -> str:
        """"dragonfly" for a root whose config lives in config/config.lua, else "mle"."""
        return "dragonfly" if self.config_file == self.path / "config" / "config.lua" else "mle"

    def script_dirs(self, kind: str) -> list[Path]:
        """The folders that may hold scripts of ``kind`` ("input", "analyzer", "output")."""
        return [self.path / name for name in SCRIPT_DIRS[kind]]

    def readable_dirs(self) -> list[Path]:
        """Folders a script may read data files from (during setup) and ``require`` modules from."""
        return [self.path / name for names in SCRIPT_DIRS.values() for name in names]

    def find_script(self, kind: str, name: str) -> Path | None:
        """Resolve a script name from the config: a bare file name is looked up in the
        folders of its kind; a name with a folder (``analyzer/x.lua``) is taken relative
        to the root. Returns None when no such file exists inside the root."""
        candidates = []
        if "/" in name:
            candidates.append(self.path / name)
        candidates += [folder / name for folder in self.script_dirs(kind)]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved.is_file() and resolved.is_relative_to(self.path):
                return resolved
        return None
