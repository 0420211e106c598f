"""The AMI actions the simulated PBX answers, with Asterisk 22's texts.

Anything else gets manager.c's answer for an unknown action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from olive.ami import Action, Event, Response
from olive.sim._core import ALL, CATEGORIES
from olive.sim._originate import Originate
from olive.sim._queues import Queues, list_response

if TYPE_CHECKING:
    from olive.sim._pbx import SimulatedPBX
    from olive.sim._server import AMISession

__all__ = ["dispatch", "event_mask"]


def _resp(a: Action | None, status: str, message: str | None = None, *extra: tuple[str, str]) -> Response:
    headers = [("Response", status)]
    if a is not None and a.action_id:
        headers.append(("ActionID", a.action_id))
    if message is not None:
        headers.append(("Message", message))
    headers.extend(extra)
    return Response(tuple(headers))


def event_mask(text: str) -> int:
    """strings_to_mask(): on/off, a number, or a list of classes."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    low = text.lower()
    if low in ("no", "false", "off", "n", "f", "0"):
        return 0
    if low in ("yes", "true", "on", "y", "t", "1"):
        return ALL
    mask = 0
    for part in low.split(","):
        part = part.strip()
        if part == "all":
            mask |= ALL
        mask |= CATEGORIES.get(part, 0)
    return mask


