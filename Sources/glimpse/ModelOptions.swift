import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

extension Precision: ExpressibleByArgument {}

/// Flags shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face model folder, or a Hub repo id downloaded on first use (default: $GLIMPSE_MODEL, else openai/clip-vit-base-patch32).")
    var model: String?

    @Option(help: "Matrix-product precision: fp32 (exact) or bf16 (faster where the CPU has AVX-512 BF16; cosine ≥ 0.999).")
    var precision: Precision = .fp32

    /// The model's name as given (recorded by libraries) and its local folder, downloading it if needed.
    func resolve() async throws -> (name: String, directory: String) {
        let name = ModelLocator.modelName(option: model)
        let bar = DownloadProgressLine()
        do {
            let directory = try await ModelLocator.resolve(name, progress: { bar.update($0) })
            bar.finish()
            return (name, directory)
        } catch {
            bar.finish()
            throw CLIError("\(error)")
        }
    }
}

/// Download progress on standard error when it is a terminal.
final class DownloadProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var drawn = false
    private let enabled = isatty(STDERR_FILENO) == 1

    func update(_ p: HubProgress) {
        guard enabled, !p.fromCache else { return }
        lock.lock(); defer { lock.unlock() }
        let mb = Double(p.completed) / 1_048_576
        let total = p.total.map { String(format: " / %.1f MB", Double($0) / 1_048_576) } ?? ""
        let line = String(format: "\r\u{1B}[Kdownloading %@ (%d/%d) %.1f MB%@", p.file, p.fileIndex + 1, p.fileCount, mb, total)
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
