"""A stand-in MongoDB server that speaks just enough of the wire protocol.

It answers the handshake, `ping`, and reads as of an empty database, so the
driver's own connection handling (server selection, reconnecting after
an outage) can be exercised on a machine with no MongoDB. `errors` maps a
command name to the error document the server answers it with.
"""

import datetime
import socket
import socketserver
import struct
import threading

import bson

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
HEADER = struct.Struct("<iiii")

HELLO = {
    "helloOk": True,
    "ismaster": True,
    "isWritablePrimary": True,
    "maxBsonObjectSize": 16 * 1024 * 1024,
    "maxMessageSizeBytes": 48_000_000,
    "maxWriteBatchSize": 100_000,
    "minWireVersion": 0,
    "maxWireVersion": 21,
    "readOnly": False,
    "ok": 1.0,
}


def _no_data(command):
    """What a read of an empty collection answers.

    A pipeline that ends in $facet still yields one document, each facet
    an empty list, as MongoDB answers it.
    """
    last = (command.get("pipeline") or [{}])[-1]
    if "$facet" in last:
        return [{name: [] for name in last["$facet"]}]
    return []


def _reply_doc(server, command):
    name = next(iter(command))
    if name in server.errors:
        return {"ok": 0.0, **server.errors[name]}
    if name.lower() in ("hello", "ismaster"):
        return {**HELLO, "localTime": datetime.datetime.now(datetime.UTC)}
    if name in ("find", "aggregate"):
        ns = f"{command.get('$db', 'test')}.{command[name]}"
        return {
            "cursor": {"firstBatch": _no_data(command), "id": 0, "ns": ns},
            "ok": 1.0,
        }
    return {"ok": 1.0}


def _read_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        server.connections.add(self.request)
        try:
            while True:
                length, request_id, _, opcode = HEADER.unpack(
                    _read_exact(self.request, HEADER.size)
                )
                body = _read_exact(self.request, length - HEADER.size)
                if opcode == OP_QUERY:
                    self._answer_query(server, request_id, body)
                elif opcode == OP_MSG:
                    self._answer_msg(server, request_id, body)
                else:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            server.connections.discard(self.request)

    def _send(self, request_id, opcode, payload):
        header = HEADER.pack(HEADER.size + len(payload), 0, request_id, opcode)
        self.request.sendall(header + payload)

    def _answer_query(self, server, request_id, body):
        # flags, collection name (C string), skip, limit, then the query.
        name_end = body.index(b"\0", 4)
        command = bson.decode_all(body[name_end + 9 :])[0]
        doc = bson.encode(_reply_doc(server, command))
        self._send(request_id, OP_REPLY, struct.pack("<iqii", 0, 0, 0, 1) + doc)

    def _answer_msg(self, server, request_id, body):
        # flags, then sections; the command is the kind-0 section.
        command = None
        at = 4
        while at < len(body):
            kind = body[at]
            size = struct.unpack_from("<i", body, at + 1)[0]
            if kind == 0:
                command = bson.decode(body[at + 1 : at + 1 + size])
            at += 1 + size
        doc = bson.encode(_reply_doc(server, command))
        self._send(request_id, OP_MSG, struct.pack("<I", 0) + b"\0" + doc)


class FakeMongo(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, errors=None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.errors = dict(errors or {})
        self.connections = set()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Stop listening and drop every open connection, as a crash would."""
        self.shutdown()
        self.server_close()
        for sock in list(self.connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
