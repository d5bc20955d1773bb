/// Which text encoders embed into which image model's space. A multilingual sentence encoder distilled from CLIP
/// (sentence-transformers' multilingual knowledge distillation) answers queries against a library built with that
/// CLIP, with no re-indexing; any other pairing gives meaningless scores even when the sizes agree.
public enum ModelPairing {
    /// Public text models and the image models whose space they were trained into (Hub ids, lower-cased).
    public static let known: [String: [String]] = [
        "sentence-transformers/clip-vit-b-32-multilingual-v1": ["openai/clip-vit-base-patch32", "sentence-transformers/clip-vit-b-32"],
    ]

    /// Checks a text model for a library built with `imageModel`. A known public text model must be paired with one
    /// of its image models; a local folder (or an unlisted id) is accepted when the dimensions agree.
    public static func check(textModel: String, textDimension: Int, imageModel: String, imageDimension: Int) throws {
        guard textDimension == imageDimension else {
            throw PairingError.dimensionMismatch(textModel: textModel, textDimension: textDimension, imageModel: imageModel, imageDimension: imageDimension)
        }
        if let partners = known[textModel.lowercased()], !partners.contains(imageModel.lowercased()), isHubID(imageModel) {
            throw PairingError.notPaired(textModel: textModel, imageModel: imageModel, partners: partners)
        }
    }

    static func isHubID(_ name: String) -> Bool {
        !name.hasPrefix("/") && !name.hasPrefix(".") && !name.hasPrefix("~") && name.split(separator: "/").count == 2
    }
}

public enum PairingError: Error, CustomStringConvertible, Equatable {
    case dimensionMismatch(textModel: String, textDimension: Int, imageModel: String, imageDimension: Int)
    case notPaired(textModel: String, imageModel: String, partners: [String])

    public var description: String {
        switch self {
        case let .dimensionMismatch(t, td, i, id):
            "text model \(t) embeds into \(td) dimensions but the library's image model \(i) into \(id): they cannot be searched together"
        case let .notPaired(t, i, partners):
            "text model \(t) was trained into the space of \(partners.joined(separator: " / ")), not of the library's image model \(i)"
        }
    }
}
