#!/usr/bin/env python3
"""Regenerates Tests/KafkaWireTests/Vectors/record-batches.json with kafka-python's independent
RecordBatch v2 builder (kafka.record.default_records.DefaultRecordBatchBuilder).

Run: .venv/bin/python scripts/generate_batch_vectors.py   (scripts/bootstrap.sh makes .venv)

Each case lists the records put in and the bytes kafka-python built. The Swift tests
(RecordBatchVectorTests) rebuild every uncompressed case with RecordBatchWriter and compare byte
for byte, and read every case, compressed ones included, with RecordBatchReader.
kafka-python writes partitionLeaderEpoch 0 where Java writes -1; the field is outside the CRC, and
the vector records the value so the Swift writer can be asked for the same.
"""
import base64
import json
import os
import random
import struct

from kafka.record.default_records import DefaultRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
MUST_COMPRESS = {"300-records", "one-100k-record"}
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "KafkaWireTests", "Vectors", "record-batches.json")


def b64(b):
    return None if b is None else base64.b64encode(b).decode()


def cases():
    rng = random.Random(20261127)
    yield "single-null-key", dict(producer=(-1, -1, -1, False)), [
        (1700000000000, None, b"hello", [])]
    yield "idempotent-headers-empty-value", dict(producer=(1000, 0, 0, False)), [
        (1700000000000, b"k1", b"v1", [("h", b"x")]),
        (1700000000005, None, b"", [])]
    yield "null-value-tombstone-and-null-header", dict(producer=(-1, -1, -1, False)), [
        (1700000000000, b"key", None, [("trace", None), ("unicode-\u00e9\u6f22", b"\x00\xff")])]
    yield "negative-timestamp-delta", dict(producer=(-1, -1, -1, False)), [
        (1700000001000, b"a", b"first", []),
        (1700000000000, b"b", b"earlier", []),
        (1700000002000, b"c", b"later", [])]
    yield "transactional-high-sequence", dict(producer=(123456789012, 32767, 2147483000, True)), [
        (1, b"x", b"y", [])]
    # 300 records of ~100 bytes: multi-byte varints for lengths and offset deltas.
    records = []
    for i in range(300):
        value = ("line %05d " % i).encode() + bytes(rng.choice(b"abcdefgh ") for _ in range(rng.randint(60, 140)))
        key = None if i % 7 == 0 else ("key-%d" % (i % 13)).encode()
        headers = [("n", str(i).encode())] if i % 11 == 0 else []
        records.append((1700000000000 + i * 3, key, value, headers))
    yield "300-records", dict(producer=(-1, -1, -1, False)), records
    # A 100 KB record, larger than 64 KiB: lz4 needs several frame blocks, snappy-java several chunks.
    big = b"".join(b"%08d GET /api/v1/items/%d HTTP/1.1 200 %d\n" % (i, rng.randint(0, 99999), rng.randint(100, 9999))
                   for i in range(5000))[:100_000]
    yield "one-100k-record", dict(producer=(-1, -1, -1, False)), [(1700000000000, b"big", big, [])]


def build(codec_id, producer, records):
    pid, epoch, seq, txn = producer
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec_id, is_transactional=txn, producer_id=pid,
        producer_epoch=epoch, base_sequence=seq, batch_size=10 * 1024 * 1024)
    for offset, (ts, key, value, headers) in enumerate(records):
        meta = builder.append(offset, timestamp=ts, key=key, value=value, headers=headers)
        assert meta is not None
    return bytes(builder.build())


def main():
    out = []
    for name, opts, records in cases():
        pid, epoch, seq, txn = opts["producer"]
        case = {
            "name": name,
            "producer_id": pid, "producer_epoch": epoch, "base_sequence": seq, "is_transactional": txn,
            "records": [
                {"timestamp": ts, "key": b64(key), "value": b64(value),
                 "headers": [[k, b64(v)] for k, v in headers]}
                for ts, key, value, headers in records],
            "batches": {},
        }
        for codec, codec_id in CODECS.items():
            batch = build(codec_id, opts["producer"], records)
            attributes = struct.unpack(">h", batch[21:23])[0]
            if codec_id and attributes & 7 != codec_id:
                # kafka-python sends small batches uncompressed when compression does not pay;
                # the uncompressed variant of the case already covers those bytes.
                if name in MUST_COMPRESS:
                    raise SystemExit(f"{name}/{codec}: kafka-python did not compress; use more compressible data")
                continue
            case["partition_leader_epoch"] = struct.unpack(">i", batch[12:16])[0]
            case["batches"][codec] = base64.b64encode(batch).decode()
        out.append(case)
    with open(OUT, "w") as f:
        json.dump({"generator": "kafka-python " + __import__("kafka").__version__, "cases": out}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} cases, {sum(len(c['batches']) for c in out)} batches to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
