#!/usr/bin/env python3
"""Asks a fresh Tansu the questions behind docs/brokers.md and prints what it answers.

Raw requests, no Tributary code: ApiVersions, InitProducerId at every version and as an epoch
bump, idempotent Produce with duplicate, next, gapped and bumped-epoch sequences, a batch with
a broken CRC, and ListOffsets against Fetch's high watermark. Run it after a Tansu upgrade:

    .venv/bin/python scripts/tansu_probe.py
"""

import io
import socket
import struct
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka.protocol.old.produce import ProduceRequest_v3, ProduceResponse_v3
from kafka.record.default_records import DefaultRecordBatchBuilder

from kafka_test_cluster import fetch_batches
from tansu_broker import Tansu

API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 18: "ApiVersions", 22: "InitProducerId",
             32: "DescribeConfigs"}
ERRORS = {0: "NONE", -1: "UNKNOWN_SERVER_ERROR", 45: "OUT_OF_ORDER_SEQUENCE_NUMBER",
          46: "DUPLICATE_SEQUENCE_NUMBER", 90: "PRODUCER_FENCED"}


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.correlation_id = 0

    def exchange(self, frame):
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        (size,) = struct.unpack(">i", self.receive(4))
        return self.receive(size)

    def receive(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def header(self, api_key, version, flexible):
        self.correlation_id += 1
        header = struct.pack(">hhih", api_key, version, self.correlation_id, 5) + b"probe"
        return header + (b"\x00" if flexible else b"")


def api_versions(port):
    connection = Connection(port)
    reply = connection.exchange(connection.header(18, 0, False))
    _, _, count = struct.unpack_from(">ihi", reply, 0)
    for index in range(count):
        key, low, high = struct.unpack_from(">hhh", reply, 10 + 6 * index)
        if key in API_NAMES:
            print(f"  {API_NAMES[key]}: v{low}-v{high}")


def init_producer_id(port, version, producer_id=-1, epoch=-1):
    connection = Connection(port)
    flexible = version >= 2
    if flexible:
        body = b"\x00" + struct.pack(">i", 60000)  # null TransactionalId, TransactionTimeoutMs
        if version >= 3:
            body += struct.pack(">qh", producer_id, epoch)
        body += b"\x00"
    else:
        body = struct.pack(">hi", -1, 60000)
    reply = connection.exchange(connection.header(22, version, flexible) + body)
    _, error, answered_id, answered_epoch = struct.unpack_from(">ihqh", reply, 4 + (1 if flexible else 0))
    return error, answered_id, answered_epoch


def produce(port, topic, producer_id, epoch, sequence, value=b"probe", corrupt=False):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=False, producer_id=producer_id, producer_epoch=epoch,
        base_sequence=sequence, batch_size=100000)
    builder.append(0, timestamp=int(time.time() * 1000), key=None, value=value, headers=[])
    batch = bytearray(builder.build())
    if corrupt:
        batch[-1] ^= 0xFF  # after the CRC was computed
    request = ProduceRequest_v3(transactional_id=None, required_acks=-1, timeout=5000,
                                topics=[(topic, [(0, bytes(batch))])])
    request.with_header(correlation_id=1, client_id="probe")
    connection = Connection(port)
    connection.sock.sendall(request.encode(header=True, framed=True))
    (size,) = struct.unpack(">i", connection.receive(4))
    response = ProduceResponse_v3.decode(io.BytesIO(connection.receive(size)[4:]))
    partition = response.responses[0][1][0]
    return partition[1], partition[2], partition[3]


def describe(error):
    return f"{error} {ERRORS.get(error, '')}".strip()


def main():
    tansu = Tansu()
    try:
        tansu.create_topic("probe", 1)
        tansu.create_topic("crc", 1)
        port = tansu.port
        print("ApiVersions:")
        api_versions(port)

        print("InitProducerId (no producer id):")
        for version in range(6):
            error, producer_id, epoch = init_producer_id(port, version)
            print(f"  v{version}: {describe(error)}, producer id {producer_id}, epoch {epoch}")
        error, producer_id, epoch = init_producer_id(port, 4)
        error, _, _ = init_producer_id(port, 4, producer_id, epoch)
        print(f"  v4 epoch bump of producer {producer_id} epoch {epoch}: {describe(error)}")

        print(f"Produce v3, producer {producer_id}:")
        for label, epoch, sequence in [("sequence 0", 0, 0), ("sequence 1", 0, 1), ("sequence 2", 0, 2),
                                       ("resend of 0", 0, 0), ("resend of 1", 0, 1), ("resend of 2", 0, 2),
                                       ("next (3)", 0, 3), ("gap (9)", 0, 9), ("epoch 1, sequence 0", 1, 0),
                                       ("epoch 0 again, sequence 4", 0, 4)]:
            error, offset, log_append_time = produce(port, "probe", producer_id, epoch, sequence)
            print(f"  {label}: {describe(error)}, offset {offset}, log append time {log_append_time}")

        error, offset, _ = produce(port, "crc", -1, -1, -1, corrupt=True)
        stored = fetch_batches("127.0.0.1", port, "crc", 0, 0, None)
        print(f"Produce with a broken CRC: {describe(error)}, offset {offset}; "
              f"stored CRC valid: {[batch['crc_valid'] for batch in stored]}")

        producer = Producer({"bootstrap.servers": tansu.bootstrap, "enable.idempotence": False, "linger.ms": 1000})
        for index in range(9):
            producer.produce("probe", partition=0, value=b"burst-%d" % index)
        producer.flush(10)
        stored = fetch_batches("127.0.0.1", port, "probe", 0, 0, None)
        end = stored[-1]["base_offset"] + stored[-1]["record_count"]
        consumer = Consumer({"bootstrap.servers": tansu.bootstrap, "group.id": "probe"})
        low, high = consumer.get_watermark_offsets(TopicPartition("probe", 0), timeout=10, cached=False)
        consumer.close()
        print(f"ListOffsets: low {low}, high {high}; the newest batch starts at {stored[-1]['base_offset']}, "
              f"the partition ends at {end} (by Fetch)")
    finally:
        tansu.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
