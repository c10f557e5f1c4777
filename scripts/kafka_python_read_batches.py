#!/usr/bin/env python3
"""Decodes RecordBatch v2 bytes with kafka-python's independent reader, for the Swift tests.

stdin: a JSON list of base64 strings, each one or more concatenated batches.
stdout: a JSON list (one entry per input) of lists of batches:
  {"crc_valid", "base_offset", "partition_leader_epoch", "compression", "is_transactional",
   "producer_id", "producer_epoch", "base_sequence", "last_offset_delta", "records_count",
   "first_timestamp", "max_timestamp",
   "records": [{"offset", "timestamp", "key", "value", "headers": [[k, v], ...]}]}
with bytes as base64 (or null). A batch kafka-python cannot read yields {"error": "..."}.
"""
import base64
import json
import sys

from kafka.record.default_records import DefaultRecordBatch


def b64(b):
    return None if b is None else base64.b64encode(bytes(b)).decode()


def read_all(data):
    batches = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 12:
            batches.append({"error": f"{len(data) - pos} trailing bytes"})
            break
        length = int.from_bytes(data[pos + 8:pos + 12], "big", signed=True) + 12
        chunk = data[pos:pos + length]
        pos += length
        try:
            batch = DefaultRecordBatch(bytearray(chunk))
            entry = {
                "crc_valid": batch.validate_crc(),
                "base_offset": batch.base_offset,
                "partition_leader_epoch": batch.leader_epoch,
                "compression": batch.compression_type,
                "is_transactional": batch.is_transactional,
                "producer_id": batch.producer_id,
                "producer_epoch": batch.producer_epoch,
                "base_sequence": batch.base_sequence,
                "last_offset_delta": batch.last_offset_delta,
                "records_count": batch.records_count,
                "first_timestamp": batch.first_timestamp,
                "max_timestamp": batch.max_timestamp,
            }
            entry["records"] = [
                {"offset": r.offset, "timestamp": r.timestamp, "key": b64(r.key), "value": b64(r.value),
                 "headers": [[k, b64(v)] for k, v in r.headers]}
                for r in batch]
            batches.append(entry)
        except Exception as exc:  # any decoder failure is reported, not raised
            batches.append({"error": f"{type(exc).__name__}: {exc}"})
    return batches


def main():
    inputs = json.load(sys.stdin)
    json.dump([read_all(base64.b64decode(item)) for item in inputs], sys.stdout)


if __name__ == "__main__":
    main()
