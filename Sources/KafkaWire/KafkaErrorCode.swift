/// A broker error code, as in Apache Kafka's `org.apache.kafka.common.protocol.Errors`.
///
/// Every code Kafka defines has a static member named after Kafka's constant in lowerCamelCase
/// (`NOT_LEADER_OR_FOLLOWER` → `.notLeaderOrFollower`), and all of them live in one table with
/// Kafka's name, whether the Java client retries it and whether it makes the Java client
/// refresh metadata. A code this build does not know is still representable: its name is
/// `UNKNOWN_<n>` and it is not retriable.
///
/// Source: `Errors.java` and the exception classes of Kafka's trunk after 4.3 (codes −1…136;
/// 134–136 are newer than 4.3 and harmless to know). Retriable means the Java exception
/// extends `RetriableException`; invalidates metadata means it extends
/// `InvalidMetadataException` (which is itself retriable).
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The int16 on the wire.
    public let rawValue: Int16

    /// Any code, known or not.
    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// Kafka's UPPER_SNAKE name (`NOT_LEADER_OR_FOLLOWER`), or `UNKNOWN_<n>` for a code this
    /// build does not know.
    public var name: String { entry?.name ?? "UNKNOWN_\(rawValue)" }

    /// Whether the Java client treats it as transient and retries (the exception extends
    /// `RetriableException`). Unknown codes are not retriable.
    public var isRetriable: Bool { entry.map { $0.kind != .nonRetriable } ?? false }

    /// Whether the Java client also refreshes metadata before retrying (the exception extends
    /// `InvalidMetadataException`).
    public var invalidatesMetadata: Bool { entry?.kind == .invalidMetadata }

    /// Kafka's default message for the code, cut to its first sentence.
    public var summary: String { entry?.summary ?? "Error code \(rawValue) is not known to this client." }

    /// Whether the code is in the table.
    public var isKnown: Bool { entry != nil }

    /// `NOT_LEADER_OR_FOLLOWER (6)`.
    public var description: String { "\(name) (\(rawValue))" }

    /// Every code in the table, in numeric order.
    public static let allKnown: [KafkaErrorCode] = table.map { KafkaErrorCode(rawValue: $0.code) }

    private var entry: Entry? { Self.entries[rawValue] }
    private static let entries: [Int16: Entry] = Dictionary(uniqueKeysWithValues: table.map { ($0.code, $0) })
}

// MARK: - The codes

