"""Base of the sources that wait in a ``selectors`` loop: :meth:`close` from another
thread wakes a blocked :meth:`read_batch` through a socket-pair waker, waits for it to
leave, then releases the selector, the waker and the source's own descriptors once."""

from __future__ import annotations

import selectors
from collections.abc import Mapping
from typing import Any

from mle.connectors import Context, Endpoint
from mle.sources.base import Source
from mle.sources.guard import ReadGuard
from mle.sources.sockets import Waker

WAKE = object()  # the selector key data of the waker


class SelectingSource(Source):
    """A source whose reads wait in ``self._selector`` and stop when ``close`` is called."""

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        self._selector: selectors.BaseSelector | None = None
        self._waker: Waker | None = None
        self._guard = ReadGuard()

    def _open_selector(self) -> selectors.BaseSelector:
        """A new selector with the waker registered (key data :data:`WAKE`)."""
        self._waker = Waker()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._waker, selectors.EVENT_READ, WAKE)
        return self._selector

    def _woken(self, key: selectors.SelectorKey) -> bool:
        """True (and the wake-up consumed) if ``key`` is the waker's."""
        if key.data is not WAKE:
            return False
        assert self._waker is not None
        self._waker.clear()
        return True

    def close(self) -> None:
        self._guard.close(self._wake, self._release)

    def _wake(self) -> None:
        if self._waker is not None:
            self._waker.wake()

    def _release(self) -> None:
        self._release_descriptors()
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def _release_descriptors(self) -> None:
        """Close the source's own sockets or files; runs once, after the reader left."""
