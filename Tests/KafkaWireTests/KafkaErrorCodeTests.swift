import Foundation
import KafkaWire
import Testing

// KafkaErrorCode against two references: kafka-python's independent table (every code both
// know) and the producer rows of PROTOCOL-NOTES §5 (retriability as Java decides it).

@Suite("Kafka error codes")
struct KafkaErrorCodeTests {
    /// Every static member points at the table row with its name. The list is in code order and
    /// covers every code, so it also pins the table's size and contiguity.
    @Test func staticMembersMatchTheTable() {
        let members: [(KafkaErrorCode, Int16, String)] = [
            (.unknownServerError, -1, "UNKNOWN_SERVER_ERROR"),
            (.none, 0, "NONE"),
            (.offsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE"),
            (.corruptMessage, 2, "CORRUPT_MESSAGE"),
            (.unknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION"),
            (.invalidFetchSize, 4, "INVALID_FETCH_SIZE"),
            (.leaderNotAvailable, 5, "LEADER_NOT_AVAILABLE"),
            (.notLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER"),
            (.requestTimedOut, 7, "REQUEST_TIMED_OUT"),
            (.brokerNotAvailable, 8, "BROKER_NOT_AVAILABLE"),
            (.replicaNotAvailable, 9, "REPLICA_NOT_AVAILABLE"),
            (.messageTooLarge, 10, "MESSAGE_TOO_LARGE"),
            (.staleControllerEpoch, 11, "STALE_CONTROLLER_EPOCH"),
            (.offsetMetadataTooLarge, 12, "OFFSET_METADATA_TOO_LARGE"),
            (.networkException, 13, "NETWORK_EXCEPTION"),
            (.coordinatorLoadInProgress, 14, "COORDINATOR_LOAD_IN_PROGRESS"),
            (.coordinatorNotAvailable, 15, "COORDINATOR_NOT_AVAILABLE"),
            (.notCoordinator, 16, "NOT_COORDINATOR"),
            (.invalidTopicException, 17, "INVALID_TOPIC_EXCEPTION"),
            (.recordListTooLarge, 18, "RECORD_LIST_TOO_LARGE"),
            (.notEnoughReplicas, 19, "NOT_ENOUGH_REPLICAS"),
            (.notEnoughReplicasAfterAppend, 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"),
            (.invalidRequiredAcks, 21, "INVALID_REQUIRED_ACKS"),
            (.illegalGeneration, 22, "ILLEGAL_GENERATION"),
            (.inconsistentGroupProtocol, 23, "INCONSISTENT_GROUP_PROTOCOL"),
            (.invalidGroupId, 24, "INVALID_GROUP_ID"),
            (.unknownMemberId, 25, "UNKNOWN_MEMBER_ID"),
            (.invalidSessionTimeout, 26, "INVALID_SESSION_TIMEOUT"),
            (.rebalanceInProgress, 27, "REBALANCE_IN_PROGRESS"),
            (.invalidCommitOffsetSize, 28, "INVALID_COMMIT_OFFSET_SIZE"),
            (.topicAuthorizationFailed, 29, "TOPIC_AUTHORIZATION_FAILED"),
            (.groupAuthorizationFailed, 30, "GROUP_AUTHORIZATION_FAILED"),
            (.clusterAuthorizationFailed, 31, "CLUSTER_AUTHORIZATION_FAILED"),
            (.invalidTimestamp, 32, "INVALID_TIMESTAMP"),
            (.unsupportedSaslMechanism, 33, "UNSUPPORTED_SASL_MECHANISM"),
            (.illegalSaslState, 34, "ILLEGAL_SASL_STATE"),
            (.unsupportedVersion, 35, "UNSUPPORTED_VERSION"),
            (.topicAlreadyExists, 36, "TOPIC_ALREADY_EXISTS"),
            (.invalidPartitions, 37, "INVALID_PARTITIONS"),
            (.invalidReplicationFactor, 38, "INVALID_REPLICATION_FACTOR"),
            (.invalidReplicaAssignment, 39, "INVALID_REPLICA_ASSIGNMENT"),
            (.invalidConfig, 40, "INVALID_CONFIG"),
            (.notController, 41, "NOT_CONTROLLER"),
            (.invalidRequest, 42, "INVALID_REQUEST"),
            (.unsupportedForMessageFormat, 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT"),
            (.policyViolation, 44, "POLICY_VIOLATION"),
            (.outOfOrderSequenceNumber, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER"),
            (.duplicateSequenceNumber, 46, "DUPLICATE_SEQUENCE_NUMBER"),
            (.invalidProducerEpoch, 47, "INVALID_PRODUCER_EPOCH"),
            (.invalidTxnState, 48, "INVALID_TXN_STATE"),
            (.invalidProducerIdMapping, 49, "INVALID_PRODUCER_ID_MAPPING"),
            (.invalidTransactionTimeout, 50, "INVALID_TRANSACTION_TIMEOUT"),
            (.concurrentTransactions, 51, "CONCURRENT_TRANSACTIONS"),
            (.transactionCoordinatorFenced, 52, "TRANSACTION_COORDINATOR_FENCED"),
            (.transactionalIdAuthorizationFailed, 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"),
            (.securityDisabled, 54, "SECURITY_DISABLED"),
            (.operationNotAttempted, 55, "OPERATION_NOT_ATTEMPTED"),
            (.kafkaStorageError, 56, "KAFKA_STORAGE_ERROR"),
            (.logDirNotFound, 57, "LOG_DIR_NOT_FOUND"),
            (.saslAuthenticationFailed, 58, "SASL_AUTHENTICATION_FAILED"),
            (.unknownProducerId, 59, "UNKNOWN_PRODUCER_ID"),
            (.reassignmentInProgress, 60, "REASSIGNMENT_IN_PROGRESS"),
            (.delegationTokenAuthDisabled, 61, "DELEGATION_TOKEN_AUTH_DISABLED"),
            (.delegationTokenNotFound, 62, "DELEGATION_TOKEN_NOT_FOUND"),
            (.delegationTokenOwnerMismatch, 63, "DELEGATION_TOKEN_OWNER_MISMATCH"),
            (.delegationTokenRequestNotAllowed, 64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"),
            (.delegationTokenAuthorizationFailed, 65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED"),
            (.delegationTokenExpired, 66, "DELEGATION_TOKEN_EXPIRED"),
            (.invalidPrincipalType, 67, "INVALID_PRINCIPAL_TYPE"),
            (.nonEmptyGroup, 68, "NON_EMPTY_GROUP"),
            (.groupIdNotFound, 69, "GROUP_ID_NOT_FOUND"),
            (.fetchSessionIdNotFound, 70, "FETCH_SESSION_ID_NOT_FOUND"),
            (.invalidFetchSessionEpoch, 71, "INVALID_FETCH_SESSION_EPOCH"),
            (.listenerNotFound, 72, "LISTENER_NOT_FOUND"),
            (.topicDeletionDisabled, 73, "TOPIC_DELETION_DISABLED"),
            (.fencedLeaderEpoch, 74, "FENCED_LEADER_EPOCH"),
            (.unknownLeaderEpoch, 75, "UNKNOWN_LEADER_EPOCH"),
            (.unsupportedCompressionType, 76, "UNSUPPORTED_COMPRESSION_TYPE"),
            (.staleBrokerEpoch, 77, "STALE_BROKER_EPOCH"),
            (.offsetNotAvailable, 78, "OFFSET_NOT_AVAILABLE"),
            (.memberIdRequired, 79, "MEMBER_ID_REQUIRED"),
            (.preferredLeaderNotAvailable, 80, "PREFERRED_LEADER_NOT_AVAILABLE"),
            (.groupMaxSizeReached, 81, "GROUP_MAX_SIZE_REACHED"),
            (.fencedInstanceId, 82, "FENCED_INSTANCE_ID"),
            (.eligibleLeadersNotAvailable, 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE"),
            (.electionNotNeeded, 84, "ELECTION_NOT_NEEDED"),
            (.noReassignmentInProgress, 85, "NO_REASSIGNMENT_IN_PROGRESS"),
            (.groupSubscribedToTopic, 86, "GROUP_SUBSCRIBED_TO_TOPIC"),
            (.invalidRecord, 87, "INVALID_RECORD"),
            (.unstableOffsetCommit, 88, "UNSTABLE_OFFSET_COMMIT"),
            (.throttlingQuotaExceeded, 89, "THROTTLING_QUOTA_EXCEEDED"),
            (.producerFenced, 90, "PRODUCER_FENCED"),
            (.resourceNotFound, 91, "RESOURCE_NOT_FOUND"),
            (.duplicateResource, 92, "DUPLICATE_RESOURCE"),
            (.unacceptableCredential, 93, "UNACCEPTABLE_CREDENTIAL"),
            (.inconsistentVoterSet, 94, "INCONSISTENT_VOTER_SET"),
            (.invalidUpdateVersion, 95, "INVALID_UPDATE_VERSION"),
            (.featureUpdateFailed, 96, "FEATURE_UPDATE_FAILED"),
            (.principalDeserializationFailure, 97, "PRINCIPAL_DESERIALIZATION_FAILURE"),
            (.snapshotNotFound, 98, "SNAPSHOT_NOT_FOUND"),
            (.positionOutOfRange, 99, "POSITION_OUT_OF_RANGE"),
            (.unknownTopicId, 100, "UNKNOWN_TOPIC_ID"),
            (.duplicateBrokerRegistration, 101, "DUPLICATE_BROKER_REGISTRATION"),
            (.brokerIdNotRegistered, 102, "BROKER_ID_NOT_REGISTERED"),
            (.inconsistentTopicId, 103, "INCONSISTENT_TOPIC_ID"),
            (.inconsistentClusterId, 104, "INCONSISTENT_CLUSTER_ID"),
            (.transactionalIdNotFound, 105, "TRANSACTIONAL_ID_NOT_FOUND"),
            (.fetchSessionTopicIdError, 106, "FETCH_SESSION_TOPIC_ID_ERROR"),
            (.ineligibleReplica, 107, "INELIGIBLE_REPLICA"),
            (.newLeaderElected, 108, "NEW_LEADER_ELECTED"),
            (.offsetMovedToTieredStorage, 109, "OFFSET_MOVED_TO_TIERED_STORAGE"),
            (.fencedMemberEpoch, 110, "FENCED_MEMBER_EPOCH"),
            (.unreleasedInstanceId, 111, "UNRELEASED_INSTANCE_ID"),
            (.unsupportedAssignor, 112, "UNSUPPORTED_ASSIGNOR"),
            (.staleMemberEpoch, 113, "STALE_MEMBER_EPOCH"),
            (.mismatchedEndpointType, 114, "MISMATCHED_ENDPOINT_TYPE"),
            (.unsupportedEndpointType, 115, "UNSUPPORTED_ENDPOINT_TYPE"),
            (.unknownControllerId, 116, "UNKNOWN_CONTROLLER_ID"),
            (.unknownSubscriptionId, 117, "UNKNOWN_SUBSCRIPTION_ID"),
            (.telemetryTooLarge, 118, "TELEMETRY_TOO_LARGE"),
            (.invalidRegistration, 119, "INVALID_REGISTRATION"),
            (.transactionAbortable, 120, "TRANSACTION_ABORTABLE"),
            (.invalidRecordState, 121, "INVALID_RECORD_STATE"),
            (.shareSessionNotFound, 122, "SHARE_SESSION_NOT_FOUND"),
            (.invalidShareSessionEpoch, 123, "INVALID_SHARE_SESSION_EPOCH"),
            (.fencedStateEpoch, 124, "FENCED_STATE_EPOCH"),
            (.invalidVoterKey, 125, "INVALID_VOTER_KEY"),
            (.duplicateVoter, 126, "DUPLICATE_VOTER"),
            (.voterNotFound, 127, "VOTER_NOT_FOUND"),
            (.invalidRegularExpression, 128, "INVALID_REGULAR_EXPRESSION"),
            (.rebootstrapRequired, 129, "REBOOTSTRAP_REQUIRED"),
            (.streamsInvalidTopology, 130, "STREAMS_INVALID_TOPOLOGY"),
            (.streamsInvalidTopologyEpoch, 131, "STREAMS_INVALID_TOPOLOGY_EPOCH"),
            (.streamsTopologyFenced, 132, "STREAMS_TOPOLOGY_FENCED"),
            (.shareSessionLimitReached, 133, "SHARE_SESSION_LIMIT_REACHED"),
            (.groupDeletionFailed, 134, "GROUP_DELETION_FAILED"),
            (.streamsTopologyDescriptionUpdateFailed, 135, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED"),
            (.controllerIdNotRegistered, 136, "CONTROLLER_ID_NOT_REGISTERED"),
        ]
        #expect(members.count == KafkaErrorCode.allKnown.count)
        #expect(KafkaErrorCode.allKnown.map(\.rawValue) == Array(-1...136))
        for (code, rawValue, name) in members {
            #expect(code.rawValue == rawValue)
            #expect(code.name == name)
            #expect(code.isKnown)
            #expect(!code.summary.isEmpty)
            #expect(code.description == "\(name) (\(rawValue))")
        }
    }

    @Test(arguments: [Int16(-2), 137, 999, .max, .min])
    func unknownCodes(rawValue: Int16) {
        let code = KafkaErrorCode(rawValue: rawValue)
        #expect(!code.isKnown)
        #expect(code.name == "UNKNOWN_\(rawValue)")
        #expect(!code.isRetriable)
        #expect(!code.invalidatesMetadata)
        #expect(code == KafkaErrorCode(rawValue: rawValue))
    }

    @Test func invalidMetadataImpliesRetriable() {
        for code in KafkaErrorCode.allKnown where code.invalidatesMetadata {
            #expect(code.isRetriable, "\(code): InvalidMetadataException extends RetriableException")
        }
    }

    // MARK: kafka-python

    struct KafkaPythonTable: Decodable {
        struct Row: Decodable {
            var errno: Int16
            var `class`: String
            var name: String
            var retriable: Bool
            var invalid_metadata: Bool
        }
        var kafka_python_version: String
        var errors: [Row]
    }

    /// Where kafka-python deliberately or historically differs from Java's Errors.java. Java is
    /// the reference for this client; each entry says why kafka-python differs.
    static let kafkaPythonNames: [Int16: String] = [
        -1: "UNKNOWN",  // kafka-python's name; Java's constant is UNKNOWN_SERVER_ERROR
        0: "NO_ERROR",  // Java: NONE
        6: "NOT_LEADER_FOR_PARTITION",  // the name before Kafka 2.6 (KIP-392) renamed it NOT_LEADER_OR_FOLLOWER
        10: "MESSAGE_SIZE_TOO_LARGE",  // Java: MESSAGE_TOO_LARGE (kafka-python kept the 0.8 wiki name)
        17: "INVALID_TOPIC",  // Java: INVALID_TOPIC_EXCEPTION
        39: "INVALID_REPLICATION_ASSIGNMENT",  // Java: INVALID_REPLICA_ASSIGNMENT
    ]
    /// Codes whose retriability kafka-python sets differently from Java.
    static let kafkaPythonRetriable: [Int16: Bool] = [
        // Java's CorruptRecordException extends RetriableException (PROTOCOL-NOTES §5 row 2);
        // kafka-python's CorruptRecordError does not retry.
        2: false
    ]
    /// Codes whose metadata refresh kafka-python sets differently from Java.
    static let kafkaPythonInvalidMetadata: [Int16: Bool] = [
        // Java's UnknownLeaderEpochException extends RetriableException, not
        // InvalidMetadataException (PROTOCOL-NOTES §5 row 75: refresh "–");
        // kafka-python refreshes metadata for it.
        75: true
    ]
    /// Codes newer than kafka-python 3.0.12's table (it ends at 127, VOTER_NOT_FOUND).
    static let unknownToKafkaPython: ClosedRange<Int16> = 128...136

    @Test func agreesWithKafkaPython() throws {
        let json = try ReferencePython.run(script: "scripts/dump_kafka_python_errors.py", [])
        let table = try JSONDecoder().decode(KafkaPythonTable.self, from: json)
        #expect(table.kafka_python_version == "3.0.12", "the deliberate differences were checked against 3.0.12")
        #expect(table.errors.count > 120)

        for row in table.errors {
            let code = KafkaErrorCode(rawValue: row.errno)
            let context = Comment(rawValue: "kafka-python \(row.class) (\(row.errno)) vs \(code)")
            #expect(code.isKnown, context)
            #expect(code.name == row.name || Self.kafkaPythonNames[row.errno] == row.name, context)
            #expect((Self.kafkaPythonRetriable[row.errno] ?? code.isRetriable) == row.retriable, context)
            #expect(
                (Self.kafkaPythonInvalidMetadata[row.errno] ?? code.invalidatesMetadata) == row.invalid_metadata,
                context)
        }
        // Every documented difference is still a difference (so the lists cannot go stale)…
        let byCode = Dictionary(grouping: table.errors, by: \.errno)
        for (errno, name) in Self.kafkaPythonNames {
            #expect(byCode[errno]?.allSatisfy { $0.name == name } == true, "alias \(errno) \(name)")
            #expect(KafkaErrorCode(rawValue: errno).name != name)
        }
        for (errno, retriable) in Self.kafkaPythonRetriable {
            #expect(KafkaErrorCode(rawValue: errno).isRetriable != retriable)
        }
        for (errno, invalidMetadata) in Self.kafkaPythonInvalidMetadata {
            #expect(KafkaErrorCode(rawValue: errno).invalidatesMetadata != invalidMetadata)
        }
        // …and the only codes kafka-python lacks are the newest ones.
        let missing = KafkaErrorCode.allKnown.map(\.rawValue).filter { byCode[$0] == nil }
        #expect(missing == Array(Self.unknownToKafkaPython))
    }

    // MARK: PROTOCOL-NOTES §5

    /// The producer rows of PROTOCOL-NOTES §5, copied from its table: code, name, "Java
    /// retriable", "refresh metadata" ("–" there is false here). "no (special)" rows are
    /// non-retriable in Java; the producer's idempotence logic handles them (§6).
    static let protocolNotesRows: [(Int16, String, retriable: Bool, refresh: Bool)] = [
        (-1, "UNKNOWN_SERVER_ERROR", false, false),
        (2, "CORRUPT_MESSAGE", true, false),
        (3, "UNKNOWN_TOPIC_OR_PARTITION", true, true),
        (5, "LEADER_NOT_AVAILABLE", true, true),
        (6, "NOT_LEADER_OR_FOLLOWER", true, true),
        (7, "REQUEST_TIMED_OUT", true, false),
        (8, "BROKER_NOT_AVAILABLE", false, false),
        (9, "REPLICA_NOT_AVAILABLE", true, true),
        (10, "MESSAGE_TOO_LARGE", false, false),
        (13, "NETWORK_EXCEPTION", true, true),
        (17, "INVALID_TOPIC_EXCEPTION", false, false),
        (18, "RECORD_LIST_TOO_LARGE", false, false),
        (19, "NOT_ENOUGH_REPLICAS", true, false),
        (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, false),
        (21, "INVALID_REQUIRED_ACKS", false, false),
        (29, "TOPIC_AUTHORIZATION_FAILED", false, false),
        (31, "CLUSTER_AUTHORIZATION_FAILED", false, false),
        (32, "INVALID_TIMESTAMP", false, false),
        (35, "UNSUPPORTED_VERSION", false, false),
        (42, "INVALID_REQUEST", false, false),
        (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, false),
        (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, false),
        (46, "DUPLICATE_SEQUENCE_NUMBER", false, false),
        (47, "INVALID_PRODUCER_EPOCH", false, false),
        (48, "INVALID_TXN_STATE", false, false),
        (49, "INVALID_PRODUCER_ID_MAPPING", false, false),
        (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, false),
        (56, "KAFKA_STORAGE_ERROR", true, true),
        (59, "UNKNOWN_PRODUCER_ID", false, false),
        (74, "FENCED_LEADER_EPOCH", true, true),
        (75, "UNKNOWN_LEADER_EPOCH", true, false),
        (76, "UNSUPPORTED_COMPRESSION_TYPE", false, false),
        (87, "INVALID_RECORD", false, false),
        (90, "PRODUCER_FENCED", false, false),
        (100, "UNKNOWN_TOPIC_ID", true, true),
        (120, "TRANSACTION_ABORTABLE", false, false),
    ]

    @Test func agreesWithProtocolNotes() {
        for (rawValue, name, retriable, refresh) in Self.protocolNotesRows {
            let code = KafkaErrorCode(rawValue: rawValue)
            #expect(code.name == name)
            #expect(code.isRetriable == retriable, "\(code) retriable")
            #expect(code.invalidatesMetadata == refresh, "\(code) refresh metadata")
        }
        // The static members a producer reaches for.
        #expect(
            KafkaErrorCode.notLeaderOrFollower.isRetriable && KafkaErrorCode.notLeaderOrFollower.invalidatesMetadata)
        #expect(KafkaErrorCode(rawValue: 6) == .notLeaderOrFollower)
        #expect(!KafkaErrorCode.none.isRetriable)
    }
}
