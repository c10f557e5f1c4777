import Foundation

/// Runs the test venv's Python (`<repo>/.venv`, made by scripts/bootstrap.sh) for cross-checks
/// against independent implementations. Missing Python is a test failure, not a skip: the
/// cross-checks are the point.
enum ReferencePython {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static var repositoryRoot: URL { TestSupport.repositoryRoot }

    static var executable: URL { repositoryRoot.appendingPathComponent(".venv/bin/python") }

    /// Runs `python <script> <arguments>` (script relative to the repository root), with `input`
    /// as its standard input, and returns its standard output. Throws with the standard error when the exit status is not 0.
    static func run(script: String, _ arguments: [String], input: Data? = nil) throws -> Data {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw Failure(description: "no Python at \(executable.path); run scripts/bootstrap.sh")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = [repositoryRoot.appendingPathComponent(script).path] + arguments
        // Files rather than pipes, so a large output can never fill a pipe and stall the child.
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutURL = directory.appendingPathComponent("stdout")
        let stderrURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL)
        let stderr = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = stdout
        process.standardError = stderr
        if let input {
            let stdinURL = directory.appendingPathComponent("stdin")
            try input.write(to: stdinURL)
            process.standardInput = try FileHandle(forReadingFrom: stdinURL)
        }
        try process.run()
        process.waitUntilExit()
        try stdout.close()
        try stderr.close()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
            throw Failure(
                description: "\(script) \(arguments) exited with \(process.terminationStatus): \(message)")
        }
        return try Data(contentsOf: stdoutURL)
    }

    /// A fresh, empty directory under the system's temporary directory.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tributary-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs scripts/reference_codec.py over `inputs` and returns its outputs in the same order.
    static func codec(_ operation: String, format: String, level: Int? = nil, _ inputs: [[UInt8]]) throws
        -> [[UInt8]]
    {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func name(_ index: Int) -> String { String(format: "%04d", index) }
        for (index, input) in inputs.enumerated() {
            try Data(input).write(to: directory.appendingPathComponent(name(index) + ".in"))
        }
        var arguments = [operation, format, directory.path]
        if let level { arguments.append(String(level)) }
        _ = try run(script: "scripts/reference_codec.py", arguments)
        return try inputs.indices.map {
            [UInt8](try Data(contentsOf: directory.appendingPathComponent(name($0) + ".out")))
        }
    }
}
