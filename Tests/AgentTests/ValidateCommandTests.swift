import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// `tributary validate` and a pipeline that cannot start, as the binary reports them.
    @Suite("tributary validate")
    struct ValidateCommandTests {
        static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = AgentProcess.executable
            process.arguments = arguments
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
        }

        @Test func validAndInvalidFiles() throws {
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let good = directory.appendingPathComponent("good.yaml")
            try
                "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\nsources:\n  console: { type: stdin }\nroutes:\n  - from: console\n    topic: logs\n"
                .write(to: good, atomically: true, encoding: .utf8)
            let ok = try Self.run(["validate", "--config", good.path])
            #expect(ok.status == 0)
            #expect(ok.stdout == "\(good.path): valid\n  source console (stdin)\n  route routes[0]: console → logs\n")

            let bad = directory.appendingPathComponent("bad.yaml")
            try
                "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\nsources:\n  console: { type: stdin, key: { json: '' } }\nroutes:\n  - from: consol\n    topic: logs\n"
                .write(to: bad, atomically: true, encoding: .utf8)
            let failed = try Self.run(["validate", "--config", bad.path])
            #expect(failed.status == 1)
            #expect(failed.stdout.isEmpty)
            #expect(failed.stderr == "\(bad.path):4:40: sources.console.key.json: must not be empty\n")

            // What starting would meet on this machine: a socket in a directory that is not there,
            // an owner that does not exist.
            let unstartable = directory.appendingPathComponent("unstartable.yaml")
            try
                "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\nsources:\n  app: { type: unix_socket, path: \(directory.path)/no/such/dir/app.sock, owner: no-such-user-tributary }\nroutes:\n  - from: app\n    topic: logs\n"
                .write(to: unstartable, atomically: true, encoding: .utf8)
            let preflight = try Self.run(["validate", "--config", unstartable.path])
            #expect(preflight.status == 1)
            #expect(
                preflight.stderr
                    == "\(unstartable.path): source app: the directory of \(directory.path)/no/such/dir/app.sock does not exist\n"
                    + "\(unstartable.path): source app: owner no-such-user-tributary is not a user of this machine\n")

            let missing = try Self.run(["validate", "--config", directory.appendingPathComponent("none.yaml").path])
            #expect(
                missing.status == 1
                    && missing.stderr.hasSuffix("none.yaml: cannot read the file: No such file or directory\n"))
        }

        /// A socket source whose path is a regular file: the agent refuses to replace it, says so,
        /// and exits 1 (systemd then reports the failure).
        @Test func aSourceThatCannotStartStopsTheAgent() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["t": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let occupied = directory.appendingPathComponent("not-a-socket")
            try "precious".write(to: occupied, atomically: true, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                sources:
                  app: { type: unix_socket, path: \(occupied.path) }
                routes:
                  - from: app
                    topic: t
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForExit() == 1)
            #expect(
                agent.stderr.contains("source app: \(occupied.path) exists and is not a socket; refusing to replace it")
            )
            #expect(try String(contentsOf: occupied, encoding: .utf8) == "precious")
        }
    }
}
