#!/usr/bin/env python3
"""End-to-end produce benchmark: `tributary produce` against `kcat -P`.

Both clients read the same newline-delimited file on stdin and produce it to their own topic
on librdkafka's mock cluster (scripts/kafka_test_cluster.py serve), with LZ4 compression and
--acks (default 1). With --acks all, tributary runs with idempotence on (its default) and off
(enable.idempotence=false), so the cost of idempotence shows as a ratio between the two. For every client run it measures wall time, user+sys CPU and peak RSS of the client
process (os.wait4), and checks that the high watermarks of the topic add up to the record
count. The mock keeps only a bounded tail of each partition, so deliveries are counted from
watermarks, not by consuming.

Run with the project's virtualenv (it holds confluent-kafka, the mock cluster's host):

    .venv/bin/python scripts/bench_produce.py --records 2000000 --repeat 3

scripts/bench-produce.sh installs kcat, bootstraps and builds the release binary first.

Caveat: the mock cluster runs on the same machine as the client, so it competes with the
client for CPU; the table shows its CPU time per run ("broker CPU s") for that reason.
"""

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "scripts", "kafka_test_cluster.py")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------
# Input: deterministic, log-like lines


HOSTS = [f"web-{zone}-{n:02d}" for zone in ("eu1", "eu2", "us1", "us2", "ap1") for n in range(1, 9)]
METHODS = ["GET"] * 14 + ["POST"] * 4 + ["PUT", "DELETE"]
PATHS = [
    "/", "/index.html", "/login", "/logout", "/cart", "/cart/items", "/checkout", "/orders",
    "/api/v1/users/{id}", "/api/v1/users/{id}/orders", "/api/v1/products/{id}", "/api/v1/search",
    "/api/v2/sessions", "/api/v2/recommendations/{id}", "/static/app.{id}.js", "/static/style.css",
    "/images/products/{id}.jpg", "/health", "/metrics", "/favicon.ico",
]
STATUSES = [200] * 40 + [201] * 3 + [204] * 2 + [301, 302, 304, 304, 304] + [400, 401, 403] + [404] * 3 + [500, 502, 503]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/7.88.1",
    "Go-http-client/1.1",
    "python-requests/2.31.0",
    "kube-probe/1.29",
]


def write_input(path, records, size, seed=20240501):
    """Writes `records` lines of exactly `size` bytes each (plus '\\n'); the same bytes every run."""
    rng = random.Random(seed)
    base = 1714521600000  # 2024-05-01T00:00:00Z in ms
    filler = " ua=\"{}\" trace={:016x} " + "-" * 64
    written = 0
    with open(path, "wb", buffering=1 << 20) as out:
        lines = []
        millis = base
        cached_second, cached_prefix = None, ""
        for index in range(records):
            millis += rng.randrange(0, 4)
            seconds, ms = divmod(millis, 1000)
            if seconds != cached_second:
                cached_second, cached_prefix = seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            stamp = f"{cached_prefix}.{ms:03d}Z"
            path_ = rng.choice(PATHS).replace("{id}", str(rng.randrange(1, 50000)))
            line = (f"{stamp} {rng.choice(HOSTS)} {rng.choice(METHODS)} {path_} "
                    f"{rng.choice(STATUSES)} {rng.randrange(0, 65536)}B {rng.randrange(1, 2000)}ms")
            if len(line) < size:
                line += filler.format(rng.choice(AGENTS), rng.getrandbits(64))
                while len(line) < size:
                    line += " ."
            lines.append(line[:size])
            if len(lines) == 10000:
                chunk = ("\n".join(lines) + "\n").encode("ascii")
                out.write(chunk)
                written += len(chunk)
                lines = []
        if lines:
            chunk = ("\n".join(lines) + "\n").encode("ascii")
            out.write(chunk)
            written += len(chunk)
    return written


# --------------------------------------------------------------------------------------
# The mock cluster (the driver's `serve` protocol)


