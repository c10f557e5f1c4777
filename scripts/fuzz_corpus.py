#!/usr/bin/env python3
"""Regenerates the seed corpora in Fuzz/Corpus from the repository's own inputs.

Run from the repository root: python3 scripts/fuzz_corpus.py. Each seed is named after where it
came from (see Fuzz/Corpus/README.md); crash reproducers live beside them under `regression-*`
names and are never removed by this script.
"""
import base64
import json
import pathlib
import re
import shutil
import subprocess
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "Corpus"

# Byte 0 of a FuzzResponses input picks the response type in this order (Fuzz/Sources/FuzzResponses).
RESPONSES = ["ApiVersions", "Metadata", "Produce", "InitProducerId", "DescribeConfigs", "SaslHandshake",
             "SaslAuthenticate"]
SMALL = 4096


def reset(target):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for seed in directory.iterdir():
        if not seed.name.startswith("regression-"):
            seed.unlink()
    return directory


def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def pipeline_config():
    directory = reset("FuzzPipelineConfig")
    for source in ["etc/tributary/pipeline.yaml", "scripts/demo/pipeline.yaml"]:
        shutil.copy(ROOT / source, directory / slug(source))
    # The multi-line string literals of the configuration tests: valid pipelines and invalid ones.
    for test in sorted((ROOT / "Tests" / "PipelineConfigTests").glob("*.swift")):
        text = test.read_text()
        for index, match in enumerate(re.finditer(r'"""\n(.*?)\n\s*"""', text, re.S)):
            body = match.group(1)
            lines = body.split("\n")
            indent = min((len(l) - len(l.lstrip(" ")) for l in lines if l.strip()), default=0)
            yaml = "\n".join(l[indent:] for l in lines) + "\n"
            if "\\(" in yaml or len(yaml) > SMALL:
                continue  # interpolated Swift, not YAML on its own
            (directory / f"{test.stem}-{index}.yaml").write_text(yaml)


def framing():
    directory = reset("FuzzFraming")
    logs = {
        "nginx": b'10.0.0.1 - - [02/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 512\n'
                 b'10.0.0.2 - - [02/Dec/2026:10:00:02 +0000] "GET /cart HTTP/1.1" 200 1024\n',
        "json-lines": b'{"user":{"id":"u-17"},"event":"login"}\n{"event":"heartbeat"}\n',
        "crlf-and-empty": b"one\r\n\r\n\ntwo\r\nthree",
        "java-trace": b"Exception in thread \"main\" java.lang.IllegalStateException: boom\n"
                      b"\tat com.example.App.run(App.java:10)\n\tat com.example.App.main(App.java:3)\n"
                      b"next record\n",
        "python-traceback": b"Traceback (most recent call last):\n  File \"app.py\", line 1, in <module>\n"
                            b"ValueError: x\n",
        "long-line": b"x" * 200 + b"\nshort\n" + b"y" * 70,
        "binary": bytes(range(256)),
    }
    # Byte 0: max_record_bytes 1 + (b & 0x3f), split when 0x40, multiline when 0x80; byte 1: read size.
    for name, body in logs.items():
        for prefix in [bytes([0x3F, 0x00]), bytes([0xC8, 0x07]), bytes([0x50, 0x01]), bytes([0x8F, 0xE3])]:
            (directory / f"{name}-{prefix.hex()}").write_bytes(prefix + body)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def compressed(batch, codec):
    """The uncompressed v2 `batch` with its records section compressed by `codec` (1 gzip, 3 lz4,
    4 zstd), length and CRC-32C rewritten: small seeds that reach the codecs' decoders."""
    records = batch[61:]
    if codec == 1:
        packed = zlib.compress(records, 6, 31)  # wbits 31: a gzip member, as Kafka writes
    else:
        tool = {3: ["lz4", "-c", "-q"], 4: ["zstd", "-c", "-q"]}[codec]
        if shutil.which(tool[0]) is None:
            return None
        packed = subprocess.run(tool, input=records, capture_output=True, check=True).stdout
    attributes = int.from_bytes(batch[21:23], "big") | codec
    body = attributes.to_bytes(2, "big") + batch[23:61] + packed
    length = 4 + 1 + 4 + len(body)  # partitionLeaderEpoch, magic, crc, then the checked bytes
    return (batch[:8] + length.to_bytes(4, "big") + batch[12:17] + crc32c(body).to_bytes(4, "big") + body)


def record_batches():
    directory = reset("FuzzRecordBatch")
    cases = json.loads((ROOT / "Tests/KafkaWireTests/Vectors/record-batches.json").read_text())["cases"]
    for case in cases:
        for codec, encoded in case["batches"].items():
            batch = base64.b64decode(encoded)
            if len(batch) <= SMALL:
                (directory / f"{slug(case['name'])}-{codec}").write_bytes(batch)
                for number, name in [(1, "gzip"), (3, "lz4"), (4, "zstd")]:
                    packed = compressed(batch, number)
                    if packed is not None:
                        (directory / f"{slug(case['name'])}-{name}-recompressed").write_bytes(packed)
        # Two batches back to back, as a Produce request's records field holds them.
    small = [base64.b64decode(c["batches"]["none"]) for c in cases[:2]]
    (directory / "two-batches").write_bytes(small[0] + small[1])


def responses():
    directory = reset("FuzzResponses")
    messages = json.loads((ROOT / "Tests/KafkaWireTests/Vectors/messages.json").read_text())
    for message in messages:
        if message["kind"] != "response" or message["api"] not in RESPONSES:
            continue
        payload = bytes.fromhex(message["hex"])
        if len(payload) > SMALL:
            continue
        # Two frames, so that the stream loop goes round.
        frame = len(payload).to_bytes(4, "big") + payload
        seed = bytes([RESPONSES.index(message["api"]), message["version"] + 1]) + frame * 2
        name = f"{slug(message['api'])}-v{message['version']}-{slug(message['variant'])}"
        (directory / name).write_bytes(seed)


if __name__ == "__main__":
    pipeline_config()
    framing()
    record_batches()
    responses()
    for target in sorted(CORPUS.iterdir()):
        if target.is_dir():
            print(f"{target.name}: {len(list(target.iterdir()))} seeds")
