"""A thin asyncio AMI client over :class:`AMICodec`.

Its surface is panoramisk's size: connect, close, send an action and await
its response, send a list action and await its ``*Complete``, subscribe to
events. Its safety rules are not panoramisk's:

* when the connection drops, every pending action fails with
  :class:`AMIConnectionLost` and is forgotten; nothing is ever re-sent, so an
  Originate can never go out twice;
* after every (re)login the ``on_connect`` hooks run, so the engine can
  re-read QueueStatus and CoreShowChannels instead of guessing;
* a clean :meth:`AMIClient.close` reports ``None`` to the disconnect hooks;
  anything else reports the error;
* reconnection waits with exponential backoff and jitter, and the
  supervisor survives any failure to connect;
* a keep-alive Ping that gets no answer drops the connection (a dead peer
  would otherwise look connected until TCP gives up).

It runs over TCP by default, or over any stream pair a ``connector`` opens
(``olive.ami.memory_pipe``, the simulator's ``connect_in_memory``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from olive.ami._codec import AMICodec, Role
from olive.ami._errors import (
    AMIActionError,
    AMIAuthenticationError,
    AMIConnectionError,
    AMIConnectionLost,
    AMITimeout,
    AMIValueError,
)
from olive.ami._messages import (
    CLOSED,
    NEED_DATA,
    Action,
    Banner,
    Event,
    MalformedMessage,
    Response,
    action,
)
from olive.ami._transport import ByteReader, ByteWriter, Connector, tcp_connector
from olive.ami._writer import SECRET_HEADERS, check_header

log = logging.getLogger("olive.ami")

EventHandler = Callable[[Event], None]
ConnectHook = Callable[[], Awaitable[None]]
DisconnectHook = Callable[[BaseException | None], None]

def redacted(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Headers fit for a log line: secrets replaced."""
    return {n: ("***" if n.lower() in SECRET_HEADERS else v) for n, v in headers}


@dataclass
class Backoff:
    """Reconnect delays: ``initial`` doubling up to ``maximum``, with ±20% jitter."""

    initial: float = 0.5
    maximum: float = 30.0
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        # The exponent is capped: 2**1100 would overflow a float after a long outage.
        delay = min(self.maximum, self.initial * 2.0 ** min(self._attempt, 64))
        self._attempt += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._attempt = 0


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[tuple[Response, list[Event]]]
    is_list: bool
    sent_at: float = 0.0  # loop time
    response: Response | None = None
    items: list[Event] = field(default_factory=list)


class AMIClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        events: str = "on",
        name: str = "asterisk",
        action_timeout: float = 10.0,
        keepalive: float = 20.0,
        backoff: Backoff | None = None,
        connector: Connector | None = None,
    ) -> None:
        """``connector`` opens the byte streams (default: TCP to ``host``:``port``)."""
        # Refused here, not at the first login in a background task (the Secret is not shown).
        check_header("Username", username)
        check_header("Secret", secret)
        check_header("Events", events)
        self.host, self.port, self.name = host, port, name
        self._username, self._secret, self._events = username, secret, events
        self.action_timeout = action_timeout
        self.keepalive = keepalive
        self.backoff = backoff or Backoff()
        self._connector = connector or tcp_connector(host, port)
        self.banner: Banner | None = None
        self._writer: ByteWriter | None = None
        self._codec: AMICodec | None = None
        self._pending: dict[str, _Pending] = {}
        # The list actions whose items are coming (their start response is in). Only their
        # items are taken from the event stream, so while there are none no event's
        # ActionID is looked up (it is a scan of the event's headers).
        self._open_lists: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._prefix = f"olive-{secrets.token_hex(3)}"
        self._handlers: list[EventHandler] = []
        self._on_connect: list[ConnectHook] = []
        self._on_disconnect: list[DisconnectHook] = []
        self._reader_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self.connections = 0  # successful logins so far, for tests and metrics
        self.login_refusals = 0  # logins refused in a row (a wrong secret): `olive run` gives up on them
        # Loop times of the last action that timed out and of the last response: an
        # action unanswered since means a link that is connected but not answering.
        self.last_timeout_at: float | None = None
        self.last_response_at: float | None = None

    # -- subscription ---------------------------------------------------------
    def on_event(self, handler: EventHandler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    def on_connect(self, hook: ConnectHook) -> None:
        self._on_connect.append(hook)

    def on_disconnect(self, hook: DisconnectHook) -> None:
        self._on_disconnect.append(hook)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    # -- lifecycle ------------------------------------------------------------
    async def connect(self) -> None:
        """Connect and log in once; raise if that fails. Does nothing when connected."""
        self._closing = False
        if not self.connected:
            await self._open()

    async def start(self) -> None:
        """Stay connected in the background, reconnecting with backoff."""
        self._closing = False
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise(), name=f"ami-{self.name}")

    @property
    def username(self) -> str:
        return self._username

    async def close(self) -> None:
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            # Bounded: seen stuck "cancelling" in its wait on the reader (olive run never
            # exited); _drop below ends the reader, and with it that wait.
            await asyncio.wait({supervisor}, timeout=1.0)
        if self._writer is not None and self.connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send_action(action("Logoff"), check=False), 2.0)
        await self._drop(None)
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            await asyncio.wait({supervisor}, timeout=1.0)
        if supervisor is not None and supervisor.done() and not supervisor.cancelled():
            with contextlib.suppress(Exception):
                supervisor.result()  # retrieved: no "exception never retrieved" at exit

    async def _supervise(self) -> None:
        while not self._closing:
            try:
                if not self.connected:
                    await self._open()
                    self.backoff.reset()
                if self._reader_task is not None:
                    # wait(), not shield(): the reader may end by being cancelled (keep-alive).
                    await asyncio.wait([self._reader_task])
            except asyncio.CancelledError:
                raise
            except AMIAuthenticationError:
                self.login_refusals += 1
                log.error(
                    "AMI %s: authentication failed for user %r on %s:%s: check the secret and manager.conf (try %d)",
                    self.name, self._username, self.host, self.port, self.login_refusals,
                )
            except (TimeoutError, OSError, AMIConnectionError) as exc:
                log.warning("AMI %s connection failed: %s", self.name, exc)
            except Exception:
                # Never let the supervisor die: olive would silently stop reconnecting.
                log.exception("AMI %s connection failed unexpectedly", self.name)
            if self._closing:
                break
            delay = self.backoff.next_delay()
            log.info("AMI %s reconnecting in %.1fs", self.name, delay)
            await asyncio.sleep(delay)

    async def _open(self) -> None:
        reader, writer = await asyncio.wait_for(self._connector(), self.action_timeout)
        self._codec = AMICodec(Role.CLIENT)
        self._writer = writer
        banner_seen = asyncio.get_running_loop().create_future()
        self._reader_task = asyncio.create_task(self._read_loop(reader, banner_seen))
        try:
            self.banner = await asyncio.wait_for(banner_seen, self.action_timeout)
            login = action("Login", Username=self._username, Secret=self._secret, Events=self._events)
            try:
                await self.send_action(login, _allow_unconnected=True)
            except AMIActionError as exc:
                raise AMIAuthenticationError(f"login to {self.name} refused: {exc.response.message}") from None
        except BaseException:
            await self._drop(None)
            raise
        self.connections += 1
        self.login_refusals = 0
        self._connected.set()
        log.info("AMI %s connected (%s)", self.name, self.banner.text if self.banner else "?")
        if self.keepalive > 0:
            self._keepalive_task = asyncio.create_task(self._keepalive_loop())
        for hook in list(self._on_connect):
            try:
                await hook()
            except Exception:
                log.exception("AMI %s on_connect hook failed", self.name)

    async def _drop(self, exc: BaseException | None) -> None:
        """End the connection: fail what is pending, tell the hooks, then close the socket.

        ``exc`` is None for a clean close; otherwise the socket is aborted, not
        flushed, since a dead peer would never take the bytes.
        """
        was_connected = self.connected
        self._connected.clear()
        writer, self._writer = self._writer, None
        for task in (self._keepalive_task, self._reader_task):
            if task is not None and task is not asyncio.current_task() and not task.done():
                task.cancel()
        self._fail_pending()
        if was_connected:
            for hook in list(self._on_disconnect):
                try:
                    hook(exc)
                except Exception:
                    log.exception("AMI %s on_disconnect hook failed", self.name)
        if writer is not None:
            if exc is not None:
                writer.transport.abort()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        self._open_lists = {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(
                    AMIConnectionLost(
                        f"connection to {self.name} lost while {p.action} was pending; "
                        "it may or may not have run and will not be re-sent"
                    )
                )

    async def _read_loop(self, reader: ByteReader, banner_seen: asyncio.Future[Banner]) -> None:
        assert self._codec is not None
        codec = self._codec
        error: BaseException | None = None
        try:
            while True:
                data = await reader.read(65536)
                codec.receive_data(data)
                while True:
                    msg = codec.next_message()
                    if msg is NEED_DATA:
                        break
                    if msg is CLOSED:
                        raise ConnectionResetError("Asterisk closed the connection")
                    if isinstance(msg, Banner):
                        if not banner_seen.done():
                            banner_seen.set_result(msg)
                    elif isinstance(msg, Response):
                        self._on_response(msg)
                    elif isinstance(msg, Event):
                        self._on_event(msg)
                    elif isinstance(msg, MalformedMessage):
                        log.warning("AMI %s sent a malformed message (%s): %r", self.name, msg.reason, msg.raw[:200])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        if not banner_seen.done():
            banner_seen.set_exception(AMIConnectionLost(f"{self.name} closed before its banner"))
        if self._closing:  # we asked for it (Logoff): not an error
            log.debug("AMI %s connection closed", self.name)
            error = None
        else:
            log.warning("AMI %s connection lost: %s", self.name, error)
        await self._drop(error)

    def unanswered_s(self) -> float:
        """How long the oldest pending action has waited (seconds, 0 if none)."""
        if not self._pending:
            return 0.0
        now = asyncio.get_running_loop().time()
        return max(0.0, now - min(p.sent_at for p in self._pending.values()))

    @property
    def answering(self) -> bool:
        """False after an action timed out, until Asterisk answers anything again."""
        return self.last_timeout_at is None or (
            self.last_response_at is not None and self.last_response_at > self.last_timeout_at
        )

    def _on_response(self, response: Response) -> None:
        self.last_response_at = asyncio.get_running_loop().time()
        pending = self._pending.get(response.action_id or "")
        if pending is None:
            log.debug("AMI %s response for unknown ActionID %s", self.name, response.action_id)
            return
        if pending.is_list and response.ok and response.starts_list:
            pending.response = response  # items follow until *Complete
            self._open_lists[response.action_id or ""] = pending
            return
        del self._pending[response.action_id or ""]
        if not pending.future.done():
            pending.future.set_result((response, []))

    def _on_event(self, event: Event) -> None:
        pending = self._open_lists.get(event.action_id or "") if self._open_lists else None
        if pending is not None and pending.response is not None:
            if event.completes_list:
                action_id = event.action_id or ""
                del self._open_lists[action_id]
                if self._pending.get(action_id) is pending:
                    del self._pending[action_id]
                if not pending.future.done():
                    pending.future.set_result((pending.response, pending.items))
            else:
                pending.items.append(event)
            return
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("AMI %s event handler failed on %s", self.name, event.name)

    async def _keepalive_loop(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive)
            try:
                # Any answer, even Response: Error, shows the peer is alive.
                await self.send_action(
                    action("Ping"), timeout=min(self.action_timeout, self.keepalive), check=False
                )
            except AMITimeout as exc:
                log.warning("AMI %s did not answer Ping; dropping the connection", self.name)
                await self._drop(exc)
                return
            except AMIConnectionError:
                return

    # -- actions --------------------------------------------------------------
    def next_action_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def send_action(
        self,
        act: Action,
        *,
        timeout: float | None = None,
        check: bool = True,
        _allow_unconnected: bool = False,
    ) -> Response:
        """Send ``act`` and return its response. ``check`` raises AMIActionError on an Error."""
        response, _ = await self._send(act, is_list=False, timeout=timeout, allow_unconnected=_allow_unconnected)
        if check and not response.ok:
            raise AMIActionError(act.name, response)
        return response

    async def send_list_action(self, act: Action, *, timeout: float | None = None) -> tuple[Response, list[Event]]:
        """Send a list action (QueueStatus, CoreShowChannels, ...) and collect its items."""
        response, items = await self._send(act, is_list=True, timeout=timeout, allow_unconnected=False)
        if not response.ok:
            raise AMIActionError(act.name, response)
        return response, items

    async def _send(
        self, act: Action, *, is_list: bool, timeout: float | None, allow_unconnected: bool
    ) -> tuple[Response, list[Event]]:
        if self._writer is None or self._codec is None or not (self.connected or allow_unconnected):
            raise AMIConnectionLost(f"not connected to {self.name}; {act.name} was not sent")
        action_id = act.action_id or self.next_action_id()
        if action_id in self._pending:
            # Its response would be taken for the other's, and one caller would wait forever.
            raise AMIValueError(f"ActionID {action_id} is already pending; {act.name} was not sent")
        act = act.with_action_id(action_id)
        data = self._codec.send(act)  # raises AMIValueError before anything is written
        future: asyncio.Future[tuple[Response, list[Event]]] = (
            asyncio.get_running_loop().create_future()
        )
        pending = _Pending(act.name, future, is_list, sent_at=asyncio.get_running_loop().time())
        self._pending[action_id] = pending
        if log.isEnabledFor(logging.DEBUG):  # not built for every action when nobody reads it
            log.debug("AMI %s -> %s", self.name, redacted(act.headers))
        self._writer.write(data)
        try:
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError:
            self.last_timeout_at = asyncio.get_running_loop().time()
            raise AMITimeout(f"{act.name} ({action_id}) got no response from {self.name}") from None
        finally:  # answered, timed out, failed or cancelled: it is no longer pending
            if self._pending.get(action_id) is pending:
                del self._pending[action_id]
            if self._open_lists.get(action_id) is pending:
                del self._open_lists[action_id]
