import Foundation

/// The image half of a Hugging Face `preprocessor_config.json`, with
/// `CLIPImageProcessor`'s defaults for every missing key.
///
/// Keys that do not affect CLIP preprocessing (`image_processor_type`, `processor_class`,
/// `feature_extractor_type`, ...) are ignored. `size` and `crop_size` may be written as
/// a dictionary or, in older configs, as a bare integer (meaning shortest edge and
/// square crop respectively, as `transformers.get_size_dict` reads them).
public struct ImagePreprocessorConfig: Decodable, Sendable, Equatable {
    /// How the resize target is expressed.
    public enum Size: Sendable, Equatable {
        /// Scale so the shorter side equals `shortestEdge`; if `longestEdge` is set,
        /// shrink further so the longer side does not exceed it.
        case shortestEdge(Int, longestEdge: Int? = nil)
        /// Resize to exactly this size, ignoring aspect ratio.
        case exact(height: Int, width: Int)
    }

    public var doResize: Bool = true
    public var size: Size = .shortestEdge(224)
    public var resample: ResampleFilter = .bicubic
    public var doCenterCrop: Bool = true
    /// (height, width)
    public var cropSize: (height: Int, width: Int) = (224, 224)
    public var doRescale: Bool = true
    public var rescaleFactor: Double = 1.0 / 255.0
    public var doNormalize: Bool = true
    /// OpenAI CLIP's statistics (`OPENAI_CLIP_MEAN` / `OPENAI_CLIP_STD`).
    public var imageMean: [Double] = [0.48145466, 0.4578275, 0.40821073]
    public var imageStd: [Double] = [0.26862954, 0.26130258, 0.27577711]
    /// Decoding always yields RGB, so this is informational.
    public var doConvertRGB: Bool = true

    /// `CLIPImageProcessor`'s defaults (224 shortest edge, 224×224 crop, bicubic).
    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.doResize == b.doResize && a.size == b.size && a.resample == b.resample
            && a.doCenterCrop == b.doCenterCrop && a.cropSize == b.cropSize
            && a.doRescale == b.doRescale && a.rescaleFactor == b.rescaleFactor
            && a.doNormalize == b.doNormalize && a.imageMean == b.imageMean
            && a.imageStd == b.imageStd && a.doConvertRGB == b.doConvertRGB
    }

    /// Reads a `preprocessor_config.json`.
    public init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        self = try JSONDecoder().decode(Self.self, from: data)
    }

    private enum Keys: String, CodingKey {
        case doResize = "do_resize", size, resample, doCenterCrop = "do_center_crop", cropSize = "crop_size"
        case doRescale = "do_rescale", rescaleFactor = "rescale_factor", doNormalize = "do_normalize"
        case imageMean = "image_mean", imageStd = "image_std", doConvertRGB = "do_convert_rgb"
    }

    /// `{"shortest_edge": n}`, `{"height": h, "width": w}`, ... as transformers writes them.
    private struct SizeDictionary: Decodable {
        var shortestEdge: Int?
        var longestEdge: Int?
        var height: Int?
        var width: Int?
        enum CodingKeys: String, CodingKey {
            case shortestEdge = "shortest_edge", longestEdge = "longest_edge", height, width
        }
    }

    /// A number or a list of numbers (per channel).
    private static func decodeChannels(_ c: KeyedDecodingContainer<Keys>, _ key: Keys) throws -> [Double]? {
        if let list = try? c.decodeIfPresent([Double].self, forKey: key) { return list }
        if let single = try c.decodeIfPresent(Double.self, forKey: key) { return [single, single, single] }
        return nil
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        func flag(_ key: Keys, _ fallback: Bool) throws -> Bool {
            try c.decodeIfPresent(Bool.self, forKey: key) ?? fallback
        }
        doResize = try flag(.doResize, doResize)
        doCenterCrop = try flag(.doCenterCrop, doCenterCrop)
        doRescale = try flag(.doRescale, doRescale)
        doNormalize = try flag(.doNormalize, doNormalize)
        doConvertRGB = try flag(.doConvertRGB, doConvertRGB)

        if let n = try? c.decodeIfPresent(Int.self, forKey: .size) {
            size = .shortestEdge(n)
        } else if let d = try c.decodeIfPresent(SizeDictionary.self, forKey: .size) {
            if let short = d.shortestEdge {
                size = .shortestEdge(short, longestEdge: d.longestEdge)
            } else if let h = d.height, let w = d.width {
                size = .exact(height: h, width: w)
            } else {
                throw DecodingError.dataCorruptedError(
                    forKey: .size, in: c,
                    debugDescription: "size needs shortest_edge or height and width")
            }
        }
        if let n = try? c.decodeIfPresent(Int.self, forKey: .cropSize) {
            cropSize = (n, n)
        } else if let d = try c.decodeIfPresent(SizeDictionary.self, forKey: .cropSize) {
            guard let h = d.height, let w = d.width else {
                throw DecodingError.dataCorruptedError(
                    forKey: .cropSize, in: c, debugDescription: "crop_size needs height and width")
            }
            cropSize = (h, w)
        }
        if let r = try c.decodeIfPresent(Int.self, forKey: .resample) {
            guard let filter = ResampleFilter(rawValue: r) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .resample, in: c, debugDescription: "unknown resample filter \(r)")
            }
            resample = filter
        }
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? rescaleFactor
        imageMean = try Self.decodeChannels(c, .imageMean) ?? imageMean
        imageStd = try Self.decodeChannels(c, .imageStd) ?? imageStd
        guard imageMean.count == 3, imageStd.count == 3 else {
            throw DecodingError.dataCorruptedError(
                forKey: .imageMean, in: c, debugDescription: "image_mean and image_std need 3 values")
        }
    }
}
