"""Exceptions that reach the user, each with the process exit code it maps to."""

from __future__ import annotations


class MLEError(Exception):
    """Base class: a problem the user must fix; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class ConfigError(MLEError):
    """The configuration is invalid. The message names the entry and the problem."""

    exit_code = 2


class ScriptLoadError(MLEError):
    """A Lua script failed to compile or its ``setup()`` failed."""

    exit_code = 3


class RedisUnavailable(MLEError):
    """Redis could not be reached or started."""

    exit_code = 4
