import Foundation
import XCTest
@testable import GlimpseTensor

/// `pytorch_model.bin` read as data: the fixture (make_caption_fixtures.py: torch.save of the vit-gpt2-tiny tensors,
/// with non-contiguous views, a shared storage and an int64 tensor) against the same tensors in safetensors, and
/// hostile archives that must fail cleanly.
final class PyTorchCheckpointTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models").path
    static let bin = models + "/vit-gpt2-tiny-bin/pytorch_model.bin"

    func testEveryTensorEqualsTheSafetensorsOne() throws {
        let torch = try PyTorchCheckpointFile(path: Self.bin)
        let reference = try SafetensorsFile(path: Self.models + "/vit-gpt2-tiny/model.safetensors")
        XCTAssertEqual(Set(reference.entries.keys).subtracting(torch.entries.keys), [])
        for name in reference.entries.keys {
            let a = try torch.tensor(name), b = try reference.tensor(name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(a.values, b.values, name)
        }
        // Stored as views: strides that are not the contiguous ones, and two tensors in one storage.
        let view = try XCTUnwrap(torch.entries["decoder.transformer.h.0.mlp.c_fc.weight"])
        XCTAssertNotEqual(view.strides, PyTorchCheckpointFile.contiguousStrides(view.shape))
        let wpe = try XCTUnwrap(torch.entries["decoder.transformer.wpe.weight"])
        let copy = try XCTUnwrap(torch.entries["decoder.transformer.wpe_copy_for_tests"])
        XCTAssertEqual(wpe.storage, copy.storage)
        XCTAssertNotEqual(wpe.storageOffset, copy.storageOffset)
        XCTAssertEqual(try torch.tensor("decoder.transformer.wpe_copy_for_tests").values, try torch.tensor("decoder.transformer.wpe.weight").values)
        // An element type Glimpse does not read is named, not mistaken for missing.
        XCTAssertThrowsError(try torch.tensor("decoder.transformer.position_ids_for_tests")) { error in
            XCTAssertTrue("\(error)".contains("LongStorage"), "\(error)")
        }
    }

    func testAFolderWithOnlyPytorchModelBinLoads() throws {
        let checkpoint = try SafetensorsCheckpoint(directory: Self.models + "/vit-gpt2-tiny-bin")
        XCTAssertTrue(checkpoint.has("decoder.transformer.wte.weight"))
        XCTAssertEqual(try checkpoint.tensor("decoder.transformer.wte.weight").values,
                       try SafetensorsCheckpoint(directory: Self.models + "/vit-gpt2-tiny").tensor("decoder.transformer.wte.weight").values)
    }

    func write(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "glimpse-bin-\(UUID().uuidString).bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func error(_ bytes: [UInt8]) throws -> String {
        do { _ = try PyTorchCheckpointFile(path: try write(bytes)); return "no error" } catch { return "\(error)" }
    }

    func testHostileFilesFailCleanly() throws {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: Self.bin)))
        // A pickle that asks for code: same length, so the archive stays valid (entries are stored, not compressed).
        func patched(_ from: String, _ to: String) -> [UInt8] {
            precondition(from.utf8.count == to.utf8.count)
            var bytes = original
            let needle = Array(from.utf8)
            guard let at = (0...(bytes.count - needle.count)).first(where: { Array(bytes[$0..<($0 + needle.count)]) == needle }) else { return bytes }
            bytes.replaceSubrange(at..<(at + needle.count), with: Array(to.utf8))
            return bytes
        }
        let code = try error(patched("collections\nOrderedDict\n", "subprocess\ncheck_output\n"))
        XCTAssertTrue(code.contains("subprocess.check_output"), code)
        XCTAssertTrue(code.contains("never runs"), code)
        // Truncated anywhere: an error, never a crash.
        for cut in [10, 100, original.count / 3, original.count / 2, original.count - 30, original.count - 1] {
            XCTAssertNotEqual(try error(Array(original.prefix(cut))), "no error", "cut at \(cut)")
        }
        // Random bytes, a legacy (non-zip) pickle, and a zip of something else.
        var generator = SystemRandomNumberGenerator()
        XCTAssertTrue(try error((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }).contains("ZIP"))
        XCTAssertTrue(try error([0x80, 0x02] + [UInt8](repeating: 0, count: 64)).contains("legacy"))
        // Storage keys, shapes and strides that point outside the storage.
        XCTAssertNotEqual(try error(patched("'1'", "'9'")), "")
        for _ in 0..<200 {
            var bytes = original
            for _ in 0..<8 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            if let file = try? PyTorchCheckpointFile(path: try write(bytes)) {
                for name in file.entries.keys { _ = try? file.tensor(name) }   // may fail, must not crash
            }
        }
    }
}
