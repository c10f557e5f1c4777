#!/usr/bin/env python3
"""A TLS and SASL front for a test broker that has neither (librdkafka's mock, Tansu).

It listens on 127.0.0.1 and, per client connection, opens one connection to the upstream
broker. With ``--tls-cert``/``--tls-key`` it first does the server side of a TLS handshake
(Python's ssl module, i.e. OpenSSL; ``--tls-client-ca`` asks for and checks a client
certificate). With ``--sasl`` it then plays a Kafka broker's SASL part before relaying
anything:

* ApiVersions is answered here: the upstream's list plus SaslHandshake v0-1 and
  SaslAuthenticate v0-2 (an unsupported version gets UNSUPPORTED_VERSION in v0 form, as
  Kafka answers).
* SaslHandshake checks the mechanism against ``--sasl``; SaslAuthenticate runs PLAIN
  (checked against ``--user NAME:PASSWORD``) or SCRAM-SHA-256/512 with PyPI's ``scramp``
  (a kept server-side implementation). A wrong password is answered with
  SASL_AUTHENTICATION_FAILED and the connection closed, as Kafka does.
* Any other request before the login closes the connection (Kafka's "unexpected request
  during SASL handshake").
* ``--session-lifetime-ms`` gives the session a lifetime (KIP-368, SaslAuthenticate v1+). A
  client may log in again on the same connection (SaslHandshake + SaslAuthenticate); a request
  other than those arriving after the session ended closes the connection, as Kafka does.

Responses go back in request order, whether answered here or upstream. Once the front is
listening it prints one JSON line ``{"port": N}`` on stdout; each line ``stats`` on stdin
is answered with one JSON line of counters; ``{"cmd": "stop"}`` or the end of stdin stops it.
"""

import argparse
import asyncio
import json
import ssl
import struct
import sys
import threading
import time

import scramp

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
UNSUPPORTED_VERSION, SASL_AUTHENTICATION_FAILED = 35, 58
UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE = 33, 34
CLOSE = object()

STATS = {
    "connections": 0, "tls_failures": 0, "logins": 0, "login_failures": 0, "reauthentications": 0,
    "expired_closes": 0, "unauthenticated_requests": 0, "relayed_requests": 0,
}


