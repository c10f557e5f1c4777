import Testing

/// The tests of the `tributary` binary, one at a time: each starts agents and a cluster of its
/// own, and side by side they would only slow each other's timings down on a small machine.
@Suite("the tributary binary", .serialized)
enum AgentBinaryTests {}
