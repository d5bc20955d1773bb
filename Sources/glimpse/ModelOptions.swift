import ArgumentParser
import GlimpseTensor

extension Precision: ExpressibleByArgument {}

/// Flags shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Hugging Face model folder (config.json, model.safetensors, tokenizer.json, preprocessor_config.json).")
    var model: String

    @Option(help: "Matrix-product precision: fp32 (exact) or bf16 (about 2× faster images, cosine ≥ 0.999).")
    var precision: Precision = .fp32
}
