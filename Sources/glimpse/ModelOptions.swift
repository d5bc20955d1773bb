import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseHub
import GlimpseTensor

extension PrecisionRequest: ExpressibleByArgument {}

/// Flags shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face model folder, or a Hub repo id downloaded on first use (default: $GLIMPSE_MODEL, else openai/clip-vit-base-patch32).")
    var model: String?

    @Option(help: ArgumentHelp(
        "Matrix-product precision: auto, fp32, int8, fp16 (binary16 weights) or bf16.",
        discussion: "auto (the default) is the fastest whose accuracy holds on this CPU: int8 wherever an int8 vector kernel exists (AVX-512 VNNI, AVX-VNNI, AVX2, NEON dot product; cosine ≥ 0.999 to fp32), else fp32; caption generators stay fp32. fp32 is exact. fp16 keeps Float32 arithmetic on binary16 weights (a text query reads half the bytes; cosine ≥ 0.9999). bf16 needs AVX-512 BF16 or AMX and falls back to fp32 elsewhere."))
    var precision: PrecisionRequest = .auto

    /// The model's name as given (recorded by libraries) and its local folder, downloading it if needed.
    func resolve() async throws -> (name: String, directory: String) {
        try await Self.resolve(ModelLocator.modelName(option: model))
    }

    /// Loads the model `--model` names.
    func load() async throws -> (name: String, model: LoadedModel) {
        let resolved = try await resolve()
        do { return (resolved.name, try Self.load(directory: resolved.directory, precision: precision)) } catch {
            throw CLIError("cannot load model \(resolved.name): \(error)")
        }
    }

    /// Loads a model folder in the requested precision; a request this CPU cannot honour is warned about once.
    static func load(directory: String, precision: PrecisionRequest) throws -> LoadedModel {
        let (model, warning) = try ModelLoader.load(directory: directory, request: precision)
        if let warning { PrecisionWarning.shared.emit(warning) }
        return model
    }

    static func resolve(_ name: String) async throws -> (name: String, directory: String) {
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

/// `--text-model`: queries encoded by another text model trained into the library model's space.
struct TextModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Encode text queries with this model instead of the library's own text tower (default $GLIMPSE_TEXT_MODEL), e.g. sentence-transformers/clip-ViT-B-32-multilingual-v1 for queries in 50+ languages against an openai/clip-vit-base-patch32 library. No re-indexing.",
        valueName: "model"))
    var textModel: String?

    var name: String? {
        if let textModel, !textModel.isEmpty { return textModel }
        return ProcessInfo.processInfo.environment["GLIMPSE_TEXT_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
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

/// Prints a precision fallback on standard error once per process (several models may hit it).
final class PrecisionWarning: @unchecked Sendable {
    static let shared = PrecisionWarning()
    private let lock = NSLock()
    private var emitted = false

    func emit(_ text: String) {
        let first = lock.withLock { () -> Bool in defer { emitted = true }; return !emitted }
        if first { FileHandle.standardError.write(Data("warning: \(text)\n".utf8)) }
    }
}