extension KafkaErrorCode {
    /// -1 `UNKNOWN_SERVER_ERROR` (not retriable).
    public static let unknownServerError = KafkaErrorCode(rawValue: -1)
    /// 0 `NONE` (not retriable).
    public static let none = KafkaErrorCode(rawValue: 0)
    /// 1 `OFFSET_OUT_OF_RANGE` (not retriable).
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    /// 2 `CORRUPT_MESSAGE` (retriable).
    public static let corruptMessage = KafkaErrorCode(rawValue: 2)
    /// 3 `UNKNOWN_TOPIC_OR_PARTITION` (retriable, refreshes metadata).
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    /// 4 `INVALID_FETCH_SIZE` (not retriable).
    public static let invalidFetchSize = KafkaErrorCode(rawValue: 4)
    /// 5 `LEADER_NOT_AVAILABLE` (retriable, refreshes metadata).
    public static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    /// 6 `NOT_LEADER_OR_FOLLOWER` (retriable, refreshes metadata).
    public static let notLeaderOrFollower = KafkaErrorCode(rawValue: 6)
    /// 7 `REQUEST_TIMED_OUT` (retriable).
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    /// 8 `BROKER_NOT_AVAILABLE` (not retriable).
    public static let brokerNotAvailable = KafkaErrorCode(rawValue: 8)
    /// 9 `REPLICA_NOT_AVAILABLE` (retriable, refreshes metadata).
    public static let replicaNotAvailable = KafkaErrorCode(rawValue: 9)
    /// 10 `MESSAGE_TOO_LARGE` (not retriable).
    public static let messageTooLarge = KafkaErrorCode(rawValue: 10)
    /// 11 `STALE_CONTROLLER_EPOCH` (not retriable).
    public static let staleControllerEpoch = KafkaErrorCode(rawValue: 11)
    /// 12 `OFFSET_METADATA_TOO_LARGE` (not retriable).
    public static let offsetMetadataTooLarge = KafkaErrorCode(rawValue: 12)
    /// 13 `NETWORK_EXCEPTION` (retriable, refreshes metadata).
    public static let networkException = KafkaErrorCode(rawValue: 13)
    /// 14 `COORDINATOR_LOAD_IN_PROGRESS` (retriable).
    public static let coordinatorLoadInProgress = KafkaErrorCode(rawValue: 14)
    /// 15 `COORDINATOR_NOT_AVAILABLE` (retriable).
    public static let coordinatorNotAvailable = KafkaErrorCode(rawValue: 15)
    /// 16 `NOT_COORDINATOR` (retriable).
    public static let notCoordinator = KafkaErrorCode(rawValue: 16)
    /// 17 `INVALID_TOPIC_EXCEPTION` (not retriable).
    public static let invalidTopicException = KafkaErrorCode(rawValue: 17)
    /// 18 `RECORD_LIST_TOO_LARGE` (not retriable).
    public static let recordListTooLarge = KafkaErrorCode(rawValue: 18)
    /// 19 `NOT_ENOUGH_REPLICAS` (retriable).
    public static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    /// 20 `NOT_ENOUGH_REPLICAS_AFTER_APPEND` (retriable).
    public static let notEnoughReplicasAfterAppend = KafkaErrorCode(rawValue: 20)
    /// 21 `INVALID_REQUIRED_ACKS` (not retriable).
    public static let invalidRequiredAcks = KafkaErrorCode(rawValue: 21)
    /// 22 `ILLEGAL_GENERATION` (not retriable).
    public static let illegalGeneration = KafkaErrorCode(rawValue: 22)
    /// 23 `INCONSISTENT_GROUP_PROTOCOL` (not retriable).
    public static let inconsistentGroupProtocol = KafkaErrorCode(rawValue: 23)
    /// 24 `INVALID_GROUP_ID` (not retriable).
    public static let invalidGroupId = KafkaErrorCode(rawValue: 24)
    /// 25 `UNKNOWN_MEMBER_ID` (not retriable).
    public static let unknownMemberId = KafkaErrorCode(rawValue: 25)
    /// 26 `INVALID_SESSION_TIMEOUT` (not retriable).
    public static let invalidSessionTimeout = KafkaErrorCode(rawValue: 26)
    /// 27 `REBALANCE_IN_PROGRESS` (not retriable).
    public static let rebalanceInProgress = KafkaErrorCode(rawValue: 27)
    /// 28 `INVALID_COMMIT_OFFSET_SIZE` (not retriable).
    public static let invalidCommitOffsetSize = KafkaErrorCode(rawValue: 28)
    /// 29 `TOPIC_AUTHORIZATION_FAILED` (not retriable).
    public static let topicAuthorizationFailed = KafkaErrorCode(rawValue: 29)
    /// 30 `GROUP_AUTHORIZATION_FAILED` (not retriable).
    public static let groupAuthorizationFailed = KafkaErrorCode(rawValue: 30)
    /// 31 `CLUSTER_AUTHORIZATION_FAILED` (not retriable).
    public static let clusterAuthorizationFailed = KafkaErrorCode(rawValue: 31)
    /// 32 `INVALID_TIMESTAMP` (not retriable).
    public static let invalidTimestamp = KafkaErrorCode(rawValue: 32)
    /// 33 `UNSUPPORTED_SASL_MECHANISM` (not retriable).
    public static let unsupportedSaslMechanism = KafkaErrorCode(rawValue: 33)
    /// 34 `ILLEGAL_SASL_STATE` (not retriable).
    public static let illegalSaslState = KafkaErrorCode(rawValue: 34)
    /// 35 `UNSUPPORTED_VERSION` (not retriable).
    public static let unsupportedVersion = KafkaErrorCode(rawValue: 35)
    /// 36 `TOPIC_ALREADY_EXISTS` (not retriable).
    public static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    /// 37 `INVALID_PARTITIONS` (not retriable).
    public static let invalidPartitions = KafkaErrorCode(rawValue: 37)
    /// 38 `INVALID_REPLICATION_FACTOR` (not retriable).
    public static let invalidReplicationFactor = KafkaErrorCode(rawValue: 38)
    /// 39 `INVALID_REPLICA_ASSIGNMENT` (not retriable).
    public static let invalidReplicaAssignment = KafkaErrorCode(rawValue: 39)
    /// 40 `INVALID_CONFIG` (not retriable).
    public static let invalidConfig = KafkaErrorCode(rawValue: 40)
    /// 41 `NOT_CONTROLLER` (retriable).
    public static let notController = KafkaErrorCode(rawValue: 41)
    /// 42 `INVALID_REQUEST` (not retriable).
    public static let invalidRequest = KafkaErrorCode(rawValue: 42)
    /// 43 `UNSUPPORTED_FOR_MESSAGE_FORMAT` (not retriable).
    public static let unsupportedForMessageFormat = KafkaErrorCode(rawValue: 43)
    /// 44 `POLICY_VIOLATION` (not retriable).
    public static let policyViolation = KafkaErrorCode(rawValue: 44)
    /// 45 `OUT_OF_ORDER_SEQUENCE_NUMBER` (not retriable).
    public static let outOfOrderSequenceNumber = KafkaErrorCode(rawValue: 45)
    /// 46 `DUPLICATE_SEQUENCE_NUMBER` (not retriable).
    public static let duplicateSequenceNumber = KafkaErrorCode(rawValue: 46)
    /// 47 `INVALID_PRODUCER_EPOCH` (not retriable).
    public static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    /// 48 `INVALID_TXN_STATE` (not retriable).
    public static let invalidTxnState = KafkaErrorCode(rawValue: 48)
    /// 49 `INVALID_PRODUCER_ID_MAPPING` (not retriable).
    public static let invalidProducerIdMapping = KafkaErrorCode(rawValue: 49)
    /// 50 `INVALID_TRANSACTION_TIMEOUT` (not retriable).
    public static let invalidTransactionTimeout = KafkaErrorCode(rawValue: 50)
    /// 51 `CONCURRENT_TRANSACTIONS` (retriable).
    public static let concurrentTransactions = KafkaErrorCode(rawValue: 51)
    /// 52 `TRANSACTION_COORDINATOR_FENCED` (not retriable).
    public static let transactionCoordinatorFenced = KafkaErrorCode(rawValue: 52)
    /// 53 `TRANSACTIONAL_ID_AUTHORIZATION_FAILED` (not retriable).
    public static let transactionalIdAuthorizationFailed = KafkaErrorCode(rawValue: 53)
    /// 54 `SECURITY_DISABLED` (not retriable).
    public static let securityDisabled = KafkaErrorCode(rawValue: 54)
    /// 55 `OPERATION_NOT_ATTEMPTED` (not retriable).
    public static let operationNotAttempted = KafkaErrorCode(rawValue: 55)
    /// 56 `KAFKA_STORAGE_ERROR` (retriable, refreshes metadata).
    public static let kafkaStorageError = KafkaErrorCode(rawValue: 56)
    /// 57 `LOG_DIR_NOT_FOUND` (not retriable).
    public static let logDirNotFound = KafkaErrorCode(rawValue: 57)
    /// 58 `SASL_AUTHENTICATION_FAILED` (not retriable).
    public static let saslAuthenticationFailed = KafkaErrorCode(rawValue: 58)
    /// 59 `UNKNOWN_PRODUCER_ID` (not retriable).
    public static let unknownProducerId = KafkaErrorCode(rawValue: 59)
    /// 60 `REASSIGNMENT_IN_PROGRESS` (not retriable).
    public static let reassignmentInProgress = KafkaErrorCode(rawValue: 60)
    /// 61 `DELEGATION_TOKEN_AUTH_DISABLED` (not retriable).
    public static let delegationTokenAuthDisabled = KafkaErrorCode(rawValue: 61)
    /// 62 `DELEGATION_TOKEN_NOT_FOUND` (not retriable).
    public static let delegationTokenNotFound = KafkaErrorCode(rawValue: 62)
    /// 63 `DELEGATION_TOKEN_OWNER_MISMATCH` (not retriable).
    public static let delegationTokenOwnerMismatch = KafkaErrorCode(rawValue: 63)
    /// 64 `DELEGATION_TOKEN_REQUEST_NOT_ALLOWED` (not retriable).
    public static let delegationTokenRequestNotAllowed = KafkaErrorCode(rawValue: 64)
    /// 65 `DELEGATION_TOKEN_AUTHORIZATION_FAILED` (not retriable).
    public static let delegationTokenAuthorizationFailed = KafkaErrorCode(rawValue: 65)
    /// 66 `DELEGATION_TOKEN_EXPIRED` (not retriable).
    public static let delegationTokenExpired = KafkaErrorCode(rawValue: 66)
    /// 67 `INVALID_PRINCIPAL_TYPE` (not retriable).
    public static let invalidPrincipalType = KafkaErrorCode(rawValue: 67)
    /// 68 `NON_EMPTY_GROUP` (not retriable).
    public static let nonEmptyGroup = KafkaErrorCode(rawValue: 68)
    /// 69 `GROUP_ID_NOT_FOUND` (not retriable).
    public static let groupIdNotFound = KafkaErrorCode(rawValue: 69)
    /// 70 `FETCH_SESSION_ID_NOT_FOUND` (retriable).
    public static let fetchSessionIdNotFound = KafkaErrorCode(rawValue: 70)
    /// 71 `INVALID_FETCH_SESSION_EPOCH` (retriable).
    public static let invalidFetchSessionEpoch = KafkaErrorCode(rawValue: 71)
    /// 72 `LISTENER_NOT_FOUND` (retriable, refreshes metadata).
    public static let listenerNotFound = KafkaErrorCode(rawValue: 72)
    /// 73 `TOPIC_DELETION_DISABLED` (not retriable).
    public static let topicDeletionDisabled = KafkaErrorCode(rawValue: 73)
    /// 74 `FENCED_LEADER_EPOCH` (retriable, refreshes metadata).
    public static let fencedLeaderEpoch = KafkaErrorCode(rawValue: 74)
    /// 75 `UNKNOWN_LEADER_EPOCH` (retriable).
    public static let unknownLeaderEpoch = KafkaErrorCode(rawValue: 75)
    /// 76 `UNSUPPORTED_COMPRESSION_TYPE` (not retriable).
    public static let unsupportedCompressionType = KafkaErrorCode(rawValue: 76)
    /// 77 `STALE_BROKER_EPOCH` (not retriable).
    public static let staleBrokerEpoch = KafkaErrorCode(rawValue: 77)
    /// 78 `OFFSET_NOT_AVAILABLE` (retriable).
    public static let offsetNotAvailable = KafkaErrorCode(rawValue: 78)
    /// 79 `MEMBER_ID_REQUIRED` (not retriable).
    public static let memberIdRequired = KafkaErrorCode(rawValue: 79)
    /// 80 `PREFERRED_LEADER_NOT_AVAILABLE` (retriable, refreshes metadata).
    public static let preferredLeaderNotAvailable = KafkaErrorCode(rawValue: 80)
    /// 81 `GROUP_MAX_SIZE_REACHED` (not retriable).
    public static let groupMaxSizeReached = KafkaErrorCode(rawValue: 81)
    /// 82 `FENCED_INSTANCE_ID` (not retriable).
    public static let fencedInstanceId = KafkaErrorCode(rawValue: 82)
    /// 83 `ELIGIBLE_LEADERS_NOT_AVAILABLE` (retriable, refreshes metadata).
    public static let eligibleLeadersNotAvailable = KafkaErrorCode(rawValue: 83)
    /// 84 `ELECTION_NOT_NEEDED` (retriable, refreshes metadata).
    public static let electionNotNeeded = KafkaErrorCode(rawValue: 84)
    /// 85 `NO_REASSIGNMENT_IN_PROGRESS` (not retriable).
    public static let noReassignmentInProgress = KafkaErrorCode(rawValue: 85)
    /// 86 `GROUP_SUBSCRIBED_TO_TOPIC` (not retriable).
    public static let groupSubscribedToTopic = KafkaErrorCode(rawValue: 86)
    /// 87 `INVALID_RECORD` (not retriable).
    public static let invalidRecord = KafkaErrorCode(rawValue: 87)
    /// 88 `UNSTABLE_OFFSET_COMMIT` (retriable).
    public static let unstableOffsetCommit = KafkaErrorCode(rawValue: 88)
    /// 89 `THROTTLING_QUOTA_EXCEEDED` (retriable).
    public static let throttlingQuotaExceeded = KafkaErrorCode(rawValue: 89)
    /// 90 `PRODUCER_FENCED` (not retriable).
    public static let producerFenced = KafkaErrorCode(rawValue: 90)
    /// 91 `RESOURCE_NOT_FOUND` (not retriable).
    public static let resourceNotFound = KafkaErrorCode(rawValue: 91)
    /// 92 `DUPLICATE_RESOURCE` (not retriable).
    public static let duplicateResource = KafkaErrorCode(rawValue: 92)
    /// 93 `UNACCEPTABLE_CREDENTIAL` (not retriable).
    public static let unacceptableCredential = KafkaErrorCode(rawValue: 93)
    /// 94 `INCONSISTENT_VOTER_SET` (not retriable).
    public static let inconsistentVoterSet = KafkaErrorCode(rawValue: 94)
    /// 95 `INVALID_UPDATE_VERSION` (not retriable).
    public static let invalidUpdateVersion = KafkaErrorCode(rawValue: 95)
    /// 96 `FEATURE_UPDATE_FAILED` (not retriable).
    public static let featureUpdateFailed = KafkaErrorCode(rawValue: 96)
    /// 97 `PRINCIPAL_DESERIALIZATION_FAILURE` (not retriable).
    public static let principalDeserializationFailure = KafkaErrorCode(rawValue: 97)
    /// 98 `SNAPSHOT_NOT_FOUND` (not retriable).
    public static let snapshotNotFound = KafkaErrorCode(rawValue: 98)
    /// 99 `POSITION_OUT_OF_RANGE` (not retriable).
    public static let positionOutOfRange = KafkaErrorCode(rawValue: 99)
    /// 100 `UNKNOWN_TOPIC_ID` (retriable, refreshes metadata).
    public static let unknownTopicId = KafkaErrorCode(rawValue: 100)
    /// 101 `DUPLICATE_BROKER_REGISTRATION` (not retriable).
    public static let duplicateBrokerRegistration = KafkaErrorCode(rawValue: 101)
    /// 102 `BROKER_ID_NOT_REGISTERED` (not retriable).
    public static let brokerIdNotRegistered = KafkaErrorCode(rawValue: 102)
    /// 103 `INCONSISTENT_TOPIC_ID` (retriable, refreshes metadata).
    public static let inconsistentTopicId = KafkaErrorCode(rawValue: 103)
    /// 104 `INCONSISTENT_CLUSTER_ID` (not retriable).
    public static let inconsistentClusterId = KafkaErrorCode(rawValue: 104)
    /// 105 `TRANSACTIONAL_ID_NOT_FOUND` (not retriable).
    public static let transactionalIdNotFound = KafkaErrorCode(rawValue: 105)
    /// 106 `FETCH_SESSION_TOPIC_ID_ERROR` (retriable).
    public static let fetchSessionTopicIdError = KafkaErrorCode(rawValue: 106)
    /// 107 `INELIGIBLE_REPLICA` (not retriable).
    public static let ineligibleReplica = KafkaErrorCode(rawValue: 107)
    /// 108 `NEW_LEADER_ELECTED` (not retriable).
    public static let newLeaderElected = KafkaErrorCode(rawValue: 108)
    /// 109 `OFFSET_MOVED_TO_TIERED_STORAGE` (not retriable).
    public static let offsetMovedToTieredStorage = KafkaErrorCode(rawValue: 109)
    /// 110 `FENCED_MEMBER_EPOCH` (not retriable).
    public static let fencedMemberEpoch = KafkaErrorCode(rawValue: 110)
    /// 111 `UNRELEASED_INSTANCE_ID` (not retriable).
    public static let unreleasedInstanceId = KafkaErrorCode(rawValue: 111)
    /// 112 `UNSUPPORTED_ASSIGNOR` (not retriable).
    public static let unsupportedAssignor = KafkaErrorCode(rawValue: 112)
    /// 113 `STALE_MEMBER_EPOCH` (not retriable).
    public static let staleMemberEpoch = KafkaErrorCode(rawValue: 113)
    /// 114 `MISMATCHED_ENDPOINT_TYPE` (not retriable).
    public static let mismatchedEndpointType = KafkaErrorCode(rawValue: 114)
    /// 115 `UNSUPPORTED_ENDPOINT_TYPE` (not retriable).
    public static let unsupportedEndpointType = KafkaErrorCode(rawValue: 115)
    /// 116 `UNKNOWN_CONTROLLER_ID` (not retriable).
    public static let unknownControllerId = KafkaErrorCode(rawValue: 116)
    /// 117 `UNKNOWN_SUBSCRIPTION_ID` (not retriable).
    public static let unknownSubscriptionId = KafkaErrorCode(rawValue: 117)
    /// 118 `TELEMETRY_TOO_LARGE` (not retriable).
    public static let telemetryTooLarge = KafkaErrorCode(rawValue: 118)
    /// 119 `INVALID_REGISTRATION` (not retriable).
    public static let invalidRegistration = KafkaErrorCode(rawValue: 119)
    /// 120 `TRANSACTION_ABORTABLE` (not retriable).
    public static let transactionAbortable = KafkaErrorCode(rawValue: 120)
    /// 121 `INVALID_RECORD_STATE` (not retriable).
    public static let invalidRecordState = KafkaErrorCode(rawValue: 121)
    /// 122 `SHARE_SESSION_NOT_FOUND` (retriable).
    public static let shareSessionNotFound = KafkaErrorCode(rawValue: 122)
    /// 123 `INVALID_SHARE_SESSION_EPOCH` (retriable).
    public static let invalidShareSessionEpoch = KafkaErrorCode(rawValue: 123)
    /// 124 `FENCED_STATE_EPOCH` (not retriable).
    public static let fencedStateEpoch = KafkaErrorCode(rawValue: 124)
    /// 125 `INVALID_VOTER_KEY` (not retriable).
    public static let invalidVoterKey = KafkaErrorCode(rawValue: 125)
    /// 126 `DUPLICATE_VOTER` (not retriable).
    public static let duplicateVoter = KafkaErrorCode(rawValue: 126)
    /// 127 `VOTER_NOT_FOUND` (not retriable).
    public static let voterNotFound = KafkaErrorCode(rawValue: 127)
    /// 128 `INVALID_REGULAR_EXPRESSION` (not retriable).
    public static let invalidRegularExpression = KafkaErrorCode(rawValue: 128)
    /// 129 `REBOOTSTRAP_REQUIRED` (not retriable).
    public static let rebootstrapRequired = KafkaErrorCode(rawValue: 129)
    /// 130 `STREAMS_INVALID_TOPOLOGY` (not retriable).
    public static let streamsInvalidTopology = KafkaErrorCode(rawValue: 130)
    /// 131 `STREAMS_INVALID_TOPOLOGY_EPOCH` (not retriable).
    public static let streamsInvalidTopologyEpoch = KafkaErrorCode(rawValue: 131)
    /// 132 `STREAMS_TOPOLOGY_FENCED` (not retriable).
    public static let streamsTopologyFenced = KafkaErrorCode(rawValue: 132)
    /// 133 `SHARE_SESSION_LIMIT_REACHED` (retriable).
    public static let shareSessionLimitReached = KafkaErrorCode(rawValue: 133)
    /// 134 `GROUP_DELETION_FAILED` (not retriable).
    public static let groupDeletionFailed = KafkaErrorCode(rawValue: 134)
    /// 135 `STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED` (not retriable).
    public static let streamsTopologyDescriptionUpdateFailed = KafkaErrorCode(rawValue: 135)
    /// 136 `CONTROLLER_ID_NOT_REGISTERED` (not retriable).
    public static let controllerIdNotRegistered = KafkaErrorCode(rawValue: 136)
}

