/// Placeholder: bf16 products are computed in fp32 until the oneDNN path lands.
final class BF16Matmul: @unchecked Sendable {
    let weight: UnsafePointer<Float>
    let outFeatures: Int
    let inFeatures: Int
    init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        self.weight = weight; self.outFeatures = outFeatures; self.inFeatures = inFeatures
    }
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int) {
        linear(out, inp, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    }
}
