#!/usr/bin/env python3
"""Shows that scripts/kafka_security_front.py behaves as a secured broker would, using two
clients independent of Tributary: librdkafka (confluent-kafka) and kafka-python.

For TLS, mutual TLS, SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (the SASL ones over plain TCP
and SCRAM-SHA-512 also over TLS) each client must deliver a record with the right credentials
and be refused with a wrong password, a wrong CA or a missing client certificate. The records
must then be in the broker behind the front. Exits non-zero, naming the case, when any
expectation fails. Usage: check_security_front.py CERT_DIR (from make_test_certs.sh).
"""

import concurrent.futures
import json
import logging
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_test_cluster  # noqa: E402

FRONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka_security_front.py")
failures = []


def expect(condition, case):
    print(("ok     " if condition else "FAILED ") + case, flush=True)
    if not condition:
        failures.append(case)


class Front:
    def __init__(self, upstream, *arguments):
        self.process = subprocess.Popen(
            [sys.executable, FRONT, "--upstream", upstream, *arguments],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = json.loads(self.process.stdout.readline())["port"]

    def stats(self):
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        self.process.stdin.close()
        self.process.wait(10)


def delivers(client, port, config):
    """Whether `client` delivers one record through the front, run in a process of its own (the
    two client libraries are never loaded into one process)."""
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--client", client, str(port),
                             json.dumps(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            timeout=60)
    return result.stdout.strip() == "delivered"


def librdkafka_delivers(port, config):
    return delivers("librdkafka", port, config)


def kafka_python_delivers(port, config):
    return delivers("kafka-python", port, config)


def client_main(client, port, config):
    if client == "librdkafka":
        from confluent_kafka import Producer
        results = []
        producer = Producer({"bootstrap.servers": f"localhost:{port}", "message.timeout.ms": 1500, **config})
        producer.produce("checked", b"librdkafka", on_delivery=lambda error, message: results.append(error))
        producer.flush(3)
        print("delivered" if results == [None] else f"not delivered: {results}")
        return
    import kafka
    logging.getLogger("kafka").setLevel(logging.CRITICAL + 1)
    try:
        producer = kafka.KafkaProducer(bootstrap_servers=f"localhost:{port}", request_timeout_ms=1500,
                                       max_block_ms=1500, **config)
        producer.send("checked", b"kafka-python").get(timeout=5)
        producer.close(timeout=1)
        print("delivered")
    except Exception as error:
        print(f"not delivered: {error!r}")


def check_case(case, front_arguments, good_rd, good_py, bad):
    cluster = kafka_test_cluster.MockCluster(1)
    server = kafka_test_cluster.Server(cluster)
    broker = cluster.brokers()[0]
    server.create_topic({"topic": "checked", "partitions": 1})
    front = Front(f"{broker['host']}:{broker['port']}", *front_arguments)
    server.set_advertised_address({"broker": 1, "host": "localhost", "port": front.port})
    delivered = 0
    for client, config in (("librdkafka", good_rd), ("kafka-python", good_py)):
        ok = delivers(client, front.port, config)
        expect(ok, f"{case}: {client} delivers")
        delivered += ok
    for name, configs in bad.items():
        for client, config in zip(("librdkafka", "kafka-python"), configs):
            expect(not delivers(client, front.port, config), f"{case}: {client} refused with {name}")
    front.stop()
    # The verifier reads the broker itself, not through the front.
    server.set_advertised_address({"broker": 1, "host": broker["host"], "port": broker["port"]})
    stored = server.watermarks({"topic": "checked"})["partitions"][0]["high"]
    expect(stored == delivered, f"{case}: the broker behind the front holds the {delivered} delivered records "
                                f"(it holds {stored})")


def main():
    certs = sys.argv[1]
    cert = lambda name: os.path.join(certs, name)  # noqa: E731
    cases = []

    def run(case, front_arguments, good_rd, good_py, bad):
        cases.append((case, front_arguments, good_rd, good_py, bad))

    tls = ["--tls-cert", cert("server.pem"), "--tls-key", cert("server.key")]
    rd_tls = {"security.protocol": "SSL", "ssl.ca.location": cert("ca.pem")}
    py_tls = {"security_protocol": "SSL", "ssl_cafile": cert("ca.pem")}
    run("TLS", tls, rd_tls, py_tls, {
        "a wrong CA": ({**rd_tls, "ssl.ca.location": cert("other-ca.pem")},
                       {**py_tls, "ssl_cafile": cert("other-ca.pem")})})
    run("TLS, wrong host name", ["--tls-cert", cert("wrong-host.pem"), "--tls-key", cert("wrong-host.key")],
        {**rd_tls, "ssl.endpoint.identification.algorithm": "none"}, {**py_tls, "ssl_check_hostname": False},
        {"host name checking": (rd_tls, py_tls)})
    passphrase = open(cert("client.pass")).read().strip()
    rd_mtls = {**rd_tls, "ssl.certificate.location": cert("client.pem"), "ssl.key.location": cert("client.pem"),
               "ssl.key.password": passphrase}
    py_mtls = {**py_tls, "ssl_certfile": cert("client.pem"), "ssl_keyfile": cert("client.pem"),
               "ssl_password": passphrase}
    run("mutual TLS", tls + ["--tls-client-ca", cert("ca.pem")], rd_mtls, py_mtls,
        {"no client certificate": (rd_tls, py_tls)})
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        for protocol, extra_front, rd_base, py_base in (
                ("SASL_PLAINTEXT", [], {}, {}), ("SASL_SSL", tls, rd_tls, py_tls)):
            if protocol == "SASL_SSL" and mechanism != "SCRAM-SHA-512":
                continue
            rd = {**rd_base, "security.protocol": protocol, "sasl.mechanism": mechanism, "sasl.username": "alice",
                  "sasl.password": "alice-secret"}
            py = {**py_base, "security_protocol": protocol, "sasl_mechanism": mechanism,
                  "sasl_plain_username": "alice", "sasl_plain_password": "alice-secret"}
            run(f"{protocol} {mechanism}", extra_front + ["--sasl", mechanism, "--user", "alice:alice-secret"], rd, py,
                {"a wrong password": ({**rd, "sasl.password": "wrong"}, {**py, "sasl_plain_password": "wrong"})})
    # Each case has a cluster and a front of its own (the advertised address is per broker), so
    # that the cases, which mostly wait for refusals to time out, run side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(check_case, *case) for case in cases]:
            future.result()
    if failures:
        print(f"{len(failures)} expectation(s) failed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--client":
        client_main(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]))
    else:
        sys.exit(main())
