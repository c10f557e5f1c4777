#!/usr/bin/env python3
"""Drives librdkafka's mock Kafka cluster for Tributary's tests.

The mock cluster lives inside librdkafka (the copy bundled with confluent-kafka 2.16.1,
librdkafka 2.16.0). This driver loads that library with ctypes, starts a cluster of N
brokers on 127.0.0.1 and then either

* ``serve``: speaks a line-oriented JSON protocol on stdin/stdout (used by the Swift
  ``KafkaTestCluster`` wrapper): one ready line, then one reply line per command line; or
* ``run``: prints the bootstrap list for humans and benchmarks and waits for SIGINT/SIGTERM;

or, with no mock at all, ``consume --bootstrap … --topic … --expect N``: reads a topic on any
broker (Tansu's tests) and prints one JSON object.

It also carries the independent verifiers the tests compare against: a confluent_kafka
Consumer (``consume``, ``watermarks``, ``leaders``) and a raw Fetch decoded with
kafka-python's record reader (``batches``).

Everything except the protocol lines goes to stderr.
"""

import argparse
import base64
import ctypes
import glob
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import uuid

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition, KafkaError

RD_KAFKA_PRODUCER = 0
RD_KAFKA_CONF_OK = 0


def log(message):
    print(f"kafka_test_cluster: {message}", file=sys.stderr, flush=True)


class DriverError(Exception):
    """A command failed; the message is sent back to the client verbatim."""


# --------------------------------------------------------------------------------------
# librdkafka through ctypes


def find_librdkafka():
    package_dir = os.path.dirname(os.path.abspath(confluent_kafka.__file__))
    libs_dir = os.path.join(os.path.dirname(package_dir), "confluent_kafka.libs")
    candidates = sorted(glob.glob(os.path.join(libs_dir, "librdkafka-*.so.1")))
    if not candidates:
        raise DriverError(f"no librdkafka-*.so.1 next to confluent_kafka in {libs_dir}")
    return candidates[0]


def load_librdkafka():
    lib = ctypes.CDLL(find_librdkafka())
    c_void_p, c_char_p, c_int, c_size_t = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
    i16, i32, i64 = ctypes.c_int16, ctypes.c_int32, ctypes.c_int64

    def declare(name, restype, argtypes):
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
        return function

    declare("rd_kafka_version_str", c_char_p, [])
    declare("rd_kafka_conf_new", c_void_p, [])
    declare("rd_kafka_conf_set", c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t])
    declare("rd_kafka_conf_destroy", None, [c_void_p])
    declare("rd_kafka_new", c_void_p, [c_int, c_void_p, c_char_p, c_size_t])
    declare("rd_kafka_destroy", None, [c_void_p])
    declare("rd_kafka_err2str", c_char_p, [c_int])

    declare("rd_kafka_mock_cluster_new", c_void_p, [c_void_p, c_int])
    declare("rd_kafka_mock_cluster_destroy", None, [c_void_p])
    declare("rd_kafka_mock_cluster_bootstraps", c_char_p, [c_void_p])
    declare("rd_kafka_mock_topic_create", c_int, [c_void_p, c_char_p, c_int, c_int])
    declare("rd_kafka_mock_broker_set_down", c_int, [c_void_p, i32])
    declare("rd_kafka_mock_broker_set_up", c_int, [c_void_p, i32])
    declare("rd_kafka_mock_broker_set_rtt", c_int, [c_void_p, i32, c_int])
    declare("rd_kafka_mock_broker_set_host_port", c_int, [c_void_p, i32, c_char_p, c_int])
    declare("rd_kafka_mock_push_request_errors_array", None,
            [c_void_p, i16, c_size_t, ctypes.POINTER(c_int)])
    # Variadic: only the fixed part is declared; the (err, rtt_ms) pairs follow as ints.
    declare("rd_kafka_mock_broker_push_request_error_rtts", c_int, [c_void_p, i32, i16, c_size_t])
    declare("rd_kafka_mock_broker_error_stack_cnt", c_int,
            [c_void_p, i32, i16, ctypes.POINTER(c_size_t)])
    declare("rd_kafka_mock_clear_request_errors", None, [c_void_p, i16])
    declare("rd_kafka_mock_partition_set_leader", c_int, [c_void_p, c_char_p, i32, i32])
    declare("rd_kafka_mock_set_apiversion", c_int, [c_void_p, i16, i16, i16])
    declare("rd_kafka_mock_start_request_tracking", None, [c_void_p])
    declare("rd_kafka_mock_stop_request_tracking", None, [c_void_p])
    declare("rd_kafka_mock_get_requests", ctypes.POINTER(c_void_p), [c_void_p, ctypes.POINTER(c_size_t)])
    declare("rd_kafka_mock_request_id", i32, [c_void_p])
    declare("rd_kafka_mock_request_api_key", i16, [c_void_p])
    declare("rd_kafka_mock_request_timestamp", i64, [c_void_p])
    declare("rd_kafka_mock_request_destroy_array", None, [ctypes.POINTER(c_void_p), c_size_t])
    declare("rd_kafka_mock_clear_requests", None, [c_void_p])
    return lib


