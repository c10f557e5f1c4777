#!/usr/bin/env python3
"""Generates Tests/KafkaWireTests/Vectors/messages.json: request frames and response payloads
for every version of every message KafkaWire encodes or decodes, produced by kafka-python's
schema-driven encoder (kafka-python 3.0.12, kafka/protocol/api_message.py), which reads Kafka's
own JSON message schemas. Our Swift code is never involved, so the vectors are independent.

Run from the repository root with the project venv:

    .venv/bin/python scripts/generate_wire_vectors.py

Each vector is {"api", "kind", "version", "variant", "hex", "fields", "source", ...}:
* requests: "hex" is the complete frame (int32 size, request header, body) with
  "correlationId" and "clientId" as given; "fields" holds the body's values.
* responses: "hex" is the payload after the size prefix (response header, body); "fields"
  holds the body's values.
"fields" uses the Swift property names (camelCase schema names) and only contains the fields
that exist in that version (out-of-version values are dropped before encoding). Byte fields
(Records, AuthBytes) are hex strings, UUIDs 32 hex digits, authorized-operation bitfields int32.
"""

import json
import os
import sys
import uuid

from kafka.protocol.metadata import (
    ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse)
from kafka.protocol.producer import (
    ProduceRequest, ProduceResponse, InitProducerIdRequest, InitProducerIdResponse)
from kafka.protocol.admin.configs import DescribeConfigsRequest, DescribeConfigsResponse
from kafka.protocol.sasl import (
    SaslHandshakeRequest, SaslHandshakeResponse, SaslAuthenticateRequest, SaslAuthenticateResponse)
from kafka.protocol.schemas import BaseField

CLIENT_ID = "tributary-test"
BYTE_FIELDS = {"records", "authBytes"}
UUID_FIELDS = {"topicId"}
BITFIELDS = {"topicAuthorizedOperations", "clusterAuthorizedOperations"}

# Batch "A" from Tests/Vectors/test-vectors.md §5 (opaque to the message codec).
BATCH_A = bytes.fromhex(
    "00000000000000000000003dffffffff02e641a44b0000000000000000018bcfe568000000018bcfe568"
    "00ffffffffffffffffffffffffffff0000000116000000010a68656c6c6f00")
TOPIC_ID_1 = "0123456789abcdeffedcba9876543210"
TOPIC_ID_2 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def snake(camel):
    if camel in BITFIELDS:
        return "authorized_operations"  # kafka-python's json_patch renames both of them
    return BaseField.underscore_name(camel[0].upper() + camel[1:])


def to_python(key, value):
    if value is None:
        return None
    if key in BYTE_FIELDS:
        return bytes.fromhex(value)
    if key in UUID_FIELDS:
        return uuid.UUID(hex=value)
    if key in BITFIELDS:
        bits = value & 0xFFFFFFFF
        return {b for b in range(32) if bits >> b & 1}
    return value


def build(fields_by_name, make, values, version):
    """Builds a kafka-python data object from camelCase `values`, dropping fields that the
    version does not have. Returns (object, the values actually used)."""
    kwargs, used = {}, {}
    for key, value in values.items():
        field = fields_by_name[snake(key)]
        if not field.for_version_q(version):
            continue
        if field.is_struct_array():
            if value is None:
                kwargs[field.name] = None
                used[key] = None
                continue
            items = [build(field.fields, field.data_class, v, version) for v in value]
            kwargs[field.name] = [i[0] for i in items]
            used[key] = [i[1] for i in items]
        elif field.is_struct():
            obj, sub = build(field.fields, field.data_class, value, version)
            kwargs[field.name] = obj
            used[key] = sub
        else:
            kwargs[field.name] = to_python(key, value)
            used[key] = value
    return make(version=version, **kwargs), used


def vector(cls, api, kind, version, variant, values, correlation_id):
    message, used = build(cls._struct.fields, lambda version, **kw: cls[version](**kw), values, version)
    if kind == "request":
        message.with_header(correlation_id=correlation_id, client_id=CLIENT_ID)
        data = message.encode(header=True, framed=True)
    else:
        message.with_header(correlation_id=correlation_id)
        data = message.encode(header=True, framed=False)
    out = {"api": api, "kind": kind, "version": version, "variant": variant,
           "correlationId": correlation_id}
    if kind == "request":
        out["clientId"] = CLIENT_ID
    out["source"] = "kafka-python"
    out["hex"] = bytes(data).hex()
    out["fields"] = used
    # Round trip through kafka-python's decoder as a sanity check of the generator itself.
    decoded = cls.decode(bytes(data), version=version, header=True, framed=(kind == "request"))
    assert decoded.header.correlation_id == correlation_id
    return out