// MARK: - The table

extension KafkaErrorCode {
    /// How the Java client classifies a code's exception.
    fileprivate enum Kind {
        /// Not a `RetriableException`: the Java producer fails the batch.
        case nonRetriable
        /// A `RetriableException`.
        case retriable
        /// An `InvalidMetadataException`: retriable, and the client refreshes metadata first.
        case invalidMetadata
    }

    fileprivate struct Entry {
        var code: Int16
        var name: String
        var kind: Kind
        var summary: String

        init(_ code: Int16, _ name: String, _ kind: Kind, _ summary: String) {
            self.code = code
            self.name = name
            self.kind = kind
            self.summary = summary
        }
    }

    /// The one table: code, Kafka's name, the Java exception's class, Kafka's default message
    /// (first sentence). In numeric order.
    fileprivate static let table: [Entry] = [
        Entry(
            -1, "UNKNOWN_SERVER_ERROR", .nonRetriable,
            "The server experienced an unexpected error when processing the request."),
        Entry(0, "NONE", .nonRetriable, "No error."),
        Entry(
            1, "OFFSET_OUT_OF_RANGE", .nonRetriable,
            "The requested offset is not within the range of offsets maintained by the server."),
        Entry(
            2, "CORRUPT_MESSAGE", .retriable,
            "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt."
        ),
        Entry(
            3, "UNKNOWN_TOPIC_OR_PARTITION", .invalidMetadata,
            "This server does not host this topic-partition."),
        Entry(4, "INVALID_FETCH_SIZE", .nonRetriable, "The requested fetch size is invalid."),
        Entry(
            5, "LEADER_NOT_AVAILABLE", .invalidMetadata,
            "There is no leader for this topic-partition as we are in the middle of a leadership election."),
        Entry(
            6, "NOT_LEADER_OR_FOLLOWER", .invalidMetadata,
            "For requests intended only for the leader, this error indicates that the broker is not the current leader."
        ),
        Entry(7, "REQUEST_TIMED_OUT", .retriable, "The request timed out."),
        Entry(8, "BROKER_NOT_AVAILABLE", .nonRetriable, "The broker is not available."),
        Entry(
            9, "REPLICA_NOT_AVAILABLE", .invalidMetadata,
            "The replica is not available for the requested topic-partition."),
        Entry(
            10, "MESSAGE_TOO_LARGE", .nonRetriable,
            "The request included a message larger than the max message size the server will accept."),
        Entry(11, "STALE_CONTROLLER_EPOCH", .nonRetriable, "The controller moved to another broker."),
        Entry(
            12, "OFFSET_METADATA_TOO_LARGE", .nonRetriable,
            "The metadata field of the offset request was too large."),
        Entry(
            13, "NETWORK_EXCEPTION", .invalidMetadata,
            "The server disconnected before a response was received."),
        Entry(
            14, "COORDINATOR_LOAD_IN_PROGRESS", .retriable,
            "The coordinator is loading and hence can't process requests."),
        Entry(15, "COORDINATOR_NOT_AVAILABLE", .retriable, "The coordinator is not available."),
        Entry(16, "NOT_COORDINATOR", .retriable, "This is not the correct coordinator."),
        Entry(
            17, "INVALID_TOPIC_EXCEPTION", .nonRetriable,
            "The request attempted to perform an operation on an invalid topic."),
        Entry(
            18, "RECORD_LIST_TOO_LARGE", .nonRetriable,
            "The request included message batch larger than the configured segment size on the server."),
        Entry(
            19, "NOT_ENOUGH_REPLICAS", .retriable,
            "Messages are rejected since there are fewer in-sync replicas than required."),
        Entry(
            20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", .retriable,
            "Messages are written to the log, but to fewer in-sync replicas than required."),
        Entry(
            21, "INVALID_REQUIRED_ACKS", .nonRetriable,
            "Produce request specified an invalid value for required acks."),
        Entry(22, "ILLEGAL_GENERATION", .nonRetriable, "Specified group generation id is not valid."),
        Entry(
            23, "INCONSISTENT_GROUP_PROTOCOL", .nonRetriable,
            "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list."
        ),
        Entry(24, "INVALID_GROUP_ID", .nonRetriable, "The group id is invalid."),
        Entry(25, "UNKNOWN_MEMBER_ID", .nonRetriable, "The coordinator is not aware of this member."),
        Entry(
            26, "INVALID_SESSION_TIMEOUT", .nonRetriable,
            "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms)."
        ),
        Entry(27, "REBALANCE_IN_PROGRESS", .nonRetriable, "The group is rebalancing, so a rejoin is needed."),
        Entry(
            28, "INVALID_COMMIT_OFFSET_SIZE", .nonRetriable,
            "The committing offset data size is not valid."),
        Entry(29, "TOPIC_AUTHORIZATION_FAILED", .nonRetriable, "Topic authorization failed."),
        Entry(30, "GROUP_AUTHORIZATION_FAILED", .nonRetriable, "Group authorization failed."),
        Entry(31, "CLUSTER_AUTHORIZATION_FAILED", .nonRetriable, "Cluster authorization failed."),
        Entry(
            32, "INVALID_TIMESTAMP", .nonRetriable,
            "The timestamp of the message is out of acceptable range."),
        Entry(
            33, "UNSUPPORTED_SASL_MECHANISM", .nonRetriable,
            "The broker does not support the requested SASL mechanism."),
        Entry(34, "ILLEGAL_SASL_STATE", .nonRetriable, "Request is not valid given the current SASL state."),
        Entry(35, "UNSUPPORTED_VERSION", .nonRetriable, "The version of API is not supported."),
        Entry(36, "TOPIC_ALREADY_EXISTS", .nonRetriable, "Topic with this name already exists."),
        Entry(37, "INVALID_PARTITIONS", .nonRetriable, "Number of partitions is below 1."),
        Entry(
            38, "INVALID_REPLICATION_FACTOR", .nonRetriable,
            "Replication factor is below 1 or larger than the number of available brokers."),
        Entry(39, "INVALID_REPLICA_ASSIGNMENT", .nonRetriable, "Replica assignment is invalid."),
        Entry(40, "INVALID_CONFIG", .nonRetriable, "Configuration is invalid."),
        Entry(41, "NOT_CONTROLLER", .retriable, "This is not the correct controller for this cluster."),
        Entry(
            42, "INVALID_REQUEST", .nonRetriable,
            "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker."
        ),
        Entry(
            43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", .nonRetriable,
            "The message format version on the broker does not support the request."),
        Entry(
            44, "POLICY_VIOLATION", .nonRetriable,
            "Request parameters do not satisfy the configured policy."),
        Entry(
            45, "OUT_OF_ORDER_SEQUENCE_NUMBER", .nonRetriable,
            "The broker received an out of order sequence number."),
        Entry(
            46, "DUPLICATE_SEQUENCE_NUMBER", .nonRetriable,
            "The broker received a duplicate sequence number."),
        Entry(
            47, "INVALID_PRODUCER_EPOCH", .nonRetriable,
            "Producer attempted to produce with an old epoch."),
        Entry(
            48, "INVALID_TXN_STATE", .nonRetriable,
            "The producer attempted a transactional operation in an invalid state."),
        Entry(
            49, "INVALID_PRODUCER_ID_MAPPING", .nonRetriable,
            "The producer attempted to use a producer id which is not currently assigned to its transactional id."),
        Entry(
            50, "INVALID_TRANSACTION_TIMEOUT", .nonRetriable,
            "The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms)."
        ),
        Entry(
            51, "CONCURRENT_TRANSACTIONS", .retriable,
            "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing."
        ),
        Entry(
            52, "TRANSACTION_COORDINATOR_FENCED", .nonRetriable,
            "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer."
        ),
        Entry(
            53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", .nonRetriable,
            "Transactional Id authorization failed."),
        Entry(54, "SECURITY_DISABLED", .nonRetriable, "Security features are disabled."),
        Entry(
            55, "OPERATION_NOT_ATTEMPTED", .nonRetriable,
            "The broker did not attempt to execute this operation."),
        Entry(
            56, "KAFKA_STORAGE_ERROR", .invalidMetadata,
            "Disk error when trying to access log file on the disk."),
        Entry(
            57, "LOG_DIR_NOT_FOUND", .nonRetriable,
            "The user-specified log directory is not found in the broker config."),
        Entry(58, "SASL_AUTHENTICATION_FAILED", .nonRetriable, "SASL Authentication failed."),
        Entry(
            59, "UNKNOWN_PRODUCER_ID", .nonRetriable,
            "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question."
        ),
        Entry(60, "REASSIGNMENT_IN_PROGRESS", .nonRetriable, "A partition reassignment is in progress."),
        Entry(
            61, "DELEGATION_TOKEN_AUTH_DISABLED", .nonRetriable,
            "Delegation Token feature is not enabled."),
        Entry(62, "DELEGATION_TOKEN_NOT_FOUND", .nonRetriable, "Delegation Token is not found on server."),
        Entry(
            63, "DELEGATION_TOKEN_OWNER_MISMATCH", .nonRetriable,
            "Specified Principal is not valid Owner/Renewer."),
        Entry(
            64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", .nonRetriable,
            "Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels."
        ),
        Entry(
            65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", .nonRetriable,
            "Delegation Token authorization failed."),
        Entry(66, "DELEGATION_TOKEN_EXPIRED", .nonRetriable, "Delegation Token is expired."),
        Entry(67, "INVALID_PRINCIPAL_TYPE", .nonRetriable, "Supplied principalType is not supported."),
        Entry(68, "NON_EMPTY_GROUP", .nonRetriable, "The group is not empty."),
        Entry(69, "GROUP_ID_NOT_FOUND", .nonRetriable, "The group id does not exist."),
        Entry(70, "FETCH_SESSION_ID_NOT_FOUND", .retriable, "The fetch session ID was not found."),
        Entry(71, "INVALID_FETCH_SESSION_EPOCH", .retriable, "The fetch session epoch is invalid."),
        Entry(
            72, "LISTENER_NOT_FOUND", .invalidMetadata,
            "There is no listener on the leader broker that matches the listener on which metadata request was processed."
        ),
        Entry(73, "TOPIC_DELETION_DISABLED", .nonRetriable, "Topic deletion is disabled."),
        Entry(
            74, "FENCED_LEADER_EPOCH", .invalidMetadata,
            "The leader epoch in the request is older than the epoch on the broker."),
        Entry(
            75, "UNKNOWN_LEADER_EPOCH", .retriable,
            "The leader epoch in the request is newer than the epoch on the broker."),
        Entry(
            76, "UNSUPPORTED_COMPRESSION_TYPE", .nonRetriable,
            "The requesting client does not support the compression type of given partition."),
        Entry(77, "STALE_BROKER_EPOCH", .nonRetriable, "Broker epoch has changed."),
        Entry(
            78, "OFFSET_NOT_AVAILABLE", .retriable,
            "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing."
        ),
        Entry(
            79, "MEMBER_ID_REQUIRED", .nonRetriable,
            "The group member needs to have a valid member id before actually entering a consumer group."),
        Entry(
            80, "PREFERRED_LEADER_NOT_AVAILABLE", .invalidMetadata,
            "The preferred leader was not available."),
        Entry(81, "GROUP_MAX_SIZE_REACHED", .nonRetriable, "The group has reached its maximum size."),
        Entry(
            82, "FENCED_INSTANCE_ID", .nonRetriable,
            "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id."
        ),
        Entry(
            83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", .invalidMetadata,
            "Eligible topic partition leaders are not available."),
        Entry(84, "ELECTION_NOT_NEEDED", .invalidMetadata, "Leader election not needed for topic partition."),
        Entry(85, "NO_REASSIGNMENT_IN_PROGRESS", .nonRetriable, "No partition reassignment is in progress."),
        Entry(
            86, "GROUP_SUBSCRIBED_TO_TOPIC", .nonRetriable,
            "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."),
        Entry(
            87, "INVALID_RECORD", .nonRetriable,
            "This record has failed the validation on broker and hence will be rejected."),
        Entry(
            88, "UNSTABLE_OFFSET_COMMIT", .retriable,
            "There are unstable offsets that need to be cleared."),
        Entry(89, "THROTTLING_QUOTA_EXCEEDED", .retriable, "The throttling quota has been exceeded."),
        Entry(
            90, "PRODUCER_FENCED", .nonRetriable,
            "There is a newer producer with the same transactionalId which fences the current one."),
        Entry(
            91, "RESOURCE_NOT_FOUND", .nonRetriable,
            "A request illegally referred to a resource that does not exist."),
        Entry(
            92, "DUPLICATE_RESOURCE", .nonRetriable,
            "A request illegally referred to the same resource twice."),
        Entry(
            93, "UNACCEPTABLE_CREDENTIAL", .nonRetriable,
            "Requested credential would not meet criteria for acceptability."),
        Entry(
            94, "INCONSISTENT_VOTER_SET", .nonRetriable,
            "Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters."
        ),
        Entry(95, "INVALID_UPDATE_VERSION", .nonRetriable, "The given update version was invalid."),
        Entry(
            96, "FEATURE_UPDATE_FAILED", .nonRetriable,
            "Unable to update finalized features due to an unexpected server error."),
        Entry(
            97, "PRINCIPAL_DESERIALIZATION_FAILURE", .nonRetriable,
            "Request principal deserialization failed during forwarding."),
        Entry(98, "SNAPSHOT_NOT_FOUND", .nonRetriable, "Requested snapshot was not found."),
        Entry(
            99, "POSITION_OUT_OF_RANGE", .nonRetriable,
            "Requested position is not greater than or equal to zero, and less than the size of the snapshot."),
        Entry(100, "UNKNOWN_TOPIC_ID", .invalidMetadata, "This server does not host this topic ID."),
        Entry(101, "DUPLICATE_BROKER_REGISTRATION", .nonRetriable, "This broker ID is already in use."),
        Entry(102, "BROKER_ID_NOT_REGISTERED", .nonRetriable, "The given broker ID was not registered."),
        Entry(
            103, "INCONSISTENT_TOPIC_ID", .invalidMetadata,
            "The log's topic ID did not match the topic ID in the request."),
        Entry(
            104, "INCONSISTENT_CLUSTER_ID", .nonRetriable,
            "The clusterId in the request does not match that found on the server."),
        Entry(105, "TRANSACTIONAL_ID_NOT_FOUND", .nonRetriable, "The transactionalId could not be found."),
        Entry(
            106, "FETCH_SESSION_TOPIC_ID_ERROR", .retriable,
            "The fetch session encountered inconsistent topic ID usage."),
        Entry(
            107, "INELIGIBLE_REPLICA", .nonRetriable,
            "The new ISR contains at least one ineligible replica."),
        Entry(
            108, "NEW_LEADER_ELECTED", .nonRetriable,
            "The AlterPartition request successfully updated the partition state but the leader has changed."),
        Entry(
            109, "OFFSET_MOVED_TO_TIERED_STORAGE", .nonRetriable,
            "The requested offset is moved to tiered storage."),
        Entry(
            110, "FENCED_MEMBER_EPOCH", .nonRetriable,
            "The member epoch is fenced by the group coordinator."),
        Entry(
            111, "UNRELEASED_INSTANCE_ID", .nonRetriable,
            "The instance ID is still used by another member in the consumer group."),
        Entry(
            112, "UNSUPPORTED_ASSIGNOR", .nonRetriable,
            "The assignor or its version range is not supported by the consumer group."),
        Entry(113, "STALE_MEMBER_EPOCH", .nonRetriable, "The member epoch is stale."),
        Entry(
            114, "MISMATCHED_ENDPOINT_TYPE", .nonRetriable,
            "The request was sent to an endpoint of the wrong type."),
        Entry(115, "UNSUPPORTED_ENDPOINT_TYPE", .nonRetriable, "This endpoint type is not supported yet."),
        Entry(116, "UNKNOWN_CONTROLLER_ID", .nonRetriable, "This controller ID is not known."),
        Entry(
            117, "UNKNOWN_SUBSCRIPTION_ID", .nonRetriable,
            "Client sent a push telemetry request with an invalid or outdated subscription ID."),
        Entry(
            118, "TELEMETRY_TOO_LARGE", .nonRetriable,
            "Client sent a push telemetry request larger than the maximum size the broker will accept."),
        Entry(
            119, "INVALID_REGISTRATION", .nonRetriable,
            "The controller has considered the broker registration to be invalid."),
        Entry(
            120, "TRANSACTION_ABORTABLE", .nonRetriable,
            "The server encountered an error with the transaction."),
        Entry(121, "INVALID_RECORD_STATE", .nonRetriable, "The record state is invalid."),
        Entry(122, "SHARE_SESSION_NOT_FOUND", .retriable, "The share session was not found."),
        Entry(123, "INVALID_SHARE_SESSION_EPOCH", .retriable, "The share session epoch is invalid."),
        Entry(
            124, "FENCED_STATE_EPOCH", .nonRetriable,
            "The coordinator rejected the request because the state epoch did not match."),
        Entry(
            125, "INVALID_VOTER_KEY", .nonRetriable,
            "The voter key doesn't match the receiving replica's key."),
        Entry(126, "DUPLICATE_VOTER", .nonRetriable, "The voter is already part of the set of voters."),
        Entry(127, "VOTER_NOT_FOUND", .nonRetriable, "The voter is not part of the set of voters."),
        Entry(128, "INVALID_REGULAR_EXPRESSION", .nonRetriable, "The regular expression is not valid."),
        Entry(129, "REBOOTSTRAP_REQUIRED", .nonRetriable, "Client metadata is stale."),
        Entry(130, "STREAMS_INVALID_TOPOLOGY", .nonRetriable, "The supplied topology is invalid."),
        Entry(
            131, "STREAMS_INVALID_TOPOLOGY_EPOCH", .nonRetriable,
            "The supplied topology epoch is invalid."),
        Entry(132, "STREAMS_TOPOLOGY_FENCED", .nonRetriable, "The supplied topology epoch is outdated."),
        Entry(
            133, "SHARE_SESSION_LIMIT_REACHED", .retriable,
            "The limit of share sessions has been reached."),
        Entry(
            134, "GROUP_DELETION_FAILED", .nonRetriable,
            "DeleteGroups could not complete; see the error message on the per-group result for details."),
        Entry(
            135, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", .nonRetriable,
            "The broker could not process the topology description update; see the error message for details."),
        Entry(
            136, "CONTROLLER_ID_NOT_REGISTERED", .nonRetriable,
            "The given controller ID was not registered."),
    ]
}