class Cluster:
    def __init__(self, python, brokers, stderr_path):
        self.stderr = open(stderr_path, "wb")
        self.process = subprocess.Popen(
            [python, DRIVER, "serve", "--brokers", str(brokers)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1)
        ready = self._read_line("start")
        if ready.get("event") != "ready":
            raise BenchError(f"the mock cluster did not start: {ready}")
        self.bootstrap = ready["bootstrap"]

    def _read_line(self, what):
        line = self.process.stdout.readline()
        if not line:
            raise BenchError(f"the mock cluster exited during {what} (see its stderr)")
        return json.loads(line)

    def command(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = self._read_line(command.get("cmd"))
        if not reply.get("ok"):
            raise BenchError(f"mock cluster command {command} failed: {reply.get('error')}")
        return reply

    def cpu_seconds(self):
        """user+sys CPU of the cluster process (all its threads) so far."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def close(self):
        try:
            self.process.stdin.close()  # EOF stops the driver
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


# --------------------------------------------------------------------------------------
# Client runs


class Client:
    def __init__(self, name, topic_prefix, command):
        self.name = name
        self.topic_prefix = topic_prefix
        self.command = command  # function topic -> argv
        self.runs = []

    def best(self):
        return min(self.runs, key=lambda r: r["wall"])


# Peak RSS needs care: Linux carries a process's ru_maxrss across exec, and counts in it the
# memory it had before exec. A client forked (or vforked) straight from this Python process would
# report Python's own ~30 MiB as its floor. So a small /bin/sh starts the client in the background
# and exits; the client is reparented to us (PR_SET_CHILD_SUBREAPER) and we wait4 it directly: its
# floor is only the shell's ~1 MiB.
LAUNCHER = 'exec 3<&0; "$@" <&3 3<&- >/dev/null & echo $!'


def become_subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise BenchError(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


class StderrCapture(threading.Thread):
    """Drains a client's stderr pipe keeping only its start and end (a client may log in a loop)."""

    LIMIT = 1200

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd, self.head, self.tail, self.size = fd, b"", b"", 0

    def run(self):
        with os.fdopen(self.fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                self.size += len(chunk)
                if len(self.head) < self.LIMIT:
                    room = self.LIMIT - len(self.head)
                    self.head, chunk = self.head + chunk[:room], chunk[room:]
                self.tail = (self.tail + chunk)[-self.LIMIT:]

    def text(self):
        head, tail = self.head.decode("utf-8", "replace"), self.tail.decode("utf-8", "replace")
        if self.size <= len(self.head) + len(self.tail):
            return head + tail
        return f"{head}\n… ({self.size:,} bytes in all; middle left out) …\n{tail}"


def run_client(argv, input_path, timeout):
    """Runs argv with the input file on stdin; returns wall, CPU, RSS and the exit status."""
    read_end, write_end = os.pipe()
    capture = StderrCapture(read_end)
    capture.start()
    with open(input_path, "rb") as stdin:
        start = time.perf_counter()
        shell = subprocess.Popen(["/bin/sh", "-c", LAUNCHER, "sh", *argv],
                                 stdin=stdin, stdout=subprocess.PIPE, stderr=write_end)
        os.close(write_end)
        output = shell.stdout.read()
        shell.stdout.close()
        if shell.wait() != 0 or not output.strip().isdigit():
            raise BenchError(f"could not start {argv[0]} (launcher said {output!r}, status {shell.returncode})")
        pid = int(output)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            while True:
                try:
                    _, status, usage = os.wait4(pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    raise BenchError(f"{argv[0]} (pid {pid}) was reaped by the launcher shell; "
                                     "it exited too fast to measure")
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    capture.join()
    return {
        "stderr": capture.text(),
        "start": start,
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_kib": usage.ru_maxrss,
        "exit": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out.is_set(),
    }


def read_tail(path, limit=4000):
    """The start and the end of a possibly huge file (a client may log in a loop)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size <= 2 * limit:
            return f.read().decode("utf-8", "replace")
        head = f.read(limit).decode("utf-8", "replace")
        f.seek(size - limit)
        tail = f.read().decode("utf-8", "replace")
    return f"{head}\n… ({size:,} bytes in all; middle left out) …\n{tail}"


class AckWatcher(threading.Thread):
    """Polls the topic's high watermarks while a client runs; notes when they reach the record
    count (all acknowledged), which can be earlier than the client's exit."""

    def __init__(self, cluster, topic, records, interval):
        super().__init__(daemon=True)
        self.cluster, self.topic, self.records, self.interval = cluster, topic, records, interval
        self.stop = threading.Event()
        self.acked_at = None  # perf_counter time

    def run(self):
        while not self.stop.wait(self.interval):
            try:
                marks = self.cluster.command(cmd="watermarks", topic=self.topic)["partitions"]
            except BenchError:
                continue
            if sum(m["high"] for m in marks) >= self.records:
                self.acked_at = time.perf_counter()
                return

    def finish(self):
        self.stop.set()
        self.join()


# --------------------------------------------------------------------------------------
# Reporting


def first_line_with(text, needle):
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else "?"


def version_of(argv):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return result.stdout + result.stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(clients, records, size):
    reference = clients[0].best()
    header = ["client", "records/s", "MB/s", "CPU s", "CPU µs/rec", "peak RSS MiB",
              "thr vs kcat", "CPU vs kcat", "RSS vs kcat", "wall s", "broker CPU s"]
    rows = []
    for client in clients:
        run = client.best()
        rows.append([
            client.name,
            f"{records / run['wall']:,.0f}",
            f"{records * size / run['wall'] / 1e6:.1f}",
            f"{run['cpu']:.2f}",
            f"{run['cpu'] / records * 1e6:.2f}",
            f"{run['rss_kib'] / 1024:.1f}",
            f"{reference['wall'] / run['wall']:.2f}x",
            f"{run['cpu'] / reference['cpu']:.2f}x",
            f"{run['rss_kib'] / reference['rss_kib']:.2f}x",
            f"{run['wall']:.2f}",
            f"{run['broker_cpu']:.2f}",
        ])
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt(row))


# --------------------------------------------------------------------------------------


def main(argv):
    parser = argparse.ArgumentParser(description="tributary produce vs kcat -P on librdkafka's mock cluster")
    parser.add_argument("--records", type=int, default=2_000_000, help="records per run (default 2000000)")
    parser.add_argument("--record-size", type=int, default=100, help="bytes per record, without the newline (default 100)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    parser.add_argument("--brokers", type=int, default=1, help="mock cluster brokers (default 1)")
    parser.add_argument("--tributary", default=os.path.join(ROOT, ".build-bench", "release", "tributary"),
                        help="tributary binary (default .build-bench/release/tributary)")
    parser.add_argument("--kcat", default="kcat", help="kcat binary (default kcat)")
    parser.add_argument("--acks", default="1", choices=["0", "1", "all"],
                        help="acks for every client (default 1); with all, tributary runs with and without "
                             "idempotence")
    parser.add_argument("--repeat", type=int, default=1, help="runs per client; the fastest is reported (default 1)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a client run is killed (default 300)")
    parser.add_argument("--ack-poll", type=float, default=0.5,
                        help="seconds between watermark polls during a run, to note when all records were "
                             "acknowledged (0: off; default 0.5)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.record_size < 1 or args.partitions < 1 or args.brokers < 1 or args.repeat < 1:
        parser.error("--records, --record-size, --partitions, --brokers and --repeat must be positive")

    kcat = shutil.which(args.kcat) or args.kcat
    tributary = os.path.abspath(args.tributary)
    for label, path in (("kcat", kcat), ("tributary", tributary)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"bench: FAILED: {label} binary not found or not executable: {path}", flush=True)
            return 2

    import confluent_kafka  # from the venv; only for the version line

    print("== machine")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"nproc: {affinity}   CPU: {cpu_model()}   kernel: {platform.release()}")
    print(f"kcat: {first_line_with(version_of([kcat, '-V']), 'Version')}")
    print(f"tributary: {version_of([tributary, '--version']).strip()}   ({tributary})")
    print(f"mock cluster: librdkafka {confluent_kafka.libversion()[0]} (confluent-kafka {confluent_kafka.version()[0]}), "
          f"{args.brokers} broker(s), {args.partitions} partitions per topic, same machine")
    print(flush=True)

    workdir = tempfile.mkdtemp(prefix="tributary-bench-")
    cluster = None
    try:
        become_subreaper()
        input_path = os.path.join(workdir, "input.log")
        started = time.perf_counter()
        total_bytes = write_input(input_path, args.records, args.record_size)
        log(f"wrote {args.records} records ({total_bytes} bytes) to {input_path} "
            f"in {time.perf_counter() - started:.1f} s")
        with open(input_path, "rb") as f:
            sample = f.readline().decode().rstrip("\n")

        cluster = Cluster(sys.executable, args.brokers, os.path.join(workdir, "cluster.stderr"))
        bootstrap = cluster.bootstrap

        acks = ["-X", f"acks={args.acks}"]
        clients = [
            Client("kcat", "bench-kcat", lambda topic: [
                kcat, "-P", "-b", bootstrap, "-t", topic, "-X", "compression.codec=lz4", *acks]),
        ]
        # With acks=all tributary is idempotent by default; the pairs below show what that costs.
        variants = [("", [])]
        if args.acks == "all":
            variants = [(" idempotent", []), (" not idempotent", ["-X", "enable.idempotence=false"])]
        for batch_name, batch_args in (("", []), (" batch.size=1000000", ["-X", "batch.size=1000000"])):
            for variant_name, variant_args in variants:
                name = f"tributary{batch_name}{variant_name}"
                prefix = "bench-" + name.replace(" ", "-").replace("=", "").replace(".", "")
                clients.append(Client(name, prefix, lambda topic, extra=batch_args + variant_args: [
                    tributary, "produce", "--brokers", bootstrap, "--topic", topic,
                    "-X", "compression.type=lz4", *acks, *extra]))

        print("== setup")
        print(f"input: {args.records} records x {args.record_size} bytes (+ newline) = {total_bytes} bytes, e.g.")
        print(f"  {sample}")
        print(f"commands (stdin < {input_path}; TOPIC = <prefix>-<run>, {args.partitions} partitions, created fresh):")
        for client in clients:
            print(f"  {client.name}: {shlex.join(client.command(client.topic_prefix + '-1'))}")
        print(flush=True)

        failures = []
        print("== runs")
        for round_ in range(1, args.repeat + 1):
            for client in clients:
                topic = f"{client.topic_prefix}-{round_}"
                cluster.command(cmd="create_topic", topic=topic, partitions=args.partitions)
                broker_cpu_before = cluster.cpu_seconds()
                watcher = AckWatcher(cluster, topic, args.records, args.ack_poll) if args.ack_poll > 0 else None
                if watcher:
                    watcher.start()
                try:
                    run = run_client(client.command(topic), input_path, args.timeout)
                finally:
                    if watcher:
                        watcher.finish()
                run["broker_cpu"] = cluster.cpu_seconds() - broker_cpu_before
                run["acked"] = (watcher.acked_at - run["start"]) if watcher and watcher.acked_at else None
                marks = cluster.command(cmd="watermarks", topic=topic)["partitions"]
                run["delivered"] = sum(m["high"] for m in marks)
                run["per_partition"] = [m["high"] for m in marks]
                stderr_text = run["stderr"]
                ok = run["exit"] == 0 and not run["timed_out"] and run["delivered"] == args.records
                print(f"{client.name:30s} run {round_}: wall {run['wall']:7.2f} s  cpu {run['cpu']:6.2f} s "
                      f"(user {run['user']:.2f} sys {run['sys']:.2f})  rss {run['rss_kib'] / 1024:7.1f} MiB  "
                      f"exit {run['exit']}  delivered {run['delivered']} {run['per_partition']}"
                      f"{'  all acked by ~%.1f s' % run['acked'] if run['acked'] is not None else ''}"
                      f"{'  TIMED OUT' if run['timed_out'] else ''}", flush=True)
                if stderr_text.strip():
                    print(f"  {client.name} stderr:")
                    for line in stderr_text.rstrip().splitlines():
                        print(f"    {line}")
                if not ok:
                    reason = []
                    if run["timed_out"]:
                        reason.append(f"killed after {args.timeout:.0f} s")
                    if run["exit"] != 0:
                        reason.append(f"exit status {run['exit']}")
                    if run["delivered"] != args.records:
                        reason.append(f"high watermarks sum to {run['delivered']}, expected {args.records}")
                    failures.append(f"FAILED: {client.name} run {round_} (topic {topic}): {'; '.join(reason)}")
                    print(failures[-1], flush=True)
                else:
                    client.runs.append(run)
        print()

        if any(not c.runs for c in clients):
            for line in failures:
                print(line)
            print("bench: FAILED: no successful run for: " + ", ".join(c.name for c in clients if not c.runs))
            return 1

        print(f"== results ({args.records} records x {args.record_size} B, LZ4, acks={args.acks}, "
              f"{args.partitions} partitions, {args.brokers} broker(s); "
              f"{'best of ' + str(args.repeat) + ' by wall time' if args.repeat > 1 else 'one run each'}; "
              f"MB = 10^6 bytes of record payload)")
        print_table(clients, args.records, args.record_size)
        print("thr vs kcat = kcat wall / client wall (higher is faster); CPU, RSS vs kcat = client / kcat (lower is leaner)")
        by_name = {c.name: c.best() for c in clients}
        for batch_name in ("", " batch.size=1000000"):
            on = by_name.get(f"tributary{batch_name} idempotent")
            off = by_name.get(f"tributary{batch_name} not idempotent")
            if on and off:
                print(f"idempotence cost, tributary{batch_name}: throughput {off['wall'] / on['wall']:.2f}x of "
                      f"not idempotent, CPU {on['cpu'] / off['cpu']:.2f}x")
        if failures:
            print()
            for line in failures:
                print(line)
            return 1
        return 0
    except BenchError as error:
        print(f"bench: FAILED: {error}", flush=True)
        if cluster is not None:
            print(read_tail(cluster.stderr.name))
        return 1
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
