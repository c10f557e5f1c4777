#!/usr/bin/env python3
"""Dumps kafka-python's broker error table as JSON, for Tests/KafkaWireTests/KafkaErrorCodeTests.swift.

kafka-python (`kafka.errors`) keeps its own table, written independently of Apache Kafka's
Errors.java: every BrokerResponseError subclass with an `errno`. Prints a JSON array sorted by
errno, one object per class (some codes have aliases):
  {"errno": 6, "class": "NotLeaderForPartitionError", "name": "NOT_LEADER_FOR_PARTITION",
   "retriable": true, "invalid_metadata": true}
"""
import inspect
import json

import kafka
import kafka.errors


def main():
    rows = []
    for class_name, cls in inspect.getmembers(kafka.errors, inspect.isclass):
        if not issubclass(cls, kafka.errors.BrokerResponseError):
            continue
        errno = getattr(cls, "errno", None)
        if errno is None:
            continue
        rows.append({
            "errno": errno,
            "class": class_name,
            "name": cls.message,
            "retriable": bool(cls.retriable),
            "invalid_metadata": bool(cls.invalid_metadata),
        })
    rows.sort(key=lambda row: (row["errno"], row["class"]))
    print(json.dumps({"kafka_python_version": kafka.__version__, "errors": rows}, indent=1))


if __name__ == "__main__":
    main()
