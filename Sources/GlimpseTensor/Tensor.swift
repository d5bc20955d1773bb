/// A dense, row-major Float32 tensor: a shape and the buffer that holds its values.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let buffer: FloatBuffer

    public init(shape: [Int], buffer: FloatBuffer) {
        precondition(shape.reduce(1, *) == buffer.count, "shape \(shape) does not match \(buffer.count) values")
        self.shape = shape
        self.buffer = buffer
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, buffer: FloatBuffer(count: shape.reduce(1, *)))
    }

    public init(shape: [Int], values: [Float]) {
        self.init(shape: shape, buffer: FloatBuffer(values))
    }

    public var count: Int { buffer.count }
    public var pointer: UnsafeMutablePointer<Float> { buffer.pointer }
    public var values: [Float] { buffer.array }
}
