import COpenBLAS

/// A fully connected layer, y = x·Wᵀ + b, as PyTorch's nn.Linear stores it.
/// out is (N, OC), inp is (N, C), weight is (OC, C), bias is (OC) or nil.
/// OpenBLAS runs single-threaded here and the product is split across the worker pool — by rows when there are
/// enough, else by output columns — so OpenBLAS's own threads never spin against the pool on the same cores.
public func linear(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   rows N: Int, inFeatures C: Int, outFeatures OC: Int) {
    _ = openBLASSingleThreaded
    if let bias {
        for r in 0..<N { (out + r * OC).update(from: bias, count: OC) }
    }
    let beta: Float = bias == nil ? 0 : 1
    if N >= 32 {
        parallelChunks(N, minimumPerChunk: 16) { rows in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(OC), Int32(C),
                        1, inp + rows.lowerBound * C, Int32(C), weight, Int32(C), beta, out + rows.lowerBound * OC, Int32(OC))
        }
    } else {
        parallelChunks(OC, minimumPerChunk: 256) { columns in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(columns.count), Int32(C),
                        1, inp, Int32(C), weight + columns.lowerBound * C, Int32(C), beta, out + columns.lowerBound, Int32(OC))
        }
    }
}

let openBLASSingleThreaded: Void = openblas_set_num_threads(1)
