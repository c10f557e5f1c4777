"""Prints what the demo delivered: per topic, each record's partition, offset, key, headers and
value. Reads with librdkafka's consumer (CRC checks on).
Usage: demo_show.py BOOTSTRAP TOPIC [TOPIC ...]"""
import sys

from confluent_kafka import Consumer, TopicPartition

def show(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo", "enable.auto.commit": False,
                         "check.crcs": True})
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = sorted(metadata.topics[topic].partitions)
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions}
    total = sum(high - low for low, high in ends.values())
    print(f"== {topic}: {total} records")
    consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
    seen = 0
    while seen < total:
        message = consumer.poll(5)
        if message is None:
            break
        if message.error():
            continue
        seen += 1
        key = message.key().decode(errors="replace") if message.key() is not None else None
        headers = {k: (v or b"").decode(errors="replace") for k, v in (message.headers() or [])}
        value = message.value().decode(errors="replace")
        print(f"  p{message.partition()}@{message.offset()} key={key!r} headers={headers} {value}")
    consumer.close()


def main(argv):
    bootstrap, topics = argv[1], argv[2:]
    for topic in topics:
        show(bootstrap, topic)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
