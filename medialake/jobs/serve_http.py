"""The HTTP connection handling of ``medialake serve``: uvicorn's h11 protocol with deadlines.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but sets no
deadline on a request still arriving: a connection that opens and sends nothing, a request
whose headers come a byte every few seconds (slowloris), an upload that stalls halfway or
a client that stops reading its response all hold their connection (a file descriptor)
for ever, and enough of them exhaust the process's descriptors. :func:`guarded_protocol`
returns the h11 protocol with three deadlines, each closing the connection:

- ``header_s``: a request's headers must be complete this long after the connection
  opened or the previous response ended (total time, so a trickle does not reset it);
- ``body_idle_s``: a request body may pause this long between two reads;
- ``write_stall_s``: a response may wait this long for a client that does not read.

::

    uvicorn.run(app, http=guarded_protocol())
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_S = 10.0
BODY_IDLE_S = 30.0
WRITE_STALL_S = 60.0


def guarded_protocol(header_s: float = HEADER_S, body_idle_s: float = BODY_IDLE_S,
                     write_stall_s: float = WRITE_STALL_S) -> type[H11Protocol]:
    """uvicorn's h11 protocol class with the three deadlines (seconds), for ``uvicorn.Config(http=...)``."""

    class GuardedH11Protocol(_Guarded):
        pass

    GuardedH11Protocol.header_s, GuardedH11Protocol.body_idle_s = header_s, body_idle_s
    GuardedH11Protocol.write_stall_s = write_stall_s
    return GuardedH11Protocol


class _Guarded(H11Protocol):
    header_s, body_idle_s, write_stall_s = HEADER_S, BODY_IDLE_S, WRITE_STALL_S
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc) -> None:
        for timer in (self._header_timer, self._body_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_request():
            self._cancel("_header_timer")
            if self.cycle.more_body:  # the body is still coming: it may pause, but not for long
                self._cancel("_body_timer")
                self._body_timer = self.loop.call_later(self.body_idle_s, self._expire)
            else:
                self._cancel("_body_timer")

    def on_response_complete(self) -> None:
        self._cancel("_body_timer")
        super().on_response_complete()
        if not self.transport.is_closing() and not self._in_request():
            self._arm_header_deadline()  # the next request's headers, on this keep-alive connection

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.write_stall_s, self._expire)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel("_write_timer")

    # --- helpers -----------------------------------------------------------------------
    def _in_request(self) -> bool:
        """True from a request's headers until its response is complete."""
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_header_deadline(self) -> None:
        self._cancel("_header_timer")
        self._header_timer = self.loop.call_later(self.header_s, self._header_expired)

    def _header_expired(self) -> None:
        self._header_timer = None
        if not self._in_request():
            self._expire()

    def _expire(self) -> None:
        """Drop the connection (abort: a client that does not read would keep a close
        waiting on its unsent bytes); a request in flight sees the client disconnect."""
        if not self.transport.is_closing():
            try:
                self.conn.send(h11.ConnectionClosed())
            except h11.LocalProtocolError:  # mid-response: h11 has no clean close to send
                pass
            self.transport.abort()

    def _cancel(self, name: str) -> None:
        timer = getattr(self, name)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)
