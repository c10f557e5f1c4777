#!/usr/bin/env python3
"""A bounded soak of `tributary run`: minutes of steady input under broker faults.

Builds the release binary, starts librdkafka's mock cluster (3 brokers, two 6-partition topics),
and runs the agent on a pipeline with a file source and a UNIX stream socket source. Meanwhile:

  * a writer appends numbered lines to app.log at a steady rate and rotates it by rename every
    --rotate-seconds (rotated files past the last few are deleted: the agent may still hold
    them open until it has read them);
  * socket clients connect, write a few hundred lines at a steady rate, disconnect, and again;
  * every --fault-seconds one fault is injected through the driver's serve protocol: a broker
    down and up, all brokers down and up, a leader moved, retriable Produce errors queued,
    added latency, Produce answers delayed past the request timeout;
  * every --interval seconds the agent is sampled: lines written, records acknowledged (the
    agent's /metrics), records stored (the topics' high watermarks), RSS, descriptors, CPU.

At the end the writers stop, the faults are cleared, the agent is given time to deliver, then
stopped with SIGTERM; an independent consumer reads both topics and every line written is looked
for, as a real broker would hold them (the mock appends an idempotent producer's retries
again; see broker_view). Memory and descriptors are judged flat when the median of the last
third of the samples (after --warmup-seconds) exceeds the first third's by no more than
--max-rss-growth-mib and --max-fd-growth. Exits 1 on a lost or duplicated line, a failed shutdown, or growth.

    make soak                                   # 10 minutes (SOAK_MINUTES=N for another length)
    .venv/bin/python scripts/soak.py --minutes 2 --skip-build
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_many_files import process_sample  # noqa: E402
from bench_produce import ROOT, BenchError, Cluster  # noqa: E402

TOPICS = {"soak-files": 6, "soak-socket": 6}
PADDING = "x" * 80

PIPELINE = """\
kafka:
  bootstrap_servers: [{bootstrap}]
  producer: {{ request.timeout.ms: 5000 }}
agent:
  state_dir: {work}/state
  shutdown_timeout: 60s
  metrics_listen: unix:{work}/metrics.sock
