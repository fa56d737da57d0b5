"""Tools for analyzer authors: golden cases (``mle test``), scaffolding (``mle new``)
and the script lint behind ``mle check``."""