class MockCluster:
    """One rd_kafka_t handle and the mock cluster started on it."""

    def __init__(self, broker_count):
        if broker_count < 1:
            raise DriverError(f"--brokers must be at least 1, got {broker_count}")
        self.lib = load_librdkafka()
        self.broker_count = broker_count
        conf = self.lib.rd_kafka_conf_new()
        errstr = ctypes.create_string_buffer(512)
        # The handle only hosts the cluster: quiet logs (they go to stderr anyway).
        for key, value in (("log_level", "4"), ("client.id", "tributary-mock-host")):
            if self.lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), errstr, 512) != RD_KAFKA_CONF_OK:
                raise DriverError(f"rd_kafka_conf_set {key}: {errstr.value.decode()}")
        self.rk = self.lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, 512)
        if not self.rk:
            self.lib.rd_kafka_conf_destroy(conf)
            raise DriverError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self.mc = self.lib.rd_kafka_mock_cluster_new(self.rk, broker_count)
        if not self.mc:
            self.lib.rd_kafka_destroy(self.rk)
            raise DriverError("rd_kafka_mock_cluster_new returned NULL")
        self.bootstrap = self.lib.rd_kafka_mock_cluster_bootstraps(self.mc).decode()
        version = self.lib.rd_kafka_version_str().decode()
        log(f"librdkafka {version} mock cluster with {broker_count} broker(s) at {self.bootstrap}")

    def brokers(self):
        # Broker ids run from 1 to N in the order of the bootstrap list.
        result = []
        for index, address in enumerate(self.bootstrap.split(",")):
            host, _, port = address.rpartition(":")
            result.append({"id": index + 1, "host": host, "port": int(port)})
        return result

    def check(self, err, what):
        if err != 0:
            text = self.lib.rd_kafka_err2str(err).decode()
            raise DriverError(f"{what}: librdkafka error {err} ({text})")

    def destroy(self):
        if self.mc:
            self.lib.rd_kafka_mock_cluster_destroy(self.mc)
            self.mc = None
        if self.rk:
            self.lib.rd_kafka_destroy(self.rk)
            self.rk = None


# --------------------------------------------------------------------------------------
# The verifying clients (confluent_kafka and kafka-python)


def b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text, what):
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except Exception as error:
        raise DriverError(f"{what} is not valid base64: {error}")


TIMESTAMP_TYPES = {
    confluent_kafka.TIMESTAMP_NOT_AVAILABLE: "none",
    confluent_kafka.TIMESTAMP_CREATE_TIME: "create",
    confluent_kafka.TIMESTAMP_LOG_APPEND_TIME: "log_append",
}


