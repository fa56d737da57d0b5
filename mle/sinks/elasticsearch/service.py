"""Sending one bulk request over HTTP(S) (urllib3: pooled keep-alive connections,
safe to share between the sender threads).

The body is NDJSON with ``Content-Type: application/x-ndjson``, which Elasticsearch
7-9 and OpenSearch 1-3 all accept (the compatibility media type of the
elasticsearch-py 9 client is refused by OpenSearch with 406).
"""

from __future__ import annotations

import base64
import logging

import urllib3
from urllib3.exceptions import HTTPError, InsecureRequestWarning

from mle.sinks.elasticsearch.config import EsConfig

log = logging.getLogger("mle.sinks.elasticsearch")


class TransportError(Exception):
    """The request got no HTTP answer: connection refused or reset, timeout, TLS failure."""


def request_headers(config: EsConfig) -> dict[str, str]:
    """Headers of every bulk request (pure)."""
    headers = {"Content-Type": "application/x-ndjson", "Accept": "application/json", "User-Agent": "mle"}
    if config.api_key:
        headers["Authorization"] = f"ApiKey {config.api_key}"
    elif config.user:
        token = base64.b64encode(f"{config.user}:{config.password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


class BulkService:
    """POSTs bulk bodies; returns (status, body) or raises TransportError."""

    def __init__(self, config: EsConfig) -> None:
        self.config = config
        self.url = config.bulk_url
        self.headers = request_headers(config)
        tls: dict[str, object] = {}
        if config.base_url.startswith("https:"):
            if config.verify:
                tls = {"cert_reqs": "CERT_REQUIRED"}
                if config.ca_file:
                    tls["ca_certs"] = config.ca_file
            else:
                tls = {"cert_reqs": "CERT_NONE", "assert_hostname": False}
                urllib3.disable_warnings(InsecureRequestWarning)
                log.warning("TLS certificate verification is off for %s (verify = false)", config.base_url)
        self.pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=config.max_in_flight,
            block=False,
            timeout=urllib3.Timeout(connect=min(10.0, config.timeout), read=config.timeout),
            retries=False,
            **tls,  # type: ignore[arg-type]
        )

    def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            response = self.pool.request("POST", self.url, body=body, headers=self.headers,
                                         preload_content=True, redirect=False)
        except HTTPError as exc:
            raise TransportError(_describe(exc)) from None
        except OSError as exc:
            raise TransportError(str(exc)) from None
        return response.status, response.data

    def close(self) -> None:
        self.pool.clear()


def _describe(exc: Exception) -> str:
    """The useful part of a urllib3 error (its reason, not the retry wrapper)."""
    reason = getattr(exc, "reason", None)
    return f"{type(exc).__name__}: {reason or exc}"
