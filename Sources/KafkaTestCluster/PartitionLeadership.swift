/// A partition's leader and replicas, as a fresh Metadata response reports them.
public struct PartitionLeadership: Sendable, Hashable {
    /// The partition.
    public var partition: Int32
    /// The leader's broker id, or -1 when leaderless.
    public var leader: Int32
    /// The replica broker ids.
    public var replicas: [Int32]
    /// The in-sync replica broker ids (the mock reports every replica).
    public var inSyncReplicas: [Int32]

    /// Creates a leadership description.
    public init(partition: Int32, leader: Int32, replicas: [Int32], inSyncReplicas: [Int32]) {
        self.partition = partition
        self.leader = leader
        self.replicas = replicas
        self.inSyncReplicas = inSyncReplicas
    }
}