def log(message):
    print(f"kafka_security_front: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Wire helpers


def uvarint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_uvarint(data, offset):
    shift = result = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7


def skip_tagged_fields(data, offset):
    count, offset = read_uvarint(data, offset)
    for _ in range(count):
        _, offset = read_uvarint(data, offset)
        size, offset = read_uvarint(data, offset)
        offset += size
    return offset


def parse_header(payload):
    """(api_key, api_version, correlation_id, body offset) of a request frame's payload."""
    api_key, version, correlation = struct.unpack_from(">hhi", payload, 0)
    (client_id_length,) = struct.unpack_from(">h", payload, 8)
    offset = 10 + max(client_id_length, 0)
    flexible = (api_key == API_VERSIONS and version >= 3) or (api_key == SASL_AUTHENTICATE and version >= 2)
    if flexible:
        offset = skip_tagged_fields(payload, offset)
    return api_key, version, correlation, offset


def frame(correlation, body, flexible_header=False):
    header = struct.pack(">i", correlation) + (b"\x00" if flexible_header else b"")
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


# ------------------------------------------------------------------------------------------
# The front


class Front:
    def __init__(self, args):
        self.args = args
        self.upstream_host, port = args.upstream.rsplit(":", 1)
        self.upstream_port = int(port)
        self.mechanisms = [m for m in (args.sasl or "").split(",") if m]
        self.users = {}
        for entry in args.user or []:
            name, _, password = entry.partition(":")
            self.users[name] = password
        self.scram_info = {}
        for mechanism in self.mechanisms:
            if mechanism.startswith("SCRAM-"):
                scram = scramp.ScramMechanism(mechanism)
                self.scram_info[mechanism] = (scram, {
                    name: scram.make_auth_info(password, iteration_count=4096)
                    for name, password in self.users.items()})
        self.tls = None
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(args.tls_cert, args.tls_key)
            if args.tls_client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(args.tls_client_ca)
            self.tls = context
        self.api_versions = None

    def upstream_api_versions(self):
        """ApiKey -> (min, max) the upstream offers, asked once with ApiVersions v0."""
        import socket
        with socket.create_connection((self.upstream_host, self.upstream_port), timeout=10) as connection:
            # ApiVersions v0, correlation id 1, client id "front".
            connection.sendall(bytes.fromhex("0000000f00120000000000010005") + b"front")
            size = struct.unpack(">i", recv_exactly(connection, 4))[0]
            body = recv_exactly(connection, size)
        _, error, count = struct.unpack_from(">ihi", body, 0)
        if error:
            raise RuntimeError(f"upstream ApiVersions v0 answered error {error}")
        versions = {}
        for index in range(count):
            key, low, high = struct.unpack_from(">hhh", body, 10 + 6 * index)
            versions[key] = (low, high)
        versions[API_VERSIONS] = (0, 3)
        if self.mechanisms:
            versions[SASL_HANDSHAKE] = (0, 1)
            versions[SASL_AUTHENTICATE] = (0, 2)
        return versions

    def api_versions_response(self, correlation, version):
        entries = sorted(self.api_versions.items())
        if version > 3:
            body = struct.pack(">hi", UNSUPPORTED_VERSION, len(entries))
            body += b"".join(struct.pack(">hhh", k, lo, hi) for k, (lo, hi) in entries)
            return frame(correlation, body)
        if version == 3:
            body = struct.pack(">h", 0) + uvarint(len(entries) + 1)
            body += b"".join(struct.pack(">hhh", k, lo, hi) + b"\x00" for k, (lo, hi) in entries)
            body += struct.pack(">i", 0) + b"\x00"
            return frame(correlation, body)
        body = struct.pack(">hi", 0, len(entries))
        body += b"".join(struct.pack(">hhh", k, lo, hi) for k, (lo, hi) in entries)
        if version >= 1:
            body += struct.pack(">i", 0)
        return frame(correlation, body)

    async def serve(self):
        self.api_versions = self.upstream_api_versions()
        server = await asyncio.start_server(self.accept, "127.0.0.1", self.args.listen_port)
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        threading.Thread(target=stdin_commands, daemon=True).start()
        async with server:
            await server.serve_forever()

    async def accept(self, reader, writer):
        STATS["connections"] += 1
        try:
            if self.tls is not None:
                try:
                    await writer.start_tls(self.tls)
                except (ssl.SSLError, ConnectionError, OSError) as error:
                    STATS["tls_failures"] += 1
                    log(f"TLS handshake failed: {error}")
                    writer.close()
                    return
            await Connection(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


class Connection:
    def __init__(self, front, reader, writer):
        self.front = front
        self.reader = reader
        self.writer = writer
        self.authenticated = not front.mechanisms
        self.mechanism = None
        self.scram_server = None
        self.expires_at = None
        self.logged_in_once = False
        self.slots = asyncio.Queue()
        self.pending = {}
        self.upstream_writer = None

    async def run(self):
        up_reader, self.upstream_writer = await asyncio.open_connection(
            self.front.upstream_host, self.front.upstream_port)
        tasks = [asyncio.create_task(self.write_responses()), asyncio.create_task(self.read_upstream(up_reader))]
        try:
            await self.read_requests()
        finally:
            await self.slots.put(None)
            try:
                await asyncio.wait_for(tasks[0], 5)
            except Exception:
                pass
            tasks[1].cancel()
            self.upstream_writer.close()

    def local(self, data):
        future = asyncio.get_running_loop().create_future()
        future.set_result(data)
        return future

    async def read_requests(self):
        while True:
            size = struct.unpack(">i", await self.reader.readexactly(4))[0]
            payload = await self.reader.readexactly(size)
            api_key, version, correlation, body = parse_header(payload)
            if api_key == API_VERSIONS:
                await self.slots.put(self.local(self.front.api_versions_response(correlation, version)))
                continue
            if api_key == SASL_HANDSHAKE and self.front.mechanisms:
                if not await self.handshake(payload, body, correlation, version):
                    return
                continue
            if api_key == SASL_AUTHENTICATE and self.front.mechanisms:
                if not await self.authenticate(payload, body, correlation, version):
                    return
                continue
            if not self.authenticated or self.scram_server is not None or self.mechanism is not None:
                STATS["unauthenticated_requests"] += 1
                log(f"request {api_key} v{version} before the login completed: closing")
                await self.slots.put(self.local(CLOSE))
                return
            if self.expires_at is not None and time.monotonic() > self.expires_at:
                STATS["expired_closes"] += 1
                log(f"request {api_key} after the session expired: closing")
                await self.slots.put(self.local(CLOSE))
                return
            STATS["relayed_requests"] += 1
            future = asyncio.get_running_loop().create_future()
            self.pending[correlation] = future
            await self.slots.put(future)
            self.upstream_writer.write(struct.pack(">i", size) + payload)

    async def handshake(self, payload, body, correlation, version):
        (length,) = struct.unpack_from(">h", payload, body)
        mechanism = payload[body + 2:body + 2 + length].decode()
        mechanisms = self.front.mechanisms
        entries = struct.pack(">i", len(mechanisms)) + b"".join(
            struct.pack(">h", len(m)) + m.encode() for m in mechanisms)
        if mechanism not in mechanisms:
            await self.slots.put(self.local(frame(correlation, struct.pack(">h", UNSUPPORTED_SASL_MECHANISM) + entries)))
            await self.slots.put(self.local(CLOSE))
            return False
        if version == 0:
            log("SaslHandshake v0 (raw SASL tokens) is not supported by this front")
            await self.slots.put(self.local(CLOSE))
            return False
        self.mechanism = mechanism
        self.scram_server = None
        if mechanism.startswith("SCRAM-"):
            scram, infos = self.front.scram_info[mechanism]
            self.scram_server = scram.make_server(lambda name: infos.get(name))
            self.scram_stage = "first"
        await self.slots.put(self.local(frame(correlation, struct.pack(">h", 0) + entries)))
        return True

    def authenticate_response(self, correlation, version, error, message, auth_bytes, lifetime):
        if version >= 2:
            body = struct.pack(">h", error)
            body += uvarint(0) if message is None else uvarint(len(message.encode()) + 1) + message.encode()
            body += uvarint(len(auth_bytes) + 1) + auth_bytes
            body += struct.pack(">q", lifetime) + b"\x00"
            return frame(correlation, body, flexible_header=True)
        body = struct.pack(">h", error)
        body += struct.pack(">h", -1) if message is None else struct.pack(">h", len(message.encode())) + message.encode()
        body += struct.pack(">i", len(auth_bytes)) + auth_bytes
        if version >= 1:
            body += struct.pack(">q", lifetime)
        return frame(correlation, body)

    async def authenticate(self, payload, body, correlation, version):
        if version >= 2:
            length, offset = read_uvarint(payload, body)
            auth = payload[offset:offset + length - 1]
        else:
            (length,) = struct.unpack_from(">i", payload, body)
            auth = payload[body + 4:body + 4 + length]
        if self.mechanism is None:
            await self.slots.put(self.local(self.authenticate_response(
                correlation, version, ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake", b"", 0)))
            await self.slots.put(self.local(CLOSE))
            return False
        failure = None
        answer = b""
        done = False
        if self.mechanism == "PLAIN":
            parts = auth.split(b"\x00")
            if len(parts) == 3 and self.front.users.get(parts[1].decode(errors="replace")) == parts[2].decode(
                    errors="replace"):
                done = True
            else:
                failure = "Authentication failed: Invalid username or password"
        else:
            try:
                if self.scram_stage == "first":
                    self.scram_server.set_client_first(auth.decode())
                    answer = self.scram_server.get_server_first().encode()
                    self.scram_stage = "final"
                else:
                    self.scram_server.set_client_final(auth.decode())
                    answer = self.scram_server.get_server_final().encode()
                    done = True
            except scramp.ScramException as error:
                failure = ("Authentication failed during authentication due to invalid credentials with SASL "
                           f"mechanism {self.mechanism} ({error})")
        if failure is not None:
            STATS["login_failures"] += 1
            log(f"login refused: {failure}")
            await self.slots.put(self.local(self.authenticate_response(
                correlation, version, SASL_AUTHENTICATION_FAILED, failure, b"", 0)))
            await self.slots.put(self.local(CLOSE))
            return False
        lifetime = 0
        if done:
            if self.logged_in_once:
                STATS["reauthentications"] += 1
            else:
                STATS["logins"] += 1
            self.logged_in_once = True
            self.authenticated = True
            self.mechanism = None
            self.scram_server = None
            if self.front.args.session_lifetime_ms and version >= 1:
                lifetime = self.front.args.session_lifetime_ms
                self.expires_at = time.monotonic() + lifetime / 1000
        await self.slots.put(self.local(self.authenticate_response(correlation, version, 0, None, answer, lifetime)))
        return True

    async def read_upstream(self, reader):
        while True:
            size = struct.unpack(">i", await reader.readexactly(4))[0]
            payload = await reader.readexactly(size)
            (correlation,) = struct.unpack_from(">i", payload, 0)
            future = self.pending.pop(correlation, None)
            if future is not None:
                future.set_result(struct.pack(">i", size) + payload)

    async def write_responses(self):
        while True:
            future = await self.slots.get()
            if future is None:
                return
            data = await future
            if data is CLOSE:
                await self.writer.drain()
                self.writer.close()
                return
            self.writer.write(data)
            await self.writer.drain()


def recv_exactly(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise RuntimeError("upstream closed during ApiVersions")
        data += chunk
    return data


def stdin_commands():
    for line in sys.stdin:
        if line.strip() == "stats":
            print(json.dumps(STATS), flush=True)
            continue
        # The test driver's own stop command ({"cmd": "stop"}), answered before stopping.
        stop = '"stop"' in line
        print(json.dumps({"ok": stop, "error": None if stop else f"unknown command {line.strip()[:80]}"}),
              flush=True)
        if stop:
            break
    log("stopping")
    import os
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="host:port of the broker relayed to")
    parser.add_argument("--listen-port", type=int, default=0)
    parser.add_argument("--tls-cert", help="the server certificate chain (PEM)")
    parser.add_argument("--tls-key", help="its private key (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA (PEM)")
    parser.add_argument("--sasl", help="comma list of enabled mechanisms: PLAIN,SCRAM-SHA-256,SCRAM-SHA-512")
    parser.add_argument("--user", action="append", help="NAME:PASSWORD (repeatable)")
    parser.add_argument("--session-lifetime-ms", type=int, default=0)
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        asyncio.run(Front(args).serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
