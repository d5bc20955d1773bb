/// What encoding a text gives: ids, their spellings, type ids and which ids are special tokens.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var tokens: [String]
    public var typeIds: [Int]
    public var specialTokensMask: [Int]

    public init(ids: [Int], tokens: [String], typeIds: [Int], specialTokensMask: [Int]) {
        self.ids = ids; self.tokens = tokens; self.typeIds = typeIds; self.specialTokensMask = specialTokensMask
    }
}