sources:
  app:
    type: file
    include: [{work}/logs/*.log]
    rotate_wait: 2s
  events:
    type: unix_socket
    path: {work}/in.sock
routes:
  - from: app
    topic: soak-files
  - from: events
    topic: soak-socket
"""


def log(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


class Counts:
    """Lines written per stream (`f <generation>`, `s <client>.<connection>`), shared by writers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.streams = {}

    def add(self, stream, lines):
        with self.lock:
            self.streams[stream] = self.streams.get(stream, 0) + lines

    def total(self, prefix=""):
        with self.lock:
            return sum(n for s, n in self.streams.items() if s.startswith(prefix))

    def snapshot(self):
        with self.lock:
            return dict(self.streams)


def lines(stream, start, count):
    return "".join(f"{stream} {n} {PADDING}\n" for n in range(start, start + count)).encode()


class FileWriter(threading.Thread):
    def __init__(self, logs, rate, rotate_seconds, keep, counts, stop):
        super().__init__(daemon=True)
        self.logs, self.rate, self.rotate_seconds, self.keep = logs, rate, rotate_seconds, keep
        self.counts, self.stop, self.error, self.rotations = counts, stop, None, 0

    def run(self):
        try:
            live = os.path.join(self.logs, "app.log")
            generation, sequence, owed = 0, 0, 0.0
            rotated_at = tick = time.monotonic()
            while not self.stop.is_set():
                time.sleep(0.05)
                now = time.monotonic()
                owed += (now - tick) * self.rate
                tick = now
                count = int(owed)
                if count:
                    owed -= count
                    with open(live, "ab") as f:
                        f.write(lines(f"f {generation}", sequence, count))
                    self.counts.add(f"f {generation}", count)
                    sequence += count
                if now - rotated_at >= self.rotate_seconds:
                    os.rename(live, os.path.join(self.logs, f"app.log.{generation}"))
                    old = os.path.join(self.logs, f"app.log.{generation - self.keep}")
                    if os.path.exists(old):
                        os.unlink(old)
                    generation, sequence, rotated_at = generation + 1, 0, now
                    self.rotations += 1
        except Exception as error:  # reported in the summary; the soak fails on it
            self.error = f"file writer: {type(error).__name__}: {error}"


class SocketClient(threading.Thread):
    def __init__(self, index, path, rate, counts, stop, seed):
        super().__init__(daemon=True)
        self.index, self.path, self.rate, self.counts, self.stop = index, path, rate, counts, stop
        self.random, self.error, self.connections = random.Random(seed), None, 0

    def run(self):
        try:
            while not self.stop.is_set():
                stream = f"s {self.index}.{self.connections}"
                wanted = self.random.randint(50, 600)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.connect(self.path)
                    self.connections += 1
                    sent, owed, tick = 0, 0.0, time.monotonic()
                    while sent < wanted and not self.stop.is_set():
                        time.sleep(0.05)
                        now = time.monotonic()
                        owed += (now - tick) * self.rate
                        tick = now
                        count = min(int(owed), wanted - sent)
                        if count:
                            owed -= count
                            connection.sendall(lines(stream, sent, count))
                            self.counts.add(stream, count)
                            sent += count
                time.sleep(self.random.uniform(0.0, 1.0))
        except Exception as error:
            self.error = f"socket client {self.index}: {type(error).__name__}: {error}"


class Faults(threading.Thread):
    """One fault every `every` seconds; each is undone before the next."""

    def __init__(self, cluster, lock, every, stop, seed):
        super().__init__(daemon=True)
        self.cluster, self.lock, self.every, self.stop = cluster, lock, every, stop
        self.random, self.applied, self.error = random.Random(seed), [], None
        self.began = time.monotonic()

    def command(self, **command):
        with self.lock:
            return guarded(self.cluster, command)

    def run(self):
        try:
            while not self.stop.wait(self.every):
                at = time.monotonic() - self.began
                self.inject()
                # When it began, to line it up with the samples and the agent's log.
                self.applied[-1] = f"{at:.0f}s {self.applied[-1]}"
        except Exception as error:
            self.error = f"faults: {type(error).__name__}: {error}"

    def inject(self):
        kind = self.random.choice(["broker_down", "all_down", "leader", "leader", "errors", "rtt", "late"])
        if kind == "broker_down":
            broker, seconds = self.random.randint(1, 3), self.random.uniform(1, 5)
            self.command(cmd="broker_down", broker=broker)
            self.stop.wait(seconds)
            self.command(cmd="broker_up", broker=broker)
            self.applied.append(f"broker {broker} down {seconds:.1f}s")
        elif kind == "all_down":
            seconds = self.random.uniform(1, 4)
            self.command(cmd="broker_down", broker=-1)
            self.stop.wait(seconds)
            self.command(cmd="broker_up", broker=-1)
            self.applied.append(f"all brokers down {seconds:.1f}s")
        elif kind == "leader":
            topic = self.random.choice(sorted(TOPICS))
            partition, broker = self.random.randrange(TOPICS[topic]), self.random.randint(1, 3)
            self.command(cmd="set_leader", topic=topic, partition=partition, broker=broker)
            self.applied.append(f"leader {topic}/{partition} -> {broker}")
        elif kind == "errors":
            # NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND)
            errors = [self.random.choice([6, 7, 19, 20]) for _ in range(self.random.randint(1, 5))]
            self.command(cmd="push_request_errors", api_key=0, errors=errors)
            self.applied.append(f"Produce errors {errors}")
        elif kind == "late":
            # Appended at once, answered after request.timeout.ms (5 s): the agent sends again.
            milliseconds = self.random.randint(5500, 8000)
            for broker in (1, 2, 3):
                self.command(cmd="push_broker_request_errors", broker=broker, api_key=0,
                             errors=[[0, milliseconds]])
            self.applied.append(f"Produce answered after {milliseconds}ms")
        else:
            milliseconds, seconds = self.random.randint(50, 500), self.random.uniform(2, 6)
            self.command(cmd="set_rtt", broker=-1, rtt_ms=milliseconds)
            self.stop.wait(seconds)
            self.command(cmd="set_rtt", broker=-1, rtt_ms=0)
            self.applied.append(f"rtt {milliseconds}ms for {seconds:.1f}s")


def guarded(cluster, command):
    """A driver command; a driver that died (the mock runs in it) is named as such."""
    try:
        return cluster.command(**command)
    except OSError as error:
        raise BenchError(f"the mock cluster's driver is gone (exit status {cluster.process.poll()}, "
                         f"{type(error).__name__}); see its cluster.log")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def acknowledged(metrics_path):
    """The sum of tributary_source_records_acknowledged_total, or None when /metrics is not up."""
    try:
        connection = UnixHTTPConnection(metrics_path)
        connection.request("GET", "/metrics")
        body = connection.getresponse().read().decode()
        connection.close()
    except OSError:
        return None
    total = 0
    for line in body.splitlines():
        if line.startswith("tributary_source_records_acknowledged_total"):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def stored(cluster, lock):
    """The topics' high watermarks, or None while a fault keeps the driver from reading them."""
    try:
        with lock:
            return {t: sum(m["high"] for m in guarded(cluster, {"cmd": "watermarks", "topic": t})["partitions"])
                    for t in TOPICS}
    except BenchError:
        if cluster.process.poll() is not None:
            raise
        return None


def consume_all(bootstrap, topic, partitions):
    """Every value stored in the topic, read with librdkafka from offset 0 to the high watermark."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak-verify", "enable.auto.commit": False,
                         "enable.partition.eof": True, "log_level": 3})
    values = []
    try:
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
                 for p in range(partitions)}
        trimmed = {p: low for p, (low, _) in marks.items() if low > 0}
        if trimmed:
            # The mock keeps at most 100,000 records (5 MiB) per partition and drops the oldest.
            raise BenchError(f"consume {topic}: the mock dropped the start of partitions {trimmed}; "
                             f"lower the rates or the minutes")
        highs = {p: high for p, (_, high) in marks.items()}
        pending = {p for p, high in highs.items() if high > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in pending])
        deadline = time.monotonic() + 300
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error() is not None:
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        raise BenchError(f"consume {topic}: {message.error()}")
                    if message.offset() >= highs[message.partition()]:
                        pending.discard(message.partition())
                    continue
                if message.offset() < highs[message.partition()]:
                    values.append((message.partition(), message.offset(), message.value().decode()))
                if message.offset() >= highs[message.partition()] - 1:
                    pending.discard(message.partition())
        if pending:
            raise BenchError(f"consume {topic}: partitions {sorted(pending)} not read to their end")
    finally:
        consumer.close()
    return values


def broker_view(values, batches):
    """What a real broker would hold. The mock checks producer sequence numbers only for
    transactional producers, so a batch the idempotent agent sent again after a lost answer is
    appended twice, and a batch sent while an earlier one of its partition was failing is
    appended ahead of it. A broker drops a batch whose producer id, epoch and base sequence it
    has, and refuses one beyond the next sequence (OUT_OF_ORDER_SEQUENCE_NUMBER) until the gap
    is filled, so the producer sends it again after. Returns the values in the order a broker
    would have appended them, the batches dropped as retries, the batches moved behind an
    earlier sequence, and the sequence errors (a gap never filled, or a retry with another
    record count: what a broker would have refused)."""
    seen, following, held, appended, errors, dropped_ranges = {}, {}, {}, [], [], []
    dropped = reordered = 0

    def accept(batch):
        seen[(batch["producer_id"], batch["producer_epoch"], batch["base_sequence"])] = batch["record_count"]
        following[batch["producer_id"]] = (batch["producer_epoch"], batch["base_sequence"] + batch["record_count"])
        appended.append((batch["base_offset"], batch["base_offset"] + batch["last_offset_delta"]))

    for batch in sorted(batches, key=lambda b: b["base_offset"]):
        producer = batch["producer_id"]
        if producer < 0:
            appended.append((batch["base_offset"], batch["base_offset"] + batch["last_offset_delta"]))
            continue
        key = (producer, batch["producer_epoch"], batch["base_sequence"])
        first = batch["base_offset"]
        if key in seen or key in held.get(producer, {}):
            count = seen.get(key) or held[producer][key]["record_count"]
            if count != batch["record_count"]:
                errors.append(f"offset {first}: sequence {key[2]} again with another record count")
            dropped_ranges.append((first, first + batch["last_offset_delta"]))
            dropped += 1
            continue
        epoch, expected = following.get(producer, (batch["producer_epoch"], 0))
        if epoch != batch["producer_epoch"]:
            expected = 0
        if batch["base_sequence"] > expected:
            held.setdefault(producer, {})[key] = batch
            continue
        if batch["base_sequence"] != expected:
            errors.append(f"offset {first}: sequence {batch['base_sequence']}, expected {expected}")
        accept(batch)
        while True:
            epoch, expected = following[producer]
            waiting = held.get(producer, {}).pop((producer, epoch, expected), None)
            if waiting is None:
                break
            reordered += 1
            accept(waiting)
    for producer, waiting in held.items():
        for (_, epoch, sequence), batch in sorted(waiting.items()):
            errors.append(f"offset {batch['base_offset']}: sequence {sequence} never became next: a gap")
    by_offset = {v[1]: v for v in values}
    kept, taken = [], set()
    for first, last in appended:
        for offset in range(first, last + 1):
            if offset in by_offset and offset not in taken:
                kept.append(by_offset[offset])
                taken.add(offset)
    # Values of no accepted or dropped batch (a gap never filled) keep offset order at the end.
    kept += [
        v
        for v in sorted(values, key=lambda v: v[1])
        if v[1] not in taken and not any(a <= v[1] <= b for a, b in dropped_ranges)
    ]
    return kept, dropped, reordered, errors


def account(expected, values):
    """Lost, duplicated, unknown and out-of-order lines (per partition and stream)."""
    seen, last = {}, {}
    unknown, disorder = 0, 0
    for partition, _, value in values:
        words = value.split(" ")
        if len(words) < 3 or not words[2].isdigit():
            unknown += 1
            continue
        stream, sequence = f"{words[0]} {words[1]}", int(words[2])
        if sequence >= expected.get(stream, 0):
            unknown += 1
            continue
        seen.setdefault(stream, {})
        seen[stream][sequence] = seen[stream].get(sequence, 0) + 1
        key = (partition, stream)
        if key in last and last[key] >= sequence:
            disorder += 1
        last[key] = sequence
    lost = sum(count - len(seen.get(stream, {})) for stream, count in expected.items())
    duplicated = sum(n - 1 for s in seen.values() for n in s.values() if n > 1)
    return {"lost": lost, "duplicated": duplicated, "unknown": unknown, "out_of_order": disorder}


def thirds_growth(samples, key, warmup):
    after = [s[key] for s in samples if s["t"] >= warmup]
    if len(after) < 3:
        return None, None, None
    third = len(after) // 3
    first, last = statistics.median(after[:third]), statistics.median(after[-third:])
    return first, last, last - first


def main(argv):
    parser = argparse.ArgumentParser(description="a bounded soak of tributary run under broker faults")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10")),
                        help="how long to write (default: $SOAK_MINUTES or 10)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples (default 10)")
    parser.add_argument("--file-rate", type=int, default=400, help="file lines per second (default 400)")
    parser.add_argument("--clients", type=int, default=2, help="socket clients at once (default 2)")
    parser.add_argument("--client-rate", type=int, default=100, help="lines per second per client (default 100)")
    parser.add_argument("--rotate-seconds", type=float, default=45, help="seconds between rotations (default 45)")
    parser.add_argument("--fault-seconds", type=float, default=20, help="seconds between faults (default 20)")
    parser.add_argument("--warmup-seconds", type=float, default=60, help="samples ignored for flatness (default 60)")
    parser.add_argument("--max-rss-growth-mib", type=float, default=16, help="allowed RSS growth (default 16)")
    parser.add_argument("--max-fd-growth", type=int, default=16, help="allowed descriptor growth (default 16)")
    parser.add_argument("--seed", type=int, default=20261204, help="fault and client schedule seed")
    parser.add_argument("--tributary", default=os.path.join(ROOT, ".build", "release", "tributary"))
    parser.add_argument("--skip-build", action="store_true", help="use --tributary as it is")
    parser.add_argument("--json", metavar="PATH", help="also write the summary and samples here")
    parser.add_argument("--agent-log-level", default="info", help="the agent's --log-level (default info)")
    args = parser.parse_args(argv)

    if not args.skip_build:
        log("building the release binary")
        subprocess.run(["swift", "build", "-c", "release", "--product", "tributary", "-j", "1"], cwd=ROOT, check=True)
    # Short: a UNIX socket path has at most 107 bytes.
    work = tempfile.mkdtemp(prefix="trib-soak-", dir="/tmp")
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    cluster = Cluster(sys.executable, 3, os.path.join(work, "cluster.log"))
    lock = threading.Lock()
    agent = None
    try:
        for topic, partitions in TOPICS.items():
            cluster.command(cmd="create_topic", topic=topic, partitions=partitions, replication_factor=3)
        config = os.path.join(work, "pipeline.yaml")
        with open(config, "w") as f:
            f.write(PIPELINE.format(bootstrap=cluster.bootstrap, work=work))
        agent_stderr = open(os.path.join(work, "agent.log"), "wb")
        agent = subprocess.Popen([args.tributary, "run", "--config", config, "--log-level", args.agent_log_level], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=agent_stderr)
        metrics_path = os.path.join(work, "metrics.sock")
        socket_path = os.path.join(work, "in.sock")
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path) or acknowledged(metrics_path) is None:
            if time.monotonic() > deadline or agent.poll() is not None:
                raise BenchError(f"the agent did not start; see {work}/agent.log")
            time.sleep(0.1)

        counts, stop_writers, stop_faults = Counts(), threading.Event(), threading.Event()
        file_writer = FileWriter(logs, args.file_rate, args.rotate_seconds, 3, counts, stop_writers)
        clients = [SocketClient(i, socket_path, args.client_rate, counts, stop_writers, args.seed + i)
                   for i in range(args.clients)]
        faults = Faults(cluster, lock, args.fault_seconds, stop_faults, args.seed)
        start = time.monotonic()
        cpu_before = process_sample(agent.pid)[0]
        for thread in [file_writer, *clients, faults]:
            thread.start()

        samples = []
        header = f"{'t (s)':>7} {'written':>10} {'acked':>10} {'stored':>10} {'lag':>7} {'rec/s':>7} " \
                 f"{'RSS MiB':>8} {'fds':>5} {'CPU %':>6}"
        print(header, flush=True)
        end = start + args.minutes * 60
        previous_t, previous_cpu, previous_acked = 0.0, cpu_before, 0
        while True:
            now = time.monotonic()
            if now >= end or agent.poll() is not None:
                break
            time.sleep(min(args.interval, end - now))
            t = time.monotonic() - start
            if t - previous_t < 1:
                continue  # the end fell just after a sample: nothing to add
            # Stored first: a watermark read can wait out a broker that is down, and lines
            # written meanwhile must not make stored look short.
            held = stored(cluster, lock)
            cpu, rss, fds = process_sample(agent.pid)
            acked = acknowledged(metrics_path)
            sample = {"t": round(t, 1), "written": counts.total(), "acknowledged": acked,
                      "stored": sum(held.values()) if held else None, "rss_mib": round(rss, 1), "fds": fds,
                      "cpu_percent": round(100 * (cpu - previous_cpu) / max(t - previous_t, 1e-6), 1),
                      "records_per_second": round(((acked or 0) - previous_acked) / max(t - previous_t, 1e-6))}
            samples.append(sample)
            print(f"{sample['t']:>7.0f} {sample['written']:>10,} {acked if acked is not None else -1:>10,} "
                  f"{sample['stored'] if held else -1:>10,} {sample['written'] - (acked or 0):>7,} {sample['records_per_second']:>7,} "
                  f"{rss:>8.1f} {fds:>5} {sample['cpu_percent']:>6.1f}", flush=True)
            previous_t, previous_cpu, previous_acked = t, cpu, acked or previous_acked

        stop_faults.set()
        stop_writers.set()
        for thread in [faults, file_writer, *clients]:
            thread.join(timeout=30)
        with lock:
            for command in ({"cmd": "clear_request_errors", "api_key": 0}, {"cmd": "set_rtt", "broker": -1, "rtt_ms": 0},
                            {"cmd": "broker_up", "broker": -1}):
                guarded(cluster, command)
        written = counts.snapshot()
        expected = {"soak-files": counts.total("f "), "soak-socket": counts.total("s ")}
        drain_start = time.monotonic()
        while time.monotonic() - drain_start < 120:
            held = stored(cluster, lock)
            if held and all(held[t] >= expected[t] for t in TOPICS):
                break
            time.sleep(0.5)
        drain_seconds = time.monotonic() - drain_start
        final_acked = acknowledged(metrics_path)
        cpu_total = process_sample(agent.pid)[0] - cpu_before
        agent.send_signal(signal.SIGTERM)
        try:
            exit_code = agent.wait(timeout=90)
        except subprocess.TimeoutExpired:
            agent.kill()
            exit_code = "killed after 90 s"
        agent_stderr.close()

        values, stored_count, resent, reordered, sequence_errors = [], 0, 0, 0, []
        for topic, partitions in TOPICS.items():
            consumed = consume_all(cluster.bootstrap, topic, partitions)
            stored_count += len(consumed)
            for partition in range(partitions):
                with lock:
                    batches = guarded(cluster, {"cmd": "batches", "topic": topic, "partition": partition})["batches"]
                # Partitions are numbered per topic; streams are unique across topics.
                kept, dropped, moved, errors = broker_view([v for v in consumed if v[0] == partition], batches)
                values += [(f"{topic}/{p}", o, v) for p, o, v in kept]
                resent += dropped
                reordered += moved
                sequence_errors += [f"{topic}/{partition} {e}" for e in errors]
        accounting = account(written, values)
        elapsed = samples[-1]["t"] if samples else 0
        rss = thirds_growth(samples, "rss_mib", args.warmup_seconds)
        fds = thirds_growth(samples, "fds", args.warmup_seconds)
        problems = []
        if accounting["lost"]:
            problems.append(f"{accounting['lost']} lines lost")
        if accounting["duplicated"]:
            problems.append(f"{accounting['duplicated']} lines stored twice")
        if accounting["unknown"] or accounting["out_of_order"]:
            problems.append(f"{accounting['unknown']} unknown, {accounting['out_of_order']} out of order")
        if sequence_errors:
            problems.append(f"sequence errors a broker would refuse: {sequence_errors[:3]}")
        if exit_code != 0:
            problems.append(f"the agent's SIGTERM exit was {exit_code}")
        if rss[2] is not None and rss[2] > args.max_rss_growth_mib:
            problems.append(f"RSS grew {rss[2]:.1f} MiB")
        if fds[2] is not None and fds[2] > args.max_fd_growth:
            problems.append(f"descriptors grew by {fds[2]}")
        for thread in [file_writer, *clients, faults]:
            if thread.error:
                problems.append(thread.error)
        if len(samples) < 6:
            problems.append("too few samples to judge growth (run longer)")
        summary = {
            "minutes": args.minutes,
            "records_written": sum(written.values()),
            "records_written_file": expected["soak-files"],
            "records_written_socket": expected["soak-socket"],
            "records_stored_by_the_mock": stored_count,
            "records_kept_by_a_broker": len(values),
            "batches_resent_after_lost_answers": resent,
            "batches_reordered": reordered,
            "records_acknowledged_metric": final_acked,
            **accounting,
            "records_per_second": round(sum(written.values()) / elapsed) if elapsed else None,
            "drain_seconds": round(drain_seconds, 1),
            "agent_cpu_seconds": round(cpu_total, 1),
            "agent_cpu_percent": round(100 * cpu_total / (elapsed + drain_seconds), 1) if elapsed else None,
            "rss_mib": {"first_sample": samples[0]["rss_mib"] if samples else None,
                        "last_sample": samples[-1]["rss_mib"] if samples else None,
                        "median_first_third": rss[0], "median_last_third": rss[1],
                        "growth": round(rss[2], 1) if rss[2] is not None else None},
            "fds": {"first_sample": samples[0]["fds"] if samples else None,
                    "last_sample": samples[-1]["fds"] if samples else None,
                    "median_first_third": fds[0], "median_last_third": fds[1], "growth": fds[2]},
            "rotations": file_writer.rotations,
            "socket_connections": sum(c.connections for c in clients),
            "faults": faults.applied,
            "agent_exit": exit_code,
            "problems": problems,
            "passed": not problems,
        }
        print(json.dumps(summary, indent=2), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"summary": summary, "samples": samples}, f, indent=2)
        if problems:
            log(f"FAILED: {'; '.join(problems)} (agent log kept in {work})")
            return 1
        shutil.rmtree(work, ignore_errors=True)
        return 0
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        cluster.close()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        log(str(error))
        sys.exit(1)