# ---------------------------------------------------------------- ApiVersions (0-4)

def api_versions(vectors):
    for v in range(0, 5):
        vectors.append(vector(ApiVersionsRequest, "ApiVersions", "request", v, "values", {
            "clientSoftwareName": "tributary",
            "clientSoftwareVersion": "0.1.0-ß",
        }, 1000 + v))
        vectors.append(vector(ApiVersionsResponse, "ApiVersions", "response", v, "values", {
            "errorCode": 0,
            "apiKeys": [
                {"apiKey": 0, "minVersion": 3, "maxVersion": 12},
                {"apiKey": 3, "minVersion": 0, "maxVersion": 13},
                {"apiKey": 18, "minVersion": 0, "maxVersion": 4},
                {"apiKey": 22, "minVersion": 0, "maxVersion": 5},
            ],
            "throttleTimeMs": 1234,
            "supportedFeatures": [
                {"name": "metadata.version", "minVersion": 1, "maxVersion": 25},
                {"name": "fëature", "minVersion": 2, "maxVersion": 3},
            ],
            "finalizedFeaturesEpoch": 4242,
            "finalizedFeatures": [
                {"name": "metadata.version", "maxVersionLevel": 25, "minVersionLevel": 25},
            ],
            "zkMigrationReady": True,
        }, 2000 + v))
        if v >= 3:
            vectors.append(vector(ApiVersionsResponse, "ApiVersions", "response", v, "untagged", {
                "errorCode": 0,
                "apiKeys": [{"apiKey": 36, "minVersion": 0, "maxVersion": 2}],
                "throttleTimeMs": 0,
            }, 2100 + v))


# ---------------------------------------------------------------- Metadata (1-13)

def metadata(vectors):
    for v in range(1, 14):
        vectors.append(vector(MetadataRequest, "Metadata", "request", v, "values", {
            "topics": [
                {"topicId": TOPIC_ID_1 if v >= 10 else None, "name": "logs"},
                {"name": "métriques-ü"},
                {"name": "audit"},
            ],
            "allowAutoTopicCreation": v < 4,  # v1-3 cannot send false; v4+ sends the non-default
            "includeClusterAuthorizedOperations": 8 <= v <= 10,
            "includeTopicAuthorizedOperations": v >= 8,
        }, 3000 + v))
        nulls = {"topics": None, "allowAutoTopicCreation": True}
        if v >= 10:
            nulls["topics"] = [{"topicId": TOPIC_ID_2, "name": None}]
        vectors.append(vector(MetadataRequest, "Metadata", "request", v, "nulls", nulls, 3100 + v))
        if v >= 2:
            vectors.append(vector(MetadataRequest, "Metadata", "request", v, "empty",
                                  {"topics": [], "allowAutoTopicCreation": True}, 3200 + v))

        topics = [
            {"errorCode": 0, "name": "logs", "topicId": TOPIC_ID_1, "isInternal": False,
             "partitions": [
                 {"errorCode": 0, "partitionIndex": 0, "leaderId": 1, "leaderEpoch": 17,
                  "replicaNodes": [1, 2, 3], "isrNodes": [1, 3], "offlineReplicas": [2]},
                 {"errorCode": 9, "partitionIndex": 1, "leaderId": -1, "leaderEpoch": 4,
                  "replicaNodes": [2], "isrNodes": [], "offlineReplicas": []},
             ],
             "topicAuthorizedOperations": 0x0000_0F38},
            {"errorCode": 0, "name": "__consumer_offsets-ø", "topicId": TOPIC_ID_2, "isInternal": True,
             "partitions": [
                 {"errorCode": 0, "partitionIndex": 7, "leaderId": 3, "leaderEpoch": 0,
                  "replicaNodes": [3, 1], "isrNodes": [3, 1], "offlineReplicas": []},
             ],
             "topicAuthorizedOperations": -2147483648},
        ]
        vectors.append(vector(MetadataResponse, "Metadata", "response", v, "values", {
            "throttleTimeMs": 250,
            "brokers": [
                {"nodeId": 1, "host": "kafka-1.example", "port": 9092, "rack": "rack-ä"},
                {"nodeId": 2, "host": "kafka-2.example", "port": 9093, "rack": "rack-b"},
                {"nodeId": 3, "host": "10.0.0.3", "port": 19092, "rack": "rack-c"},
            ],
            "clusterId": "clüster-id",
            "controllerId": 2,
            "topics": topics,
            "clusterAuthorizedOperations": 0x0000_1FFC,
            "errorCode": 0,
        }, 4000 + v))
        vectors.append(vector(MetadataResponse, "Metadata", "response", v, "nulls", {
            "throttleTimeMs": 0,
            "brokers": [{"nodeId": 5, "host": "h", "port": 1, "rack": None}],
            "clusterId": None,
            "controllerId": -1,
            "topics": [
                {"errorCode": 3, "name": None if v >= 12 else "gone", "topicId": TOPIC_ID_2,
                 "isInternal": False, "partitions": [], "topicAuthorizedOperations": 0},
            ],
            "clusterAuthorizedOperations": 0,
            "errorCode": 129,
        }, 4100 + v))


