#!/usr/bin/env python3
"""The agent against librdkafka: `tributary run` tailing a file and `tributary produce` on stdin,
each beside kcat doing the same job, in one run.

Writes a deterministic log file (2,000,000 lines of 100 bytes by default), starts librdkafka's
mock cluster (3 brokers, a fresh 3-partition topic per run), and for every codec and acks setting
asked for runs, alternating the contenders, `--repeat` times:

  file:  `tributary run` on a pipeline that tails the file (the agent's defaults, only
         `compression.type` and `acks` set), timed from its start until the topic's high
         watermarks hold every line, then stopped with SIGTERM;
         `kcat -P -l FILE` (librdkafka's defaults: 1 MB batches, linger.ms 5), timed to its exit.
  stdin: `tributary produce` with kcat's batching (`-X batch.size=1000000 -X linger.ms=5`) and
         `kcat -P`, the file on stdin, timed to their exit.

Each run's user+sys CPU and peak RSS come from wait4 on the process itself; each is checked by
the topic's high watermarks. The table shows medians and ratios against kcat in the same
configuration; --json writes every run. Nothing here asserts a speed: it is a figure.

    make bench-agent                       # everything: file and stdin, none/lz4/zstd, acks 1/all
    .venv/bin/python scripts/bench_agent.py --codecs lz4 --acks 1 --modes file --repeat 3
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_produce import (  # noqa: E402
    LAUNCHER, ROOT, BenchError, Cluster, StderrCapture, become_subreaper, cpu_model, write_input)


def launch(argv, stdin_path):
    """Starts argv as a grandchild we reap ourselves (see bench_produce's LAUNCHER)."""
    read_end, write_end = os.pipe()
    capture = StderrCapture(read_end)
    capture.start()
    with open(stdin_path or os.devnull, "rb") as stdin:
        start = time.perf_counter()
        shell = subprocess.Popen(["/bin/sh", "-c", LAUNCHER, "sh", *argv],
                                 stdin=stdin, stdout=subprocess.PIPE, stderr=write_end)
        os.close(write_end)
        output = shell.stdout.read()
        shell.stdout.close()
        if shell.wait() != 0 or not output.strip().isdigit():
            raise BenchError(f"could not start {argv[0]} (launcher said {output!r})")
    return int(output), start, capture


def reap(pid, capture, timeout):
    """Waits for pid (killing it after timeout); its exit code, CPU seconds and peak RSS."""
    timer = threading.Timer(timeout, lambda: os.kill(pid, signal.SIGKILL))
    timer.start()
    try:
        while True:
            try:
                _, status, usage = os.wait4(pid, 0)
                break
            except InterruptedError:
                continue
    finally:
        timer.cancel()
    end = time.perf_counter()
    capture.join()
    return {"end": end, "exit": os.waitstatus_to_exitcode(status), "user": usage.ru_utime,
            "sys": usage.ru_stime, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "stderr": capture.text()}


def high_watermarks(cluster, topic):
    return sum(m["high"] for m in cluster.command(cmd="watermarks", topic=topic)["partitions"])


def wait_for_records(cluster, topic, records, pid, deadline, interval=0.02):
    """Polls the watermarks until they hold `records`; the time they did, or None."""
    while time.perf_counter() < deadline:
        if high_watermarks(cluster, topic) >= records:
            return time.perf_counter()
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return None
        except ChildProcessError:
            return None
        time.sleep(interval)
    return None


PIPELINE = """\
kafka:
  bootstrap_servers: [{bootstrap}]
  producer: {{ compression.type: {codec}, acks: "{acks}"{extra} }}
agent:
  state_dir: {state}
sources:
  bench:
    type: file
    include: [{input}]
routes:
  - from: bench
    topic: {topic}
"""


def run_agent(args, cluster, work, topic, codec, acks, input_path):
    state = os.path.join(work, f"state-{topic}")
    config = os.path.join(work, f"{topic}.yaml")
    with open(config, "w") as f:
        f.write(PIPELINE.format(bootstrap=cluster.bootstrap, codec=codec, acks=acks, state=state,
                                input=input_path, topic=topic,
                                extra="".join(f", {p.split('=', 1)[0]}: \"{p.split('=', 1)[1]}\""
                                              for p in args.agent_setting)))
    pid, start, capture = launch([*args.wrap.split(), args.tributary, "run", "--config", config], None)
    acked = wait_for_records(cluster, topic, args.records, pid, start + args.timeout)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    run = reap(pid, capture, 60)
    shutil.rmtree(state, ignore_errors=True)
    run["wall"] = (acked - start) if acked else None
    return run


def run_stdin(args, argv, cluster, topic, input_path):
    pid, start, capture = launch(argv, input_path)
    run = reap(pid, capture, args.timeout)
    run["wall"] = run["end"] - start
    return run


def contenders(args, bootstrap, mode, codec, acks):
    kcat_codec = {"none": "none", "lz4": "lz4", "zstd": "zstd", "gzip": "gzip", "snappy": "snappy"}[codec]
    kcat = lambda topic, extra: [args.kcat, "-P", "-b", bootstrap, "-t", topic, *extra,
                                 "-X", f"compression.codec={kcat_codec}", "-X", f"acks={acks}"]
    if mode == "file":
        return [("kcat -P -l", lambda topic, path: ("stdin", kcat(topic, ["-l", path]), None)),
                ("tributary run", lambda topic, path: ("agent", None, None))]
    produce = lambda topic: [args.tributary, "produce", "--brokers", bootstrap, "--topic", topic,
                             "-X", f"compression.type={codec}", "-X", f"acks={acks}",
                             "-X", "batch.size=1000000", "-X", "linger.ms=5",
                             *[arg for setting in args.produce_setting for arg in ("-X", setting)]]
    return [("kcat -P", lambda topic, path: ("stdin", kcat(topic, []), path)),
            ("tributary produce", lambda topic, path: ("stdin", produce(topic), path))]


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main(argv):
    parser = argparse.ArgumentParser(description="tributary run/produce vs kcat on librdkafka's mock cluster")
    parser.add_argument("--records", type=int, default=2_000_000, help="lines in the file (default 2000000)")
    parser.add_argument("--record-size", type=int, default=100, help="bytes per line without the newline (default 100)")
    parser.add_argument("--brokers", type=int, default=3, help="mock brokers (default 3)")
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic (default 3)")
    parser.add_argument("--codecs", default="none,lz4,zstd", help="compression codecs (default none,lz4,zstd)")
    parser.add_argument("--acks", default="1,all", help="acks settings (default 1,all)")
    parser.add_argument("--modes", default="file,stdin", help="file (tributary run, kcat -l) and/or stdin (produce)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender and setting (default 3)")
    parser.add_argument("--tributary", default=os.path.join(ROOT, ".build-bench", "release", "tributary"))
    parser.add_argument("--kcat", default="kcat")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a run is killed")
    parser.add_argument("--json", help="write every run and the medians to this file")
    parser.add_argument("--agent-setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a producer setting for `tributary run` beyond its defaults (repeatable)")
    parser.add_argument("--produce-setting", action="append", default=[], metavar="KEY=VALUE",
                        help="a further -X setting for `tributary produce` (repeatable)")
    parser.add_argument("--wrap", default="", help="a command to run tributary under, e.g. "
                        "'perf record -g -o perf.data' (its CPU and RSS are then the wrapper's)")
    args = parser.parse_args(argv)
    args.tributary = os.path.abspath(args.tributary)
    args.kcat = shutil.which(args.kcat) or args.kcat
    for label, path in (("kcat", args.kcat), ("tributary", args.tributary)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"bench: FAILED: {label} not found or not executable: {path}")
            return 2

    work = tempfile.mkdtemp(prefix="tributary-bench-agent-")
    cluster = None
    results = []
    failures = []
    try:
        become_subreaper()
        input_path = os.path.join(work, "input.log")
        size = write_input(input_path, args.records, args.record_size)
        cluster = Cluster(sys.executable, args.brokers, os.path.join(work, "cluster.stderr"))
        kcat_version = subprocess.run([args.kcat, "-V"], capture_output=True, text=True).stdout.splitlines()
        print(f"machine: {len(os.sched_getaffinity(0))} cores, {cpu_model()}")
        print(f"kcat: {kcat_version[0] if kcat_version else '?'}")
        print(f"input: {args.records:,} lines x {args.record_size} B + newline = {size:,} bytes; "
              f"{args.brokers} mock brokers, {args.partitions} partitions per topic, fresh topic per run\n", flush=True)
        serial = 0
        for mode in args.modes.split(","):
            for acks in args.acks.split(","):
                for codec in args.codecs.split(","):
                    entries = contenders(args, cluster.bootstrap, mode, codec, acks)
                    runs = {name: [] for name, _ in entries}
                    for round_ in range(args.repeat):
                        # Alternate who goes first, so neither always meets a warm or a tired machine.
                        order = entries if round_ % 2 == 0 else list(reversed(entries))
                        for name, make in order:
                            serial += 1
                            topic = f"bench-{serial}"
                            cluster.command(cmd="create_topic", topic=topic, partitions=args.partitions)
                            kind, argv_, stdin_path = make(topic, input_path)
                            if kind == "agent":
                                run = run_agent(args, cluster, work, topic, codec, acks, input_path)
                            else:
                                run = run_stdin(args, argv_, cluster, topic, stdin_path)
                            run["delivered"] = high_watermarks(cluster, topic)
                            ok = run["wall"] is not None and run["delivered"] == args.records and (
                                run["exit"] == 0)
                            print(f"{mode:5} acks={acks:3} {codec:5} {name:18} wall "
                                  f"{run['wall'] or float('nan'):6.2f} s  cpu {run['cpu']:5.2f} s  "
                                  f"rss {run['rss_mib']:6.1f} MiB  delivered {run['delivered']}"
                                  f"{'' if ok else '  FAILED (exit %d)' % run['exit']}", flush=True)
                            if not ok:
                                failures.append(f"{mode} acks={acks} {codec} {name}: delivered "
                                                f"{run['delivered']}, exit {run['exit']}\n{run['stderr']}")
                                continue
                            runs[name].append(run)
                    if any(not r for r in runs.values()):
                        continue
                    reference = runs[entries[0][0]]
                    for name, _ in entries:
                        mine = runs[name]
                        results.append({
                            "mode": mode, "acks": acks, "codec": codec, "contender": name,
                            "runs": [{k: r[k] for k in ("wall", "cpu", "user", "sys", "rss_mib")} for r in mine],
                            "records_per_s": args.records / median(mine, "wall"),
                            "mb_per_s": size / median(mine, "wall") / 1e6,
                            "cpu_s": median(mine, "cpu"),
                            "cpu_s_per_million": median(mine, "cpu") / args.records * 1e6,
                            "peak_rss_mib": median(mine, "rss_mib"),
                            "throughput_vs_kcat": median(reference, "wall") / median(mine, "wall"),
                            "cpu_vs_kcat": median(mine, "cpu") / median(reference, "cpu"),
                            "rss_vs_kcat": median(mine, "rss_mib") / median(reference, "rss_mib"),
                        })
        print(f"\nmedians of {args.repeat}; ratios against kcat in the same setting "
              "(throughput: higher is faster; CPU and RSS: lower is leaner)\n")
        header = "| mode | acks | codec | contender | lines/s | MB/s | CPU s | CPU s per M | peak RSS MiB | thr vs kcat | CPU vs kcat | RSS vs kcat |"
        print(header)
        print("|" + "---|" * 4 + "---:|" * 8)
        for r in results:
            print(f"| {r['mode']} | {r['acks']} | {r['codec']} | {r['contender']} | {r['records_per_s'] / 1e6:.2f} M | "
                  f"{r['mb_per_s']:.0f} | {r['cpu_s']:.2f} | {r['cpu_s_per_million']:.2f} | {r['peak_rss_mib']:.1f} | "
                  f"{r['throughput_vs_kcat']:.2f}× | {r['cpu_vs_kcat']:.2f}× | {r['rss_vs_kcat']:.2f}× |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"records": args.records, "record_size": args.record_size, "brokers": args.brokers,
                           "partitions": args.partitions, "results": results}, f, indent=1)
        for failure in failures:
            print("\nFAILED: " + failure)
        return 1 if failures else 0
    except BenchError as error:
        print(f"bench: FAILED: {error}")
        return 1
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
