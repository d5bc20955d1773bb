import CVipsShim
import Foundation

/// The recall@k chart of `glimpse eval --plot`: one panel per direction (text → image, image → text), one line per
/// search path. Written as SVG; PNG is the SVG rendered by libvips (librsvg), so no plotting library is needed.
public struct RecallChart: Sendable {
    public let report: EvalReport
    public var title: String

    public init(report: EvalReport, title: String) { self.report = report; self.title = title }

    static let colors: [SearchPath: String] = [.clip: "#1f77b4", .caption: "#ff7f0e", .hybrid: "#2ca02c"]

    public func svg() -> String {
        let panelWidth = 360.0, panelHeight = 260.0, left = 60.0, top = 60.0, gap = 70.0
        let width = left + 2 * panelWidth + gap + 30, height = top + panelHeight + 80
        let ks = report.ks.sorted()
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="26" text-anchor="middle" font-size="16" font-weight="bold">\(Self.escape(title))</text>

            """
        for (panel, name) in ["text → image", "image → text"].enumerated() {
            let x0 = left + Double(panel) * (panelWidth + gap), y0 = top
            func px(_ index: Int) -> Double { ks.count == 1 ? x0 + panelWidth / 2 : x0 + panelWidth * Double(index) / Double(ks.count - 1) }
            func py(_ recall: Double) -> Double { y0 + panelHeight * (1 - recall) }
            out += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 - 10)\" text-anchor=\"middle\" font-size=\"13\">\(name)</text>\n"
            out += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
            for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
                out += "<line x1=\"\(x0)\" x2=\"\(x0 + panelWidth)\" y1=\"\(py(tick))\" y2=\"\(py(tick))\" stroke=\"#ddd\"/>\n"
                out += "<text x=\"\(x0 - 6)\" y=\"\(py(tick) + 4)\" text-anchor=\"end\" font-size=\"11\">\(Int(tick * 100))%</text>\n"
            }
            for (i, k) in ks.enumerated() {
                out += "<text x=\"\(px(i))\" y=\"\(y0 + panelHeight + 16)\" text-anchor=\"middle\" font-size=\"11\">\(k)</text>\n"
            }
            out += "<text x=\"\(x0 + panelWidth / 2)\" y=\"\(y0 + panelHeight + 34)\" text-anchor=\"middle\" font-size=\"12\">k</text>\n"
            if panel == 0 {
                out += "<text x=\"16\" y=\"\(y0 + panelHeight / 2)\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 16 \(y0 + panelHeight / 2))\">recall@k</text>\n"
            }
            for evaluation in report.paths {
                let scores = panel == 0 ? evaluation.textToImage : evaluation.imageToText
                let color = Self.colors[evaluation.path] ?? "black"
                let points = ks.enumerated().map { "\(px($0.offset)),\(py(scores.recall[$0.element] ?? 0))" }
                out += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
                for point in points {
                    let xy = point.split(separator: ",")
                    out += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3.5\" fill=\"\(color)\"/>\n"
                }
            }
        }
        for (i, evaluation) in report.paths.enumerated() {
            let x = left + Double(i) * 130, y = height - 18
            let color = Self.colors[evaluation.path] ?? "black"
            out += "<line x1=\"\(x)\" x2=\"\(x + 24)\" y1=\"\(y - 4)\" y2=\"\(y - 4)\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            out += "<text x=\"\(x + 30)\" y=\"\(y)\" font-size=\"12\">\(evaluation.path.rawValue)</text>\n"
        }
        return out + "</svg>\n"
    }

    /// The chart as PNG bytes, rendered at twice the SVG's size.
    public func png() throws -> Data {
        let document = svg()
        var out: UnsafeMutableRawPointer?
        var length = 0
        let status = document.withCString { glimpse_vips_svg_to_png($0, strlen($0), 144, &out, &length) }
        guard status == 0, let out else {
            var reason = "libvips could not render the chart (is it built with librsvg?)"
            if let message = glimpse_vips_take_error() {
                reason += ": " + String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
                glimpse_vips_free(message)
            }
            throw EvalDatasetError(file: "chart", reason)
        }
        defer { glimpse_vips_free(out) }
        return Data(bytes: out, count: length)
    }

    /// Writes the chart to `path`: PNG for `.png`, else SVG.
    public func write(to path: String) throws {
        let data = (path as NSString).pathExtension.lowercased() == "png" ? try png() : Data(svg().utf8)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