def record_of(message):
    """A consumed message as the JSON the Swift side decodes (bytes in base64)."""
    ts_type, ts = message.timestamp()
    return {
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": ts,
        "timestamp_type": TIMESTAMP_TYPES.get(ts_type, "none"),
        "key": b64(message.key()),
        "value": b64(message.value()),
        "headers": [[name, b64(value)] for name, value in (message.headers() or [])],
    }


class Verifier:
    """The clients that observe the cluster independently of the code under test."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self._metadata_consumer = None

    def consumer_config(self, **extra):
        config = {
            "bootstrap.servers": self.bootstrap,
            "group.id": f"tributary-verifier-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "check.crcs": True,
            "auto.offset.reset": "earliest",
            "log_level": 3,
            "topic.metadata.refresh.interval.ms": 1000,
        }
        config.update(extra)
        return config

    def metadata_consumer(self):
        if self._metadata_consumer is None:
            self._metadata_consumer = Consumer(self.consumer_config())
        return self._metadata_consumer

    def topic_metadata(self, topic, what):
        metadata = self.metadata_consumer().list_topics(topic=topic, timeout=10)
        entry = metadata.topics.get(topic)
        if entry is None:
            raise DriverError(f"{what}: topic '{topic}' not in metadata")
        if entry.error is not None:
            raise DriverError(f"{what}: topic '{topic}': {entry.error.str()}")
        return metadata, entry

    def leaders(self, topic):
        _, entry = self.topic_metadata(topic, "leaders")
        return [
            {"partition": p.id, "leader": p.leader, "replicas": list(p.replicas), "isrs": list(p.isrs)}
            for p in sorted(entry.partitions.values(), key=lambda p: p.id)
        ]

    def watermarks(self, topic, partitions=None, what="watermarks"):
        _, entry = self.topic_metadata(topic, what)
        ids = sorted(entry.partitions.keys()) if partitions is None else partitions
        missing = [p for p in ids if p not in entry.partitions]
        if missing:
            raise DriverError(f"{what}: topic '{topic}' has no partition(s) {missing}")
        result = []
        for partition in ids:
            try:
                low, high = self.metadata_consumer().get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10, cached=False)
            except Exception as error:
                raise DriverError(f"{what}: watermarks of {topic}[{partition}]: {error}")
            result.append({"partition": partition, "low": low, "high": high})
        return result

    def consume(self, topic, partitions, timeout_ms, isolation_level):
        marks = self.watermarks(topic, partitions, what="consume")
        pending = {m["partition"]: m["high"] for m in marks if m["high"] > m["low"]}
        if not pending:
            return []
        consumer = Consumer(self.consumer_config(**{
            "enable.partition.eof": True,
            "isolation.level": isolation_level,
        }))
        records = []
        try:
            consumer.assign([TopicPartition(topic, m["partition"], m["low"]) for m in marks
                             if m["partition"] in pending])
            deadline = time.monotonic() + timeout_ms / 1000.0
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status = ", ".join(f"{topic}[{p}] up to offset {h}" for p, h in sorted(pending.items()))
                    raise DriverError(f"consume: timed out after {timeout_ms} ms waiting for {status} "
                                      f"({len(records)} record(s) read)")
                for message in consumer.consume(num_messages=500, timeout=min(remaining, 0.5)):
                    partition = message.partition()
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            if partition in pending and message.offset() >= pending[partition]:
                                del pending[partition]
                            continue
                        raise DriverError(f"consume: {topic}[{partition}] at offset {message.offset()}: "
                                          f"{error.name()}: {error.str()}")
                    high = pending.get(partition)
                    if high is None or message.offset() >= high:
                        continue
                    records.append(record_of(message))
                    if message.offset() >= high - 1:
                        del pending[partition]
        finally:
            consumer.close()
        records.sort(key=lambda r: (r["partition"], r["offset"]))
        return records

    def batches(self, topic, partition):
        metadata, entry = self.topic_metadata(topic, "batches")
        if partition not in entry.partitions:
            raise DriverError(f"batches: topic '{topic}' has no partition {partition}")
        leader = entry.partitions[partition].leader
        if leader < 0 or leader not in metadata.brokers:
            raise DriverError(f"batches: {topic}[{partition}] has no reachable leader (leader {leader})")
        broker = metadata.brokers[leader]
        low, high = self.metadata_consumer().get_watermark_offsets(
            TopicPartition(topic, partition), timeout=10, cached=False)
        return fetch_batches(broker.host, broker.port, topic, partition, low, high)

    def produce(self, topic, records, config):
        producer_config = {"bootstrap.servers": self.bootstrap, "log_level": 3, "linger.ms": 5}
        producer_config.update(config or {})
        producer = Producer(producer_config)
        reports = [None] * len(records)

        def on_delivery(index):
            def callback(error, message):
                reports[index] = (error, message)
            return callback

        for index, record in enumerate(records):
            kwargs = {
                "key": unb64(record.get("key"), f"produce: records[{index}].key"),
                "value": unb64(record.get("value"), f"produce: records[{index}].value"),
                "on_delivery": on_delivery(index),
            }
            if record.get("partition") is not None:
                kwargs["partition"] = int(record["partition"])
            if record.get("headers"):
                kwargs["headers"] = [(name, unb64(value, f"produce: records[{index}] header {name}"))
                                     for name, value in record["headers"]]
            producer.produce(topic, **kwargs)
            producer.poll(0)
        left = producer.flush(30)
        if left:
            raise DriverError(f"produce: {left} record(s) still undelivered after 30 s")
        deliveries, failures = [], []
        for index, (error, message) in enumerate(reports):
            if error is not None:
                failures.append(f"records[{index}]: {error.name()}: {error.str()}")
            else:
                deliveries.append({"partition": message.partition(), "offset": message.offset()})
        if failures:
            raise DriverError("produce: delivery failed for " + "; ".join(failures))
        return deliveries

    def close(self):
        if self._metadata_consumer is not None:
            self._metadata_consumer.close()
            self._metadata_consumer = None


def fetch_batches(host, port, topic, partition, low, high):
    """The batches of one partition from ``low``, by raw Fetch v4 decoded with kafka-python.

    ``high=None`` reads until a Fetch returns no records at the high watermark that Fetch
    itself reports (Tansu, whose ListOffsets cannot give the end).
    """
    # kafka-python is only needed here; import it lazily.
    from kafka.protocol.old.fetch import FetchRequest_v4, FetchResponse_v4
    from kafka.record.memory_records import MemoryRecords

    result = []
    offset = low
    correlation_id = 0
    with socket.create_connection((host, port), timeout=10) as connection:
        while high is None or offset < high:
            correlation_id += 1
            request = FetchRequest_v4(
                replica_id=-1, max_wait_ms=100, min_bytes=1, max_bytes=64 * 1024 * 1024,
                isolation_level=0,
                topics=[(topic, [(partition, offset, 64 * 1024 * 1024)])])
            request.with_header(correlation_id=correlation_id, client_id="tributary-batch-reader")
            connection.sendall(request.encode(header=True, framed=True))
            (size,) = struct.unpack(">i", recv_exactly(connection, 4))
            payload = recv_exactly(connection, size)
            (reply_id,) = struct.unpack_from(">i", payload, 0)
            if reply_id != correlation_id:
                raise DriverError(f"batches: Fetch correlation id {reply_id}, expected {correlation_id}")
            response = FetchResponse_v4.decode(io.BytesIO(payload[4:]))
            records_bytes = None
            fetch_high = None
            for topic_entry in response.responses:
                for part in topic_entry[1]:
                    if part[0] != partition:
                        continue
                    if part[1] != 0:
                        raise DriverError(f"batches: Fetch {topic}[{partition}] at offset {offset}: "
                                          f"error code {part[1]}")
                    fetch_high = part[2]
                    records_bytes = part[5]
            if high is None and not records_bytes and fetch_high is not None and offset >= fetch_high:
                break
            if not records_bytes:
                raise DriverError(f"batches: Fetch {topic}[{partition}] at offset {offset} returned no "
                                  f"records (high watermark {high})")
            progress = offset
            memory = MemoryRecords(bytes(records_bytes))
            while memory.has_next():
                batch = memory.next_batch()
                if batch.magic < 2:
                    raise DriverError(f"batches: {topic}[{partition}]: stored batch with magic {batch.magic}")
                if batch.next_offset <= offset:
                    continue  # the broker may start the response before the requested offset
                result.append({
                    "base_offset": batch.base_offset,
                    "last_offset_delta": batch.last_offset_delta,
                    "partition_leader_epoch": batch.leader_epoch,
                    "magic": batch.magic,
                    "producer_id": batch.producer_id,
                    "producer_epoch": batch.producer_epoch,
                    "base_sequence": batch.base_sequence,
                    "record_count": batch.records_count,
                    "compression": batch.compression_type,
                    "timestamp_type": batch.timestamp_type,
                    "first_timestamp": batch.first_timestamp,
                    "max_timestamp": batch.max_timestamp,
                    "crc_valid": bool(batch.validate_crc()),
                    "is_transactional": bool(batch.is_transactional),
                    "is_control": bool(batch.is_control_batch),
                    "size_in_bytes": batch.size_in_bytes,
                })
                progress = max(progress, batch.next_offset)
            if progress <= offset:
                raise DriverError(f"batches: Fetch {topic}[{partition}] at offset {offset} made no "
                                  f"progress (high watermark {high})")
            offset = progress
    return result


def recv_exactly(connection, count, what="batches"):
    chunks, received = [], 0
    while received < count:
        chunk = connection.recv(count - received)
        if not chunk:
            raise DriverError(f"{what}: connection closed after {received} of {count} bytes")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------------------
# Commands


def field(command, name, kind=int, default=...):
    if name not in command or command[name] is None:
        if default is ...:
            raise DriverError(f"{command.get('cmd')}: missing field '{name}'")
        return default
    value = command[name]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise DriverError(f"{command.get('cmd')}: field '{name}' must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise DriverError(f"{command.get('cmd')}: field '{name}' must be a string, got {value!r}")
    if kind is list and not isinstance(value, list):
        raise DriverError(f"{command.get('cmd')}: field '{name}' must be an array, got {value!r}")
    return value


class Server:
    def __init__(self, cluster):
        self.cluster = cluster
        self.lib = cluster.lib
        self.mc = cluster.mc
        self.verifier = Verifier(cluster.bootstrap)
        self._implemented = None

    def create_topic(self, c):
        topic = field(c, "topic", str)
        self.cluster.check(self.lib.rd_kafka_mock_topic_create(
            self.mc, topic.encode(), field(c, "partitions"), field(c, "replication_factor", int, 1)),
            f"create_topic '{topic}'")
        return {}

    def broker_down(self, c):
        broker = field(c, "broker")
        self.cluster.check(self.lib.rd_kafka_mock_broker_set_down(self.mc, broker), f"broker_down {broker}")
        return {}

    def broker_up(self, c):
        broker = field(c, "broker")
        self.cluster.check(self.lib.rd_kafka_mock_broker_set_up(self.mc, broker), f"broker_up {broker}")
        return {}

    def push_request_errors(self, c):
        errors = [int(e) for e in field(c, "errors", list)]
        array = (ctypes.c_int * max(len(errors), 1))(*errors)
        self.lib.rd_kafka_mock_push_request_errors_array(self.mc, field(c, "api_key"), len(errors), array)
        return {}

    def push_broker_request_errors(self, c):
        broker, api_key = field(c, "broker"), field(c, "api_key")
        pairs = field(c, "errors", list)
        for index, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise DriverError(f"push_broker_request_errors: errors[{index}] must be [error, rtt_ms]")
            # One variadic call per pair keeps the ctypes call shape fixed: (mc, id, key, 1, err, rtt).
            self.cluster.check(self.lib.rd_kafka_mock_broker_push_request_error_rtts(
                self.mc, broker, api_key, 1, ctypes.c_int(int(pair[0])), ctypes.c_int(int(pair[1]))),
                f"push_broker_request_errors broker {broker}")
        count = ctypes.c_size_t(0)
        self.cluster.check(self.lib.rd_kafka_mock_broker_error_stack_cnt(
            self.mc, broker, api_key, ctypes.byref(count)), f"push_broker_request_errors broker {broker}")
        return {"pending": count.value}

    def clear_request_errors(self, c):
        self.lib.rd_kafka_mock_clear_request_errors(self.mc, field(c, "api_key"))
        return {}

    def set_rtt(self, c):
        broker = field(c, "broker")
        self.cluster.check(self.lib.rd_kafka_mock_broker_set_rtt(self.mc, broker, field(c, "rtt_ms")),
                           f"set_rtt broker {broker}")
        return {}

    def set_advertised_address(self, c):
        """Moves the host:port a broker advertises in Metadata (not where it listens), so that
        clients reach it through a front (TLS, SASL); the verifiers need it moved back."""
        broker, host, port = field(c, "broker"), field(c, "host", str), field(c, "port")
        self.cluster.check(self.lib.rd_kafka_mock_broker_set_host_port(self.mc, broker, host.encode(), port),
                           f"set_advertised_address broker {broker}")
        return {}

    def set_leader(self, c):
        topic, partition, broker = field(c, "topic", str), field(c, "partition"), field(c, "broker")
        self.cluster.check(self.lib.rd_kafka_mock_partition_set_leader(
            self.mc, topic.encode(), partition, broker), f"set_leader {topic}[{partition}] -> {broker}")
        return {}

    def set_api_version(self, c):
        api_key, low, high = field(c, "api_key"), field(c, "min"), field(c, "max")
        implemented = self.implemented_versions().get(api_key)
        if implemented is None:
            raise DriverError(f"set_api_version: the mock has no handler for api_key {api_key}")
        if (low, high) != (-1, -1) and not (0 <= low <= high <= implemented[1]):
            raise DriverError(f"set_api_version {api_key}: range {low}..{high} is outside what the mock "
                              f"implements ({implemented[0]}..{implemented[1]}); use -1/-1 to disable the API")
        self.cluster.check(self.lib.rd_kafka_mock_set_apiversion(
            self.mc, api_key, low, high), f"set_api_version {api_key}")
        return {}

    def implemented_versions(self):
        """ApiKey -> (min, max) the mock implements, read once by ApiVersions v0 before any change."""
        if self._implemented is None:
            broker = self.cluster.brokers()[0]
            with socket.create_connection((broker["host"], broker["port"]), timeout=10) as connection:
                connection.sendall(bytes.fromhex("0000000f001200000000000100056167656e74"))
                (size,) = struct.unpack(">i", recv_exactly(connection, 4, "set_api_version"))
                body = recv_exactly(connection, size, "set_api_version")
            _, error, count = struct.unpack_from(">ihi", body, 0)
            if error != 0:
                raise DriverError(f"set_api_version: ApiVersions v0 answered error {error}")
            self._implemented = {}
            for index in range(count):
                key, low, high = struct.unpack_from(">hhh", body, 10 + 6 * index)
                self._implemented[key] = (low, high)
        return self._implemented

    def start_request_tracking(self, c):
        self.lib.rd_kafka_mock_start_request_tracking(self.mc)
        return {}

    def stop_request_tracking(self, c):
        self.lib.rd_kafka_mock_stop_request_tracking(self.mc)
        return {}

    def requests(self, c):
        count = ctypes.c_size_t(0)
        array = self.lib.rd_kafka_mock_get_requests(self.mc, ctypes.byref(count))
        result = []
        if array:
            try:
                for index in range(count.value):
                    request = array[index]
                    result.append({
                        "broker": self.lib.rd_kafka_mock_request_id(request),
                        "api_key": self.lib.rd_kafka_mock_request_api_key(request),
                        # librdkafka 2.16 exports no accessor for the request's ApiVersion.
                        "api_version": None,
                        "timestamp_us": self.lib.rd_kafka_mock_request_timestamp(request),
                    })
            finally:
                self.lib.rd_kafka_mock_request_destroy_array(array, count.value)
        return {"requests": result}

    def clear_requests(self, c):
        self.lib.rd_kafka_mock_clear_requests(self.mc)
        return {}

    def watermarks(self, c):
        return {"partitions": self.verifier.watermarks(field(c, "topic", str))}

    def leaders(self, c):
        return {"partitions": self.verifier.leaders(field(c, "topic", str))}

    def consume(self, c):
        partitions = field(c, "partitions", list, None)
        if partitions is not None:
            partitions = [int(p) for p in partitions]
        isolation = field(c, "isolation_level", str, "read_uncommitted")
        return {"records": self.verifier.consume(
            field(c, "topic", str), partitions, field(c, "timeout_ms", int, 10000), isolation)}

    def batches(self, c):
        return {"batches": self.verifier.batches(field(c, "topic", str), field(c, "partition"))}

    def produce(self, c):
        config = c.get("config") or {}
        if not isinstance(config, dict):
            raise DriverError("produce: field 'config' must be an object")
        return {"deliveries": self.verifier.produce(field(c, "topic", str), field(c, "records", list), config)}

    COMMANDS = (
        "create_topic", "broker_down", "broker_up", "push_request_errors", "push_broker_request_errors",
        "clear_request_errors", "set_rtt", "set_advertised_address", "set_leader", "set_api_version", "start_request_tracking",
        "stop_request_tracking", "requests", "clear_requests", "watermarks", "leaders", "consume",
        "batches", "produce",
    )

    def handle(self, line):
        try:
            command = json.loads(line)
        except ValueError as error:
            return {"ok": False, "error": f"command line is not JSON ({error}): {line.strip()[:200]}"}
        if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
            return {"ok": False, "error": f"command has no \"cmd\" string: {line.strip()[:200]}"}
        name = command["cmd"]
        if name not in self.COMMANDS:
            return {"ok": False, "error": f"unknown command '{name}'"}
        try:
            reply = getattr(self, name)(command)
        except DriverError as error:
            return {"ok": False, "error": str(error)}
        except Exception as error:  # a bug or an unexpected client error: report, keep serving
            log(f"{name} raised {type(error).__name__}: {error}")
            return {"ok": False, "error": f"{name}: {type(error).__name__}: {error}"}
        return {"ok": True, **reply}


# --------------------------------------------------------------------------------------
# Entry points


def start_cluster(args):
    cluster = MockCluster(args.brokers)
    for spec in args.topic or []:
        name, _, partitions = spec.rpartition(":")
        if not name or not partitions.isdigit():
            cluster.destroy()
            raise DriverError(f"--topic expects name:partitions, got '{spec}'")
        cluster.check(cluster.lib.rd_kafka_mock_topic_create(cluster.mc, name.encode(), int(partitions), 1),
                      f"--topic {spec}")
    return cluster


def die_with_parent():
    """SIGTERM ourselves when the parent (the test process) dies.

    Not PR_SET_PDEATHSIG: Linux sends that when the parent *thread* that forked us exits, and the
    Swift tests launch drivers from dispatch worker threads, which exit whenever the pool shrinks;
    a healthy test then lost its cluster mid-command. Being re-parented is the process-wide sign.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.25)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def serve(args):
    die_with_parent()
    # Protocol lines go to the real stdout; anything else that prints lands on stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    try:
        cluster = start_cluster(args)
    except DriverError as error:
        out.write(json.dumps({"event": "error", "error": str(error)}) + "\n")
        out.flush()
        return 1
    server = Server(cluster)
    try:
        server.implemented_versions()  # learn the handler ranges before any set_api_version
    except (OSError, DriverError) as error:
        log(f"could not read the mock's ApiVersions at start: {error}")
    out.write(json.dumps({"event": "ready", "bootstrap": cluster.bootstrap, "brokers": cluster.brokers()}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                if json.loads(line).get("cmd") == "stop":
                    out.write(json.dumps({"ok": True}) + "\n")
                    out.flush()
                    break
            except (ValueError, AttributeError):
                pass
            out.write(json.dumps(server.handle(line)) + "\n")
            out.flush()
    except BrokenPipeError:
        pass
    finally:
        server.verifier.close()
        cluster.destroy()
    return 0


def read_topic(bootstrap, topic, expect, timeout_ms, settle_ms=2000):
    """Reads a topic from offset 0 of every partition on any broker, with no watermark lookup.

    Tansu 0.6 answers ListOffsets with the newest batch's base offset + 1, so the
    watermark-bounded ``Verifier.consume`` would stop short there. This reads until it holds at
    least ``expect`` records and every partition reported its end (the end Fetch reports), so
    records beyond the expected count (duplicates) are returned too, for the caller to see.
    With fewer, it waits ``settle_ms`` at the end of every partition for late appends (acks=0)
    and returns what there is: the caller's count check names the shortfall.
    """
    consumer = Consumer(Verifier(bootstrap).consumer_config(**{"enable.partition.eof": True}))
    records = []
    try:
        metadata = consumer.list_topics(topic=topic, timeout=10)
        entry = metadata.topics.get(topic)
        if entry is None or entry.error is not None or not entry.partitions:
            reason = "not in metadata" if entry is None else (entry.error.str() if entry.error else "no partitions")
            raise DriverError(f"consume: topic '{topic}': {reason}")
        partitions = sorted(entry.partitions.keys())
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions])
        at_end = set()
        deadline = time.monotonic() + timeout_ms / 1000.0
        last_record = time.monotonic()
        while len(records) < expect or at_end != set(partitions):
            if at_end == set(partitions) and time.monotonic() - last_record > settle_ms / 1000.0:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DriverError(f"consume: timed out after {timeout_ms} ms with {len(records)} of "
                                  f"{expect} record(s) read; at end: {sorted(at_end)} of {partitions}")
            for message in consumer.consume(num_messages=500, timeout=min(remaining, 0.5)):
                partition = message.partition()
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(partition)
                        continue
                    raise DriverError(f"consume: {topic}[{partition}] at offset {message.offset()}: "
                                      f"{error.name()}: {error.str()}")
                at_end.discard(partition)
                last_record = time.monotonic()
                records.append(record_of(message))
    finally:
        consumer.close()
    records.sort(key=lambda r: (r["partition"], r["offset"]))
    return records


