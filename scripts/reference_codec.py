#!/usr/bin/env python3
"""Reference compression for the codec cross-checks in Tests/KafkaWireTests/CompressionTests.swift.

Usage: reference_codec.py compress|decompress FORMAT DIR [LEVEL]

Reads every DIR/*.in and writes DIR/*.out. Uses libraries independent of the Swift code
(python's gzip, python-snappy, lz4.frame, zstandard). FORMAT names a codec and a variant:

  gzip            gzip.compress / gzip.decompress (which accepts concatenated members)
  gzip-members    compress: the input split in three, one gzip member each
  snappy          one raw snappy block
  snappy-xerial   compress: snappy-java's framing, built by hand (magic, version 1,
                  compatible 1, then int32 BE length + raw block per 32 KiB of input)
  lz4             lz4.frame with 64 KiB independent blocks (Kafka's layout)
  lz4-linked      compress: lz4.frame defaults (linked blocks, content checksum on)
  zstd            zstandard one-shot (content size in the header)
  zstd-stream     compress: zstandard streaming, no content size (like Java's zstd-jni)
"""
import gzip
import pathlib
import struct
import sys

import lz4.frame
import snappy
import zstandard

XERIAL_MAGIC = b"\x82SNAPPY\x00"


def compress(fmt, data, level):
    if fmt == "gzip":
        return gzip.compress(data, compresslevel=9 if level is None else level)
    if fmt == "gzip-members":
        third = len(data) // 3
        parts = [data[:third], data[third:2 * third], data[2 * third:]]
        return b"".join(gzip.compress(p) for p in parts)
    if fmt == "snappy":
        return snappy.compress(data)
    if fmt == "snappy-xerial":
        out = bytearray(XERIAL_MAGIC + struct.pack(">ii", 1, 1))
        for start in range(0, len(data), 32 * 1024):
            block = snappy.compress(data[start:start + 32 * 1024])
            out += struct.pack(">i", len(block)) + block
        return bytes(out)
    if fmt == "lz4":
        return lz4.frame.compress(
            data, block_size=lz4.frame.BLOCKSIZE_MAX64KB, block_linked=False,
            compression_level=0 if level is None else level)
    if fmt == "lz4-linked":
        return lz4.frame.compress(data, block_linked=True, content_checksum=True)
    if fmt == "zstd":
        return zstandard.ZstdCompressor(level=3 if level is None else level).compress(data)
    if fmt == "zstd-stream":
        compressor = zstandard.ZstdCompressor(level=3 if level is None else level,
                                              write_content_size=False)
        stream = compressor.compressobj()
        return stream.compress(data) + stream.flush()
    raise SystemExit(f"unknown format {fmt}")


def decompress(fmt, data):
    if fmt == "gzip":
        return gzip.decompress(data)
    if fmt == "snappy":
        return snappy.uncompress(data)
    if fmt == "lz4":
        return lz4.frame.decompress(data)
    if fmt == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise SystemExit(f"unknown format {fmt}")


def main():
    op, fmt, directory = sys.argv[1:4]
    level = int(sys.argv[4]) if len(sys.argv) > 4 else None
    for path in sorted(pathlib.Path(directory).glob("*.in")):
        data = path.read_bytes()
        result = compress(fmt, data, level) if op == "compress" else decompress(fmt, data)
        path.with_suffix(".out").write_bytes(result)


if __name__ == "__main__":
    main()