# ---------------------------------------------------------------- Produce (3-12)

def produce(vectors):
    for v in range(3, 13):
        vectors.append(vector(ProduceRequest, "Produce", "request", v, "values", {
            "transactionalId": "txn-ü",
            "acks": -1,
            "timeoutMs": 30000,
            "topicData": [
                {"name": "logs", "partitionData": [
                    {"index": 0, "records": BATCH_A.hex()},
                    {"index": 3, "records": "0102030405"},
                ]},
                {"name": "métriques", "partitionData": [
                    {"index": 11, "records": ""},
                ]},
            ],
        }, 5000 + v))
        vectors.append(vector(ProduceRequest, "Produce", "request", v, "nulls", {
            "transactionalId": None,
            "acks": 1,
            "timeoutMs": 1500,
            "topicData": [
                {"name": "logs", "partitionData": [{"index": 2, "records": None}]},
                {"name": "empty", "partitionData": []},
            ],
        }, 5100 + v))

        vectors.append(vector(ProduceResponse, "Produce", "response", v, "values", {
            "responses": [
                {"name": "logs", "partitionResponses": [
                    {"index": 0, "errorCode": 0, "baseOffset": 42, "logAppendTimeMs": 1700000000123,
                     "logStartOffset": 7, "recordErrors": [], "errorMessage": None},
                    {"index": 3, "errorCode": 6, "baseOffset": -1, "logAppendTimeMs": -1,
                     "logStartOffset": -1, "recordErrors": [], "errorMessage": "Not leader ✗",
                     "currentLeader": {"leaderId": 2, "leaderEpoch": 19}},
                ]},
                {"name": "métriques", "partitionResponses": [
                    {"index": 11, "errorCode": 87, "baseOffset": 9007199254740993,
                     "logAppendTimeMs": 5, "logStartOffset": 1,
                     "recordErrors": [
                         {"batchIndex": 2, "batchIndexErrorMessage": "bad record ✓"},
                         {"batchIndex": 5, "batchIndexErrorMessage": None},
                     ],
                     "errorMessage": "some records were invalid"},
                ]},
            ],
            "throttleTimeMs": 77,
            "nodeEndpoints": [
                {"nodeId": 2, "host": "kafka-2.example", "port": 9093, "rack": "rack-ß"},
                {"nodeId": 4, "host": "kafka-4.example", "port": 9095, "rack": None},
            ],
        }, 6000 + v))
        vectors.append(vector(ProduceResponse, "Produce", "response", v, "minimal", {
            "responses": [
                {"name": "logs", "partitionResponses": [
                    {"index": 1, "errorCode": 0, "baseOffset": 0, "logAppendTimeMs": -1,
                     "logStartOffset": 0, "recordErrors": [], "errorMessage": None},
                ]},
            ],
            "throttleTimeMs": 0,
        }, 6100 + v))


# ---------------------------------------------------------------- InitProducerId (0-5)

def init_producer_id(vectors):
    for v in range(0, 6):
        vectors.append(vector(InitProducerIdRequest, "InitProducerId", "request", v, "values", {
            "transactionalId": "txn-ü",
            "transactionTimeoutMs": 60000,
            "producerId": 1234567890123 if v >= 3 else -1,
            "producerEpoch": 7 if v >= 3 else -1,
        }, 7000 + v))
        vectors.append(vector(InitProducerIdRequest, "InitProducerId", "request", v, "nulls", {
            "transactionalId": None,
            "transactionTimeoutMs": 2147483647,
            "producerId": -1,
            "producerEpoch": -1,
        }, 7100 + v))
        vectors.append(vector(InitProducerIdResponse, "InitProducerId", "response", v, "values", {
            "throttleTimeMs": 5,
            "errorCode": 0,
            "producerId": 9876543210,
            "producerEpoch": 3,
        }, 8000 + v))
        vectors.append(vector(InitProducerIdResponse, "InitProducerId", "response", v, "error", {
            "throttleTimeMs": 0,
            "errorCode": 15,
            "producerId": -1,
            "producerEpoch": -1,
        }, 8100 + v))


# ---------------------------------------------------------------- SASL

