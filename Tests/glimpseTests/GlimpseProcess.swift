import Foundation

/// Paths of the committed fixtures.
let fixturesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

/// What one run of the built `glimpse` binary printed and how it exited.
struct GlimpseRun { let status: Int32; let stdout: String; let stderr: String }

/// Runs the built `glimpse` binary (next to the test bundle) with `arguments`.
func runGlimpse(_ arguments: [String]) throws -> GlimpseRun {
    let process = Process()
    process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse")
    process.arguments = arguments
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
func startGlimpse(_ arguments: [String], stdout: Pipe? = nil) throws -> Process {
    let process = Process()
    process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse")
    process.arguments = arguments
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
