import ArgumentParser
import KafkaClient
import KafkaWire
import Logging
import NIOCore
import Pipeline

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `tributary produce`: stdin → a Kafka topic, one record per delimited chunk, like `kcat -P`.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Read records from standard input and produce them to a topic.",
        discussion: """
            Records are newline-delimited unless --delimiter says otherwise. Every record is \
            flushed and acknowledged (or reported as failed) before the command exits; the exit \
            status is 1 when any record failed. Producer settings take the Java producer's names: \
            -X linger.ms=20 -X compression.type=lz4 -X acks=1. Every setting keeps the Java \
            producer's default except buffer.memory, 8388608 (8 MiB) here: standard input is a \
            pipe, so a full buffer stops the writer instead of growing the process. Secrets             (sasl.password, sasl.jaas.config, ssl.key.password) belong in a --producer.config file             rather than on the command line, where other users can read them.
            """)

    @Option(
        name: [.short, .customLong("brokers")], help: "Bootstrap servers, host:port[,host:port…] (bootstrap.servers).")
    var brokers: String?

    @Option(name: [.short, .long], help: "The topic to produce to.")
    var topic: String

    @Option(name: [.short, .long], help: "Produce every record to this partition instead of using the partitioner.")
    var partition: Int32?

    @Option(name: [.customShort("D"), .long], help: "Record delimiter (escapes: \\n \\t \\r \\0 \\\\). Default: \\n.")
    var delimiter: String = "\\n"

    @Option(
        name: [.customShort("K"), .long], help: "Split each record at the first occurrence of this into key and value.")
    var keyDelimiter: String?

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: "A header name=value added to every record (repeatable).")
    var headers: [String] = []

    @Option(name: .customShort("X"), help: "A producer setting name=value, Java names (repeatable).")
    var settings: [String] = []

    @Option(
        name: .customLong("producer.config"),
        help: "A Java properties file of producer settings (name=value lines); -X settings override it.")
    var producerConfig: String?

    @Flag(name: .long, help: "Print one JSON delivery report per record on standard output.")
    var report = false

    @Option(name: .long, help: "Log level for diagnostics on standard error (trace … critical).")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let configuration: KafkaProducerConfiguration
        let recordDelimiter: [UInt8]
        let keySplit: [UInt8]?
        let recordHeaders: [KafkaRecordHeader]
        do {
            configuration = try makeConfiguration()
            recordDelimiter = try Self.unescape(delimiter, option: "--delimiter")
            keySplit = try keyDelimiter.map { try Self.unescape($0, option: "--key-delimiter") }
            recordHeaders = try headers.map { try Self.header($0) }
        } catch let error as KafkaProducerError {
            throw ValidationError(error.message)
        }

        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: configuration)
        } catch let error as KafkaProducerError {
            throw ValidationError(error.message)
        }
        // Records are named by their input position: the id of a report is the line it came from.
        let reports = producer.makeDeliveryReports()
        let reporter = Task {
            await Self.consumeReports(reports, printJSON: report)
        }

        var reader = DelimitedReader(fileDescriptor: STDIN_FILENO, delimiter: recordDelimiter)
        var skipped = 0
        var position = 0
        // Read once: the options are property wrappers, too slow to consult per record.
        let topic = self.topic
        let partition = self.partition
        var inputError: (any Error)?
        do {
            while let (bytes, lines) = try reader.nextRecords() {
                var block = KafkaRecordBlock(topic: topic, partition: partition, headers: recordHeaders, bytes: bytes)
                block.records.reserveCapacity(lines.count)
                if let keySplit {
                    for line in lines {
                        if let split = Self.firstIndex(of: keySplit, in: bytes, range: line) {
                            block.append(
                                key: line.lowerBound..<split, value: (split + keySplit.count)..<line.upperBound)
                        } else {
                            block.append(value: line)
                        }
                    }
                } else {
                    for line in lines { block.append(value: line) }
                }
                try await Self.enqueue(
                    block, firstPosition: position, to: producer, reportingTo: reports, skipped: &skipped)
                position += lines.count
            }
        } catch {
            inputError = error
        }
        await producer.flush()
        await producer.close()
        let failed = await reporter.value + skipped
        if let inputError {
            Self.printError("tributary produce: \(inputError)")
            throw ExitCode(1)
        }
        if failed > 0 {
            Self.printError("tributary produce: \(failed) records were not delivered")
            throw ExitCode(1)
        }
    }

    /// Enqueues a block; a record the producer refuses on its own (too large for
    /// max.request.size, say) is reported on stderr and skipped, and the rest go on. Errors
    /// that concern every record (no metadata within max.block.ms, a closed producer) end the run.
    private static func enqueue(
        _ block: KafkaRecordBlock, firstPosition: Int, to producer: KafkaProducer,
        reportingTo reports: KafkaDeliveryReports, skipped: inout Int
    ) async throws {
        var block = block
        var position = firstPosition
        while !block.records.isEmpty {
            do {
                try await producer.enqueue(block, firstID: KafkaRecordID(position), reportingTo: reports)
                return
            } catch let error as KafkaProducerError where error.isRecordSpecific {
                let accepted = error.acceptedRecordCount ?? 0
                printError("tributary produce: input record \(position + accepted) skipped: \(error)")
                skipped += 1
                block.records.removeFirst(min(accepted + 1, block.records.count))
                position += accepted + 1
            }
        }
    }

    /// Where `tributary produce` departs from the Java producer's defaults. Java sizes
    /// buffer.memory (32 MiB) for an application that must not block; a pipe blocks its writer
    /// for free, and 8 MiB still holds eight of kcat's 1 MB batches.
    static let defaults: [String: String] = ["buffer.memory": "8388608"]

    private func makeConfiguration() throws -> KafkaProducerConfiguration {
        var properties = Self.defaults
        if let producerConfig {
            properties.merge(try Self.readProperties(producerConfig)) { $1 }
        }
        for setting in settings {
            guard let equals = setting.firstIndex(of: "=") else {
                throw KafkaProducerError(.invalidConfiguration, "-X takes name=value")
            }
            properties[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
        }
        if let brokers { properties["bootstrap.servers"] = brokers }
        if properties["bootstrap.servers"] == nil {
            throw KafkaProducerError(
                .invalidConfiguration, "no brokers: give --brokers host:port or -X bootstrap.servers=host:port")
        }
        return try KafkaProducerConfiguration(properties: properties)
    }

    /// A Java properties file as Kafka's tools write them: `name=value` (or `name: value`) lines,
    /// `#` and `!` comments. Errors name the file and line, never a value.
    static func readProperties(_ path: String) throws -> [String: String] {
        guard let file = fopen(path, "r") else {
            throw KafkaProducerError(
                .invalidConfiguration, "--producer.config \(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 {
            bytes.append(contentsOf: buffer[0..<count])
        }
        var properties: [String: String] = [:]
        for (index, rawLine) in String(decoding: bytes, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).enumerated() {
            let line = rawLine.drop(while: \.isWhitespace)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw KafkaProducerError(
                    .invalidConfiguration, "--producer.config \(path):\(index + 1): expected name=value")
            }
            var name = line[..<separator]
            while name.last?.isWhitespace == true { name = name.dropLast() }
            var value = Substring(line[line.index(after: separator)...].drop(while: \.isWhitespace))
            if value.hasSuffix("\r") { value = value.dropLast() }
            properties[String(name)] = String(value)
        }
        return properties
    }

    /// Reads delivery reports until the stream ends; prints them if asked; returns how many
    /// records failed. Errors go to standard error once per failed batch.
    private static func consumeReports(
        _ reports: KafkaDeliveryReports, printJSON: Bool
    ) async -> Int {
        var failed = 0
        var output = ""
        for await report in reports {
            if let error = report.error {
                failed += report.recordIDs.count
                printError(
                    "tributary produce: \(report.recordIDs.count) records for \(report.topicPartition) failed: \(error)"
                )
            }
            guard printJSON else { continue }
            output.removeAll(keepingCapacity: true)
            for index in report.recordIDs.indices {
                let metadata = report.metadata(at: index)
                output +=
                    "{\"id\":\(report.recordIDs[index]),\"topic\":\(JSONWriter.quoted(metadata.topic)),\"partition\":\(metadata.partition),\"offset\":\(metadata.offset),\"timestamp\":\(metadata.timestamp)"
                if let error = report.error {
                    output += ",\"error\":\(JSONWriter.quoted(error.description))"
                }
                output += "}\n"
            }
            writeAll(output, to: STDOUT_FILENO)
        }
        return failed
    }

    static func printError(_ message: String) {
        writeAll(message + "\n", to: STDERR_FILENO)
    }

    /// Writes the whole string to a file descriptor (unbuffered: reports appear as batches complete).
    static func writeAll(_ text: String, to fileDescriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    static func unescape(_ text: String, option: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                continue
            }
            switch iterator.next() {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "0"): bytes.append(0x00)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case let other:
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "\(option) \(text): unknown escape \\\(other.map { String(UnicodeScalar($0)) } ?? "")")
            }
        }
        guard !bytes.isEmpty else { throw KafkaProducerError(.invalidConfiguration, "\(option) must not be empty") }
        return bytes
    }

    static func header(_ text: String) throws -> KafkaRecordHeader {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw KafkaProducerError(.invalidConfiguration, "--header \(text): expected name=value")
        }
        return KafkaRecordHeader(key: String(text[..<equals]), value: Array(text[text.index(after: equals)...].utf8))
    }

    /// The offset (from the reader index) of the first occurrence of `needle` within `range`.
    static func firstIndex(of needle: [UInt8], in buffer: ByteBuffer, range: Range<Int>) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            guard range.count >= needle.count else { return nil }
            var i = range.lowerBound
            while i <= range.upperBound - needle.count {
                if bytes[i] == needle[0] && (1..<needle.count).allSatisfy({ bytes[i + $0] == needle[$0] }) {
                    return i
                }
                i += 1
            }
            return nil
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
