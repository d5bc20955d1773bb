import Foundation

/// Paths of the committed fixtures.
let fixturesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

/// What one run of the built `glimpse` binary printed and how it exited.
struct GlimpseRun { let status: Int32; let stdout: String; let stderr: String }

/// Runs the built `glimpse` binary (next to the test bundle) with `arguments`.
func runGlimpse(_ arguments: [String], environment: [String: String] = [:]) throws -> GlimpseRun {
    let process = Process()
    process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse")
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so that a full stderr pipe can never block the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let stderrBox = Box()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile() }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let stderrData = stderrBox.data
    process.waitUntilExit()
    return GlimpseRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
}

/// Starts the built `glimpse` binary in the background, its output discarded (stdout to `stdout` when given).
func startGlimpse(_ arguments: [String], stdout: Pipe? = nil, environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse")
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    process.standardOutput = stdout ?? FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Adds `copies` copies of the files in `folder` under distinct names (so that an index run takes a while);
/// returns how many files the folder then holds.
func addCopies(in folder: String, count copies: Int) throws -> Int {
    let sources = try FileManager.default.contentsOfDirectory(atPath: folder)
    for i in 0..<copies {
        let source = sources[i % sources.count]
        try FileManager.default.copyItem(atPath: folder + "/" + source, toPath: folder + "/copy\(i)-" + source)
    }
    return try FileManager.default.contentsOfDirectory(atPath: folder).count
}

/// The built `glimpse-fixture-server` on a free loopback port, serving `root`; stopped by `stop()`.
final class FixtureServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init(root: String, latencyMs: Int = 0) throws {
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse-fixture-server")
        process.arguments = ["--root", root, "--latency-ms", String(latencyMs)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
              let port = Int(line.dropFirst("listening on ".count)), port > 0 else {
            process.terminate()
            throw NSError(domain: "FixtureServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the fixture server did not start: \(text)"])
        }
        self.port = port
    }

    /// Completed responses per path.
    func stats() throws -> [String: Int] {
        let data = try Data(contentsOf: URL(string: base + "/stats")!)
        return try JSONDecoder().decode([String: Int].self, from: data)
    }

    /// SIGKILL: a graceful stop would wait for the stalled responses it is still sleeping in.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