def consume(args):
    try:
        records = read_topic(args.bootstrap, args.topic, args.expect, args.timeout_ms)
    except DriverError as error:
        print(json.dumps({"ok": False, "error": str(error)}), flush=True)
        return 1
    print(json.dumps({"ok": True, "records": records}), flush=True)
    return 0


def run(args):
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cluster = start_cluster(args)
    except DriverError as error:
        log(str(error))
        return 1
    print(f"bootstrap: {cluster.bootstrap}", flush=True)
    while not stop.wait(1.0):
        pass
    cluster.destroy()
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description="librdkafka mock cluster for Tributary's tests")
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("serve", "run"):
        p = sub.add_parser(mode)
        p.add_argument("--brokers", type=int, default=1, help="number of brokers (ids 1..N)")
        p.add_argument("--topic", action="append", metavar="NAME:PARTITIONS", help="create a topic at start")
    p = sub.add_parser("consume", help="read a topic on any broker (one JSON object on stdout)")
    p.add_argument("--bootstrap", required=True, help="host:port[,host:port…]")
    p.add_argument("--topic", required=True)
    p.add_argument("--expect", type=int, required=True, help="read at least this many records")
    p.add_argument("--timeout-ms", type=int, default=20000)
    args = parser.parse_args(argv)
    if args.mode == "consume":
        return consume(args)
    return serve(args) if args.mode == "serve" else run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
