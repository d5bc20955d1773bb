import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseHub
import GlimpseTensor

/// `glimpse model download ID`, `glimpse model info ID`.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Manage models.",
                                                    subcommands: [Download.self, Info.self])

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model from the Hugging Face Hub into the Hugging Face cache.",
            discussion: "Honours $HF_ENDPOINT, $HF_TOKEN and $HF_HOME. An interrupted download resumes; every file is checked against the Hub's checksum.")

        @Argument(help: "Repo id, e.g. openai/clip-vit-base-patch32.") var id: String
        @Option(help: "Branch, tag or commit.") var revision = "main"

        func run() async throws {
            let bar = DownloadProgressLine()
            do {
                let folder = try await HubClient().download(repo: id, revision: revision, progress: { bar.update($0) })
                bar.finish()
                print(folder)
            } catch {
                bar.finish()
                throw CLIError("\(error)")
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a model is: family, towers, embedding dimensions, tokenizer, maximum text length.")

        @Argument(help: "A model folder or Hub repo id (downloaded on first use).") var model: String
        @Option(help: "The precision to load it in: auto, fp32, int8, fp16 or bf16 (what the other commands would run).")
        var precision: PrecisionRequest = .auto
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let options = try ModelOptions.parse(["--model", model, "--precision", precision.rawValue])
            let (name, loaded) = try await options.load()
            let info = loaded.info
            if json {
                var fields: [(String, String)] = [("model", JSONLine.string(name)), ("folder", JSONLine.string(loaded.directory)),
                                                  ("family", JSONLine.string(info.family)), ("model_type", JSONLine.string(info.modelType)),
                                                  ("towers", "[" + info.towers.map(JSONLine.string).joined(separator: ", ") + "]")]
                if let d = info.textDimension { fields.append(("text_dimension", "\(d)")) }
                if let d = info.imageDimension { fields.append(("image_dimension", "\(d)")) }
                if let s = info.imageSize { fields.append(("image_size", "\(s)")) }
                if let t = info.tokenizerType { fields.append(("tokenizer", JSONLine.string(t))) }
                if let t = info.tokenizerSummary { fields.append(("tokenizer_pipeline", JSONLine.string(t))) }
                if let m = info.maxTokens { fields.append(("max_tokens", "\(m)")) }
                if let scale = info.logitScale { fields.append(("logit_scale", "\(scale)")); fields.append(("logit_bias", "\(info.logitBias ?? 0)")) }
                fields.append(("precision", JSONLine.string(info.precision.rawValue)))
                fields.append(("kernel", JSONLine.string(info.precision.kernelDescription)))
                print(JSONLine.object(fields))
                return
            }
            print("model:      \(name)\nfolder:     \(loaded.directory)\nfamily:     \(info.family) (\(info.modelType))")
            print("towers:     \(info.towers.joined(separator: " + "))")
            if let d = info.textDimension { print("text dim:   \(d)") }
            if let d = info.imageDimension { print("image dim:  \(d)" + (info.imageSize.map { " (\($0)×\($0) input)" } ?? "")) }
            if let t = info.tokenizerSummary ?? info.tokenizerType { print("tokenizer:  \(t)") }
            if let m = info.maxTokens { print("max tokens: \(m)" + (info.family == "SigLIP" ? " (every text padded to this length)" : "")) }
            if let scale = info.logitScale {
                print("sigmoid:    logit_scale \(scale), logit_bias \(info.logitBias ?? 0) (match probability = sigmoid(cosine · exp(scale) + bias))")
            }
            print("precision:  \(info.precision.rawValue) (\(info.precision.kernelDescription))")
        }
    }
}