def sasl(vectors):
    for v in range(0, 2):
        vectors.append(vector(SaslHandshakeRequest, "SaslHandshake", "request", v, "values",
                              {"mechanism": "SCRAM-SHA-512"}, 9000 + v))
        vectors.append(vector(SaslHandshakeResponse, "SaslHandshake", "response", v, "values", {
            "errorCode": 33, "mechanisms": ["PLAIN", "SCRAM-SHA-256", "ÖAUTH"]}, 9100 + v))
        vectors.append(vector(SaslHandshakeResponse, "SaslHandshake", "response", v, "empty", {
            "errorCode": 0, "mechanisms": []}, 9200 + v))
    for v in range(0, 3):
        vectors.append(vector(SaslAuthenticateRequest, "SaslAuthenticate", "request", v, "values",
                              {"authBytes": b"\x00user\x00p\xc3\xa4ss".hex()}, 9300 + v))
        vectors.append(vector(SaslAuthenticateRequest, "SaslAuthenticate", "request", v, "empty",
                              {"authBytes": ""}, 9400 + v))
        vectors.append(vector(SaslAuthenticateResponse, "SaslAuthenticate", "response", v, "values", {
            "errorCode": 58, "errorMessage": "Authentication failed: ü",
            "authBytes": b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=".hex(),
            "sessionLifetimeMs": 3600000}, 9500 + v))
        vectors.append(vector(SaslAuthenticateResponse, "SaslAuthenticate", "response", v, "nulls", {
            "errorCode": 0, "errorMessage": None, "authBytes": "", "sessionLifetimeMs": 0}, 9600 + v))


# ---------------------------------------------------------------- DescribeConfigs (1-4)

def describe_configs(vectors):
    for v in range(1, 5):
        vectors.append(vector(DescribeConfigsRequest, "DescribeConfigs", "request", v, "values", {
            "resources": [
                {"resourceType": 2, "resourceName": "web-accèss",
                 "configurationKeys": ["min.insync.replicas", "max.message.bytes", "compression.type"]},
                {"resourceType": 4, "resourceName": "3", "configurationKeys": None},
                {"resourceType": 4, "resourceName": "", "configurationKeys": []},
            ],
            "includeSynonyms": True,
            "includeDocumentation": v >= 3,
        }, 9700 + v))
        vectors.append(vector(DescribeConfigsRequest, "DescribeConfigs", "request", v, "empty", {
            "resources": [], "includeSynonyms": False, "includeDocumentation": False,
        }, 9750 + v))
        vectors.append(vector(DescribeConfigsResponse, "DescribeConfigs", "response", v, "values", {
            "throttleTimeMs": 12,
            "results": [
                {"errorCode": 0, "errorMessage": None, "resourceType": 2, "resourceName": "web-accèss",
                 "configs": [
                     {"name": "min.insync.replicas", "value": "2", "readOnly": False, "configSource": 1,
                      "isSensitive": False,
                      "synonyms": [
                          {"name": "min.insync.replicas", "value": "2", "source": 1},
                          {"name": "min.insync.replicas", "value": "1", "source": 5},
                      ],
                      "configType": 3, "documentation": "When a producer sets acks to \"all\" … ü"},
                     {"name": "compression.type", "value": "producer", "readOnly": False, "configSource": 5,
                      "isSensitive": False, "synonyms": [], "configType": 2, "documentation": None},
                 ]},
                {"errorCode": 0, "errorMessage": None, "resourceType": 4, "resourceName": "3",
                 "configs": [
                     {"name": "ssl.keystore.password", "value": None, "readOnly": True, "configSource": 4,
                      "isSensitive": True,
                      "synonyms": [{"name": "listener.name.internal.ssl.keystore.password", "value": None,
                                    "source": 2}],
                      "configType": 9, "documentation": None},
                 ]},
                {"errorCode": 3, "errorMessage": "Topic 'gone' does not exist.", "resourceType": 2,
                 "resourceName": "gone", "configs": []},
            ],
        }, 9800 + v))
        vectors.append(vector(DescribeConfigsResponse, "DescribeConfigs", "response", v, "empty", {
            "throttleTimeMs": 0, "results": [],
        }, 9850 + v))


def main():
    vectors = []
    api_versions(vectors)
    metadata(vectors)
    produce(vectors)
    init_producer_id(vectors)
    sasl(vectors)
    describe_configs(vectors)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests", "KafkaWireTests", "Vectors", "messages.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=False)
        f.write("\n")
    counts = {}
    for vec in vectors:
        key = (vec["api"], vec["kind"])
        counts[key] = counts.get(key, 0) + 1
    for (api, kind), n in sorted(counts.items()):
        print(f"{api:18} {kind:8} {n}", file=sys.stderr)
    print(f"wrote {len(vectors)} vectors to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
