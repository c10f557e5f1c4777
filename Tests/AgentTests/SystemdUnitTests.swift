import Foundation
import KafkaTestCluster
import Testing

/// The units in `systemd/` as systemd itself reads them (`systemd-analyze`), installed into a
/// scratch directory with the built binary in place of /usr/bin/tributary (verify requires
/// every Exec*= binary to exist).
@Suite("systemd units")
struct SystemdUnitTests {
    static let units = ["tributary.service", "tributary.socket"]

    static func source(_ name: String) throws -> String {
        try String(
            contentsOf: KafkaTestCluster.repositoryRoot().appendingPathComponent("systemd/\(name)"), encoding: .utf8)
    }

    /// Writes the units into `directory`, each passed through `edit(name, text)` first.
    static func install(into directory: URL, edit: (String, String) -> String = { $1 }) throws {
        for name in units {
            let text = try source(name).replacingOccurrences(
                of: "/usr/bin/tributary", with: AgentProcess.executable.path)
            try edit(name, text).write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    /// Runs systemd-analyze in `directory`; stdout and stderr together.
    static func analyze(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["systemd-analyze"] + arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    // The man page is not installed where tests run.
    static let verify = ["verify", "--man=no"] + units.map { "./\($0)" }

    @Test func systemdAnalyzeVerifyAcceptsTheUnits() throws {
        let directory = try AgentProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.install(into: directory)
        let result = try Self.analyze(Self.verify, in: directory)
        // verify exits 0 on keys it ignores, so any output at all is a failure.
        #expect(result.status == 0 && result.output.isEmpty, "\(result.output)")
    }

    /// The check above can fail: a misspelt key and a value systemd cannot parse are reported with
    /// their place, and a missing binary fails verify outright.
    @Test func systemdAnalyzeVerifyRejectsBrokenUnits() throws {
        let directory = try AgentProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.install(into: directory) { name, text in
            name == "tributary.service"
                ? text.replacingOccurrences(of: "\nWatchdogSec=", with: "\nWatchdogSecs=")
                : text.replacingOccurrences(of: "FileDescriptorName=app", with: "FileDescriptorName=a:pp")
        }
        let misspelt = try Self.analyze(Self.verify, in: directory)
        #expect(misspelt.output.contains("tributary.service:") && misspelt.output.contains("WatchdogSecs"))
        #expect(misspelt.output.contains("tributary.socket:") && misspelt.output.contains("a:pp"))

        try Self.install(into: directory) { _, text in
            text.replacingOccurrences(of: AgentProcess.executable.path, with: directory.path + "/no-such-binary")
        }
        let missing = try Self.analyze(Self.verify, in: directory)
        #expect(missing.status != 0 && missing.output.contains("no-such-binary"), "\(missing.output)")
    }

    /// `systemd-analyze security` rates the service's exposure (0 safest, 10 unrestricted) from its
    /// sandboxing; the unit stays at 2.0 or below, and would not without its hardening lines.
    @Test func theServiceSandboxKeepsExposureAtMostTwo() throws {
        let directory = try AgentProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.install(into: directory)
        let arguments = ["security", "--offline=yes", "--threshold=20", "./tributary.service"]
        let hardened = try Self.analyze(arguments, in: directory)
        #expect(hardened.status == 0, "\(hardened.output)")

        try Self.install(into: directory) { name, text in
            guard name == "tributary.service", let start = text.range(of: "# Hardening."),
                let end = text.range(of: "[Install]")
            else { return text }
            return text.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        }
        let unhardened = try Self.analyze(arguments, in: directory)
        #expect(unhardened.status != 0, "\(unhardened.output)")
    }

    /// systemd must not SIGKILL the agent while it still delivers within its own shutdown timeout.
    @Test func theStopTimeoutExceedsTheAgentsShutdownTimeout() throws {
        let service = try Self.source("tributary.service")
        let pipeline = try String(
            contentsOf: KafkaTestCluster.repositoryRoot().appendingPathComponent("etc/tributary/pipeline.yaml"),
            encoding: .utf8)
        func seconds(after prefix: String, in text: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap {
                Int($0.dropFirst(prefix.count).prefix { $0.isNumber })
            }
        }
        let stop = try #require(seconds(after: "TimeoutStopSec=", in: service))
        let shutdown = try #require(seconds(after: "  shutdown_timeout: ", in: pipeline))
        #expect(stop > shutdown && shutdown == 30)
        #expect(service.contains("\nWatchdogSec=") && service.contains("\nType=notify\n"))
    }

    /// Runs a systemd tool on `input` (a sysusers.d or tmpfiles.d file) given as stdin.
    static func run(_ tool: String, _ arguments: [String], input: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments + ["-"]
        let stdin = Pipe()
        let output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// systemd-sysusers, into an empty root, would create the user and its group and nothing else.
    @Test func sysusersCreatesTheTributaryUserAndGroup() throws {
        let root = try AgentProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let sysusers = try Self.source("tributary.sysusers")
        let result = try Self.run("systemd-sysusers", ["--dry-run", "--root=\(root.path)"], input: sysusers)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Creating group 'tributary'"), "\(result.output)")
        #expect(result.output.contains("Creating user 'tributary' (Tributary log shipper)"), "\(result.output)")
        let broken = try Self.run(
            "systemd-sysusers", ["--dry-run", "--root=\(root.path)"],
            input: sysusers.replacingOccurrences(
                of: "/usr/sbin/nologin", with: "/usr/sbin/nologin extra"))
        #expect(broken.status != 0 && broken.output.contains("-:"), "\(broken.output)")
    }

    /// systemd-tmpfiles makes the state and runtime directories with the units' modes, owned by
    /// the user sysusers made (chown needs root, so only as root).
    @Test(.enabled(if: getuid() == 0)) func tmpfilesMakesTheStateAndRuntimeDirectories() throws {
        let root = try AgentProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        let users = try Self.run("systemd-sysusers", ["--root=\(root.path)"], input: Self.source("tributary.sysusers"))
        #expect(users.status == 0, "\(users.output)")
        let tmpfiles = try Self.source("tributary.tmpfiles")
        let result = try Self.run("systemd-tmpfiles", ["--root=\(root.path)", "--create"], input: tmpfiles)
        #expect(result.status == 0 && result.output.isEmpty, "\(result.output)")
        for (path, mode) in [("run/tributary", 0o755), ("var/lib/tributary", 0o750)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
            #expect((attributes[.posixPermissions] as? Int) == mode, "\(path)")
            #expect((attributes[.ownerAccountID] as? Int).map { $0 != 0 } == true, "\(path) is owned by root")
        }
        let broken = try Self.run(
            "systemd-tmpfiles", ["--root=\(root.path)", "--create"],
            input: tmpfiles.replacingOccurrences(of: "d /run/tributary", with: "d run/tributary"))
        #expect(broken.status != 0 && broken.output.contains("not absolute"), "\(broken.output)")
    }

    /// The socket unit names its descriptor as the pipeline file's `systemd_socket:` refers to it
    /// (the agent looks descriptors up by LISTEN_FDNAMES), and the example in its comment says so.
    @Test func theSocketsNameIsTheOneItsPipelineExampleUses() throws {
        let socket = try Self.source("tributary.socket")
        let name = try #require(
            socket.split(separator: "\n").first { $0.hasPrefix("FileDescriptorName=") }?.dropFirst(
                "FileDescriptorName=".count))
        #expect(socket.contains("#       systemd_socket: \(name) "))
        #expect(socket.contains("\nListenStream=/run/tributary/"))
    }
}
