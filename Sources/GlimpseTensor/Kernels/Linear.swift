import COpenBLAS

/// A fully connected layer, y = x·Wᵀ + b, as PyTorch's nn.Linear stores it.
/// out is (N, OC), inp is (N, C), weight is (OC, C), bias is (OC) or nil.
public func linear(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   rows N: Int, inFeatures C: Int, outFeatures OC: Int) {
    if let bias {
        for r in 0..<N { (out + r * OC).update(from: bias, count: OC) }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(OC), Int32(C),
                1, inp, Int32(C), weight, Int32(C), bias == nil ? 0 : 1, out, Int32(OC))
}
