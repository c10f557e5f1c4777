public enum _KafkaTestClusterPlaceholder {}
