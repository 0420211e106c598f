"""Errors raised by olive's AMI layer, split by whose fault they are.

    AMIError
    ├── AMIValueError          we were asked to send an illegal value (CR/LF, bad name): caller's fault
    ├── AMIProtocolError       the peer sent bytes we cannot frame or parse: peer's fault
    ├── AMIActionError         Asterisk answered ``Response: Error`` to an action
    ├── AMITimeout             no response arrived in time (the action may still have run)
    └── AMIConnectionError     the TCP session is not usable
        ├── AMIAuthenticationError   Login was refused
        └── AMIConnectionLost        the connection dropped; pending actions fail with this
                                     and are never re-sent
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from olive.ami._messages import Response


class AMIError(Exception):
    """Root of every error raised by :mod:`olive.ami`."""


class AMIValueError(AMIError, ValueError):
    """A header name or value cannot be written into an AMI message."""


class AMIProtocolError(AMIError):
    """The peer sent something that is not valid AMI."""


class AMIActionError(AMIError):
    """Asterisk refused an action (``Response: Error``)."""

    def __init__(self, action: str, response: Response) -> None:
        self.action = action
        self.response = response
        super().__init__(f"{action} failed: {response.get('Message') or 'no message'}")


class AMITimeout(AMIError, TimeoutError):
    """An action got no response in time; Asterisk may still have run it."""


class AMIConnectionError(AMIError, ConnectionError):
    """The AMI session is not usable."""


class AMIAuthenticationError(AMIConnectionError):
    """Asterisk refused the Login."""


class AMIConnectionLost(AMIConnectionError):
    """The connection dropped while an action was pending.

    Whether Asterisk ran the action is unknown. olive never re-sends it; it
    reconciles from QueueStatus/CoreShowChannels after reconnecting instead.
    """
