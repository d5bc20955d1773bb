import Foundation

/// Thumbnails in the terminal through the iTerm2 inline-image protocol (also understood by WezTerm and others).
enum InlineImage {
    static func print(path: String, widthCells: Int = 20) {
        guard let data = FileManager.default.contents(atPath: path), data.count < 20_000_000 else { return }
        let name = Data((path as NSString).lastPathComponent.utf8).base64EncodedString()
        Swift.print("\u{1B}]1337;File=name=\(name);inline=1;width=\(widthCells);preserveAspectRatio=1:\(data.base64EncodedString())\u{07}")
    }
}
