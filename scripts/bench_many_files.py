#!/usr/bin/env python3
"""Many files, few of them busy: the agent's CPU, RSS and descriptors over time.

Creates N files (default 1,000) in a temporary directory, starts librdkafka's mock cluster and
`tributary run` on a pipeline that follows all of them, then appends lines to a few (default 10)
at a steady rate while sampling the agent's CPU (user+sys from /proc/PID/stat), RSS and open
descriptors every few seconds. At the end it checks, through the cluster's consumer, that every
line written arrived, and prints the samples as a table and as JSON. Nothing is asserted about
speed: this is a figure, not a test.

Run it with `make bench-many-files` (which builds the release binary first), or:
    .venv/bin/python scripts/bench_many_files.py --tributary .build/release/tributary
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_produce import Cluster, CLOCK_TICKS, ROOT  # noqa: E402


def process_sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss_kib = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    descriptors = len(os.listdir(f"/proc/{pid}/fd"))
    return cpu, rss_kib / 1024, descriptors


def main(argv):
    parser = argparse.ArgumentParser(description="the agent following many mostly idle files")
    parser.add_argument("--files", type=int, default=1000, help="files followed (default 1000)")
    parser.add_argument("--active", type=int, default=10, help="files written to (default 10)")
    parser.add_argument("--rate", type=int, default=100, help="lines per second per active file (default 100)")
    parser.add_argument("--seconds", type=int, default=60, help="how long to write (default 60)")
    parser.add_argument("--sample", type=float, default=5, help="seconds between samples (default 5)")
    parser.add_argument("--max-open-files", type=int, default=512, help="the source's max_open_files (default 512)")
    parser.add_argument("--inotify", default="true", choices=["true", "false"], help="the source's inotify setting")
    parser.add_argument("--tributary", default=os.path.join(ROOT, ".build", "release", "tributary"))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="tributary-many-files-")
    cluster = Cluster(sys.executable, 1, os.path.join(work, "cluster.stderr"))
    agent = None
    try:
        cluster.command(cmd="create_topic", topic="many", partitions=3)
        logs = os.path.join(work, "logs")
        os.makedirs(logs)
        for index in range(args.files):
            with open(os.path.join(logs, f"file-{index:04}.log"), "w") as f:
                f.write(f"file {index} first line\n")
        pipeline = os.path.join(work, "pipeline.yaml")
        with open(pipeline, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: [{cluster.bootstrap}]
agent: {{ state_dir: {work}/state }}
sources:
  many:
    type: file
    include: [{logs}/*.log]
    max_open_files: {args.max_open_files}
    inotify: {args.inotify}
routes:
  - from: many
    topic: many
""")
        stderr = open(os.path.join(work, "agent.stderr"), "wb")
        agent = subprocess.Popen([args.tributary, "run", "--config", pipeline], stderr=stderr)
        written = args.files
        # Let it find and read every file first.
        time.sleep(3)
        start_cpu, _, _ = process_sample(agent.pid)
        start = time.monotonic()
        samples = []
        handles = [open(os.path.join(logs, f"file-{index:04}.log"), "a") for index in range(args.active)]
        next_sample = start + args.sample
        last_cpu, last_time = start_cpu, start
        tick = 0.1
        while time.monotonic() - start < args.seconds:
            for number, handle in enumerate(handles):
                count = int(args.rate * tick)
                handle.write("".join(f"active {number} line {written + i} {'x' * 60}\n" for i in range(count)))
                handle.flush()
                written += count
            time.sleep(tick)
            now = time.monotonic()
            if now >= next_sample:
                cpu, rss, descriptors = process_sample(agent.pid)
                samples.append({
                    "seconds": round(now - start, 1),
                    "cpu_percent": round(100 * (cpu - last_cpu) / (now - last_time), 2),
                    "rss_mib": round(rss, 1),
                    "descriptors": descriptors,
                })
                last_cpu, last_time = cpu, now
                next_sample += args.sample
        for handle in handles:
            handle.close()
        delivered = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            marks = cluster.command(cmd="watermarks", topic="many")["partitions"]
            delivered = sum(mark["high"] for mark in marks)
            if delivered >= written:
                break
            time.sleep(1)
        agent.terminate()
        agent.wait(timeout=60)

        print(f"{args.files} files, {args.active} written at {args.rate} lines/s each, "
              f"max_open_files {args.max_open_files}, inotify {args.inotify}")
        print(f"{'seconds':>8} {'CPU %':>7} {'RSS MiB':>8} {'fds':>5}")
        for sample in samples:
            print(f"{sample['seconds']:>8} {sample['cpu_percent']:>7} {sample['rss_mib']:>8} {sample['descriptors']:>5}")
        print(f"lines written {written}, delivered {delivered}")
        result = {"files": args.files, "active": args.active, "rate": args.rate,
                  "max_open_files": args.max_open_files, "inotify": args.inotify,
                  "written": written, "delivered": delivered, "samples": samples}
        print(json.dumps(result))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        return 0 if delivered >= written else 1
    finally:
        if agent and agent.poll() is None:
            agent.kill()
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
