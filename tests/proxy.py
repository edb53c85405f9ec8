"""A loopback TCP proxy the tests can cut, stall, or make lose one acknowledgement.

It forwards whole MongoDB wire-protocol messages (a 4-byte little-endian length
opens each), so it can recognise a command going in and its reply coming back.
"""

from __future__ import annotations

import socket
import struct
import threading

import bson

HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
OP_MSG = 2013


class TcpProxy:
    """Forwards 127.0.0.1:<port> to *target*.

    :meth:`cut` closes everything and refuses new connections; :meth:`stall` keeps
    connections open but forwards nothing (a hung server); :meth:`drop_reply_to`
    lets the next such command reach the server, then closes the connection
    instead of passing its reply back: applied, never acknowledged.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = self._free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._drop_command: str | None = None
        self._doomed_requests: set[int] = set()
        self._withheld_requests: set[int] = set()
        self._withhold = False
        self.dropped: list[str] = []

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def start(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._flowing.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Drop every open connection and stop listening: the server looks gone."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:
            _close(conn)
        self._flowing.set()  # let stalled pipes notice their sockets are gone

    def stall(self) -> None:
        """Stop forwarding in both directions, connections left open: the server hangs."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def drop_reply_to(self, command: str, *, withhold: bool = False) -> None:
        """Arm: the next *command* (``"insert"``, ``"update"``...) is applied but its reply is lost.

        The connection is closed where the reply was; with *withhold* it stays open
        and silent instead, so the client waits for its socket timeout.
        """
        with self._lock:
            self._drop_command, self._withhold = command, withhold

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream, self._requests), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self._replies), daemon=True).start()

    def _requests(self, header: tuple[int, int, int, int], body: bytes) -> bool:
        """Note the request id of an armed command; always forwarded."""
        _, request_id, _, op_code = header
        if self._drop_command is not None and op_code == OP_MSG:
            command = _command_name(body)
            with self._lock:
                if command == self._drop_command:
                    self._drop_command = None
                    (self._withheld_requests if self._withhold else self._doomed_requests).add(request_id)
                    self.dropped.append(command)
        return True

    def _replies(self, header: tuple[int, int, int, int], body: bytes) -> bool | None:
        """Forward (True), unless this replies to a doomed request (False: close) or a withheld one (None: skip)."""
        with self._lock:
            if header[2] in self._doomed_requests:
                self._doomed_requests.discard(header[2])
                return False
            if header[2] in self._withheld_requests:
                self._withheld_requests.discard(header[2])
                return None
        return True

    def _pipe(self, source: socket.socket, sink: socket.socket, inspect) -> None:
        buffer = b""
        try:
            while data := source.recv(65536):
                buffer += data
                while len(buffer) >= HEADER.size and len(buffer) >= (length := HEADER.unpack_from(buffer)[0]):
                    message, buffer = buffer[:length], buffer[length:]
                    self._flowing.wait()
                    verdict = inspect(HEADER.unpack_from(message), message[HEADER.size:])
                    if verdict is False:
                        raise OSError("reply dropped on purpose")
                    if verdict:
                        sink.sendall(message)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _command_name(body: bytes) -> str | None:
    """The first key of an OP_MSG's body section (kind 0 follows the 4-byte flags)."""
    if len(body) < 5 or body[4] != 0:
        return None
    try:
        document = bson.decode(body[5:5 + struct.unpack_from("<i", body, 5)[0]])
    except Exception:
        return None
    return next(iter(document), None)


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