def dispatch(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    name = a.name.strip()
    low = name.lower()
    send = session.send
    if not name:
        return send(_resp(a, "Error", "Missing action in request"))
    if not session.authenticated and low not in ("login", "logoff", "challenge"):
        return send(_resp(a, "Error", "Permission denied"))
    handler = _HANDLERS.get(low)
    if handler is None:
        return send(_resp(a, "Error", f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."))
    handler(pbx, session, a)


def _login(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    if session.authenticated:
        return session.send(_resp(a, "Success", "Already authenticated"))
    if a.get("Username") != pbx.username or a.get("Secret") != pbx.secret:
        session.send(_resp(a, "Error", "Authentication failed"))
        session.close()
        return
    session.authenticated = True
    session.username = pbx.username
    events = a.get("Events")
    session.event_mask = event_mask(events) if events and events.strip() else ALL
    session.send(_resp(a, "Success", "Authentication accepted"))
    core = pbx.core
    if session.event_mask & CATEGORIES["system"]:
        uptime = int(core.now - core.started)
        session.send(Event((
            ("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", str(uptime)),
            ("LastReload", str(uptime)), ("Status", "Fully Booted"),
        )))
    stamp = _event_tv(core.now)
    core.emit("SuccessfulAuth", "security", [
        ("EventTV", stamp), ("Severity", "Informational"), ("Service", "AMI"), ("EventVersion", "1"),
        ("AccountID", pbx.username), ("SessionID", f"0x{id(session):x}"),
        ("LocalAddress", f"IPV4/TCP/{session.local}"), ("RemoteAddress", f"IPV4/TCP/{session.remote}"),
        ("UsingPassword", "0"), ("SessionTV", stamp),
    ])


def _event_tv(now: float) -> str:
    import time

    tm = time.gmtime(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{int((now % 1) * 1000):03d}+0000"


def _core_status(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    """manager.c action_corestatus(): start and reload time (local time, whole seconds)."""
    import time

    core = pbx.core
    started = time.gmtime(core.started)
    day, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    session.send(_resp(
        a, "Success", None,
        ("CoreStartupDate", day), ("CoreStartupTime", clock), ("CoreReloadDate", day), ("CoreReloadTime", clock),
        ("CoreCurrentCalls", str(len(core.channels))), ("CoreProcessedCalls", str(core.processed_calls)),
    ))


def _logoff(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    session.send(_resp(a, "Goodbye", "Thanks for all the fish."))
    session.close()


def _ping(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    session.send(_resp(a, "Success", None, ("Ping", "Pong"), ("Timestamp", f"{pbx.core.now:.6f}")))


def _originate(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    Originate(pbx.core, a, session.send, pbx.install_queue).start()


def _queue_change(
    method: Callable[[Queues, Action], str | None], ok: str | Callable[[Action], str]
) -> Callable[[SimulatedPBX, AMISession, Action], None]:
    def handler(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
        error = method(pbx.queues, a)
        if error is not None:
            return session.send(_resp(a, "Error", error))
        session.send(_resp(a, "Success", ok(a) if callable(ok) else ok))

    return handler


def _list(pbx: SimulatedPBX, session: AMISession, a: Action, message: str, complete: str, events: list[Event]) -> None:
    session.send(list_response(a, message))
    for e in events:
        session.send(e)
    headers = [("Event", complete)]
    if a.action_id:
        headers.append(("ActionID", a.action_id))
    headers += [("EventList", "Complete"), ("ListItems", str(len(events)))]
    session.send(Event(tuple(headers)))


def _queue_status(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    _list(pbx, session, a, "Queue status will follow", "QueueStatusComplete", pbx.queues.status_events(a))


def _queue_summary(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    _list(pbx, session, a, "Queue summary will follow", "QueueSummaryComplete", pbx.queues.summary_events(a))


def _core_show_channels(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    core = pbx.core
    aid = [("ActionID", a.action_id)] if a.action_id else []
    events = []
    for ch in core.channels.values():
        secs = int(core.now - ch.created)
        events.append(Event((
            ("Event", "CoreShowChannel"), *aid, *ch.block(), ("Application", ch.app), ("ApplicationData", ch.appdata),
            ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
            ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
        )))
    _list(pbx, session, a, "Channels will follow", "CoreShowChannelsComplete", events)


def _hangup(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    name = a.get("Channel") or ""
    if not name:
        return session.send(_resp(a, "Error", "No channel specified"))
    ch = pbx.core.find_channel(name)
    if ch is None:
        return session.send(_resp(a, "Error", "No such channel"))
    cause_s = (a.get("Cause") or "").strip()
    cause = int(cause_s) if cause_s.isdigit() and 0 <= int(cause_s) <= 127 else 0
    session.send(_resp(a, "Success", "Channel Hungup"))
    if cause > 0:
        ch.set_cause(cause, force=True)
    pbx.hangup_channel(ch, cause)


def _getvar(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    var = a.get("Variable") or ""
    if not var:
        return session.send(_resp(a, "Error", "No variable specified"))
    name = a.get("Channel") or ""
    value = ""
    if name:
        ch = pbx.core.find_channel(name)
        if ch is None:
            return session.send(_resp(a, "Error", "No such channel"))
        value = ch.runner.lookup(var) if ch.runner is not None else ch.variables.get(var, "")
    else:
        value = pbx.globals.get(var, "")
    session.send(_resp(a, "Success", None, ("Variable", var), ("Value", value)))


def _setvar(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    var = a.get("Variable") or ""
    if not var:
        return session.send(_resp(a, "Error", "No variable specified"))
    name = a.get("Channel") or ""
    value = a.get("Value") or ""
    if name:
        ch = pbx.core.find_channel(name)
        if ch is None:
            return session.send(_resp(a, "Error", "No such channel"))
        pbx.core.set_var(ch, var, value)
    else:
        pbx.globals[var] = value
    session.send(_resp(a, "Success", "Variable Set"))


def _db_key(session: AMISession, a: Action) -> str | None:
    """main/db.c's checks on Family and Key; None (error sent) when one is missing."""
    family, key = a.get("Family") or "", a.get("Key") or ""
    if not family:
        session.send(_resp(a, "Error", "No family specified."))
        return None
    if not key:
        session.send(_resp(a, "Error", "No key specified."))
        return None
    return f"{family}/{key}"


def _dbget(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    """manager_dbget(): a one-item list (Asterisk 13+) ending in DBGetComplete."""
    path = _db_key(session, a)
    if path is None:
        return
    value = pbx.astdb.get(path)
    if value is None:
        return session.send(_resp(a, "Error", "Database entry not found"))
    aid = [("ActionID", a.action_id)] if a.action_id else []
    item = Event((("Event", "DBGetResponse"), ("Family", a.get("Family") or ""), ("Key", a.get("Key") or ""),
                  ("Val", value), *aid))
    _list(pbx, session, a, "Result will follow", "DBGetComplete", [item])


def _dbput(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    path = _db_key(session, a)
    if path is None:
        return
    pbx.astdb[path] = a.get("Val") or ""
    session.send(_resp(a, "Success", "Updated database successfully"))


def _dbdel(pbx: SimulatedPBX, session: AMISession, a: Action) -> None:
    path = _db_key(session, a)
    if path is None:
        return
    if pbx.astdb.pop(path, None) is None:  # manager_dbdel(): ast_db_del() failed (transcript 19)
        return session.send(_resp(a, "Error", "Database entry could not be deleted"))
    session.send(_resp(a, "Success", "Key deleted successfully"))


_HANDLERS: dict[str, Callable[[SimulatedPBX, AMISession, Action], None]] = {
    "dbget": _dbget,
    "dbput": _dbput,
    "dbdel": _dbdel,
    "login": _login,
    "logoff": _logoff,
    "ping": _ping,
    "corestatus": _core_status,
    "originate": _originate,
    "queueadd": _queue_change(Queues.add, "Added interface to queue"),
    "queueremove": _queue_change(Queues.remove, "Removed interface from queue"),
    "queuepause": _queue_change(
        Queues.pause,
        lambda a: "Interface paused successfully" if (a.get("Paused") or "").lower() in ("1", "true", "yes", "on", "y", "t")
        else "Interface unpaused successfully",
    ),
    "queuestatus": _queue_status,
    "queuesummary": _queue_summary,
    "coreshowchannels": _core_show_channels,
    "hangup": _hangup,
    "getvar": _getvar,
    "setvar": _setvar,
}
