import Foundation

// Dimension key: R rows (beams), V vocabulary size, K candidates kept per step.

/// One generated sequence: the ids (start token first, end-of-sequence last when it ended), and for beam search
/// the length-penalised score transformers reports as `sequences_scores`.
public struct GeneratedSequence: Sendable, Equatable {
    public var ids: [Int]
    public var score: Float?
}

/// Greedy decoding and beam search exactly as transformers' `generate()` runs them for one input (batch size 1),
/// including its logits processors (minimum length, repetition penalty, no-repeat n-grams). Arithmetic is Float32,
/// as in PyTorch, so ties break the same way up to rounding.
public struct TokenGenerator: Sendable {
    public let config: GenerationConfig

    public init(config: GenerationConfig) { self.config = config }

    /// Scores transformers' beam search gives rejected beams and finished-slot placeholders.
    static let impossible: Float = -1.0e9

    public enum GenerationError: Error, CustomStringConvertible {
        case noStartToken
        public var description: String { "the model names no decoder_start_token_id or bos_token_id to start captions from" }
    }

    /// Decodes `images` inputs together: one session of `images × numBeams` rows (image i owns rows
    /// i·numBeams ..< (i+1)·numBeams), so that each step reads the decoder's weights once for every image. Each
    /// image's search is independent and exactly the one transformers runs for it alone; an image that finished
    /// early keeps being fed a token (its rows are ignored) until all are done.
    public func generate(images: Int, _ makeSession: (_ rows: Int, _ capacity: Int) -> any DecoderSession) throws -> [GeneratedSequence] {
        guard let start = config.startTokenId else { throw GenerationError.noStartToken }
        let maxLength = config.effectiveMaxLength, R = config.numBeams
        var searches: [any SearchState] = (0..<images).map { _ -> any SearchState in
            if R == 1 { return GreedySearch(generator: self, start: start, maxLength: maxLength) }
            return BeamSearch(generator: self, start: start, maxLength: maxLength)
        }
        guard images > 0, searches.contains(where: { !$0.finished }) else { return searches.map { $0.result } }
        let session = makeSession(images * R, maxLength)
        while searches.contains(where: { !$0.finished }) {
            let tokens = searches.flatMap { $0.finished ? [Int](repeating: start, count: R) : $0.nextTokens }
            let logits = session.step(tokens)
            let V = logits.count / (images * R)
            var sources = Array(0..<(images * R)), moved = false
            for i in searches.indices where !searches[i].finished {
                if let local = searches[i].advance(logits[(i * R * V)..<((i + 1) * R * V)], vocabulary: V) {
                    for (r, source) in local.enumerated() where source != r { sources[i * R + r] = i * R + source; moved = true }
                }
            }
            if moved { session.reorder(sources) }
        }
        return searches.map { $0.result }
    }

    /// Decodes one input (R = numBeams rows).
    public func generate(_ makeSession: (_ rows: Int, _ capacity: Int) -> any DecoderSession) throws -> GeneratedSequence {
        try generate(images: 1, makeSession)[0]
    }

    /// transformers' logits processors, in its order, on one row's scores for the token after `sequence`.
    func process(_ scores: inout [Float], sequence: [Int]) {
        if config.repetitionPenalty != 1 {
            let p = Float(config.repetitionPenalty)
            for id in Set(sequence) where id < scores.count {
                scores[id] = scores[id] < 0 ? scores[id] * p : scores[id] / p
            }
        }
        let n = config.noRepeatNgramSize
        if n > 0, sequence.count + 1 >= n {
            // Ban every token that would complete an n-gram already in the sequence.
            let prefix = Array(sequence.suffix(n - 1))
            if n == 1 {
                for id in sequence where id < scores.count { scores[id] = -.infinity }
            } else if sequence.count >= n {
                for i in 0...(sequence.count - n) where Array(sequence[i..<(i + n - 1)]) == prefix {
                    let banned = sequence[i + n - 1]
                    if banned < scores.count { scores[banned] = -.infinity }
                }
            }
        }
        if sequence.count < config.effectiveMinLength {
            for id in config.eosTokenIds where id < scores.count { scores[id] = -.infinity }
        }
    }
}

/// The index of the largest value (the first one on ties, as torch.argmax).
func argmax(_ x: [Float]) -> Int {
    var best = 0
    for i in 1..<x.count where x[i] > x[best] { best = i }
    return best
}

/// log_softmax in Float32: x - max - log(Σ exp(x - max)).
func logSoftmax(_ x: ArraySlice<Float>) -> [Float] {
    let m = x.max() ?? 0
    var sum: Float = 0
    for v in x { sum += expf(v - m) }
    let logSum = logf(sum)
    return x.map { $0 - m - logSum }
}

/// Indices of the k largest values, largest first; ties keep the lower index first.
func topK(_ x: [Float], k: Int) -> [Int] {
    var heap: [Int] = []   // kept sorted, best first; k is small
    heap.reserveCapacity(k + 1)
    for i in x.indices {
        if heap.count == k, !(x[i] > x[heap[k - 1]]) { continue }
        var lo = 0, hi = heap.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[heap[mid]] >= x[i] { lo = mid + 1 } else { hi = mid }
        }
        heap.insert(i, at: lo)
        if heap.count > k { heap.removeLast() }
    }
    return heap
}

/// One input's search, advanced one token at a time by `TokenGenerator.generate(images:)`.
protocol SearchState {
    var finished: Bool { get }
    /// The token each of the input's rows is fed next.
    var nextTokens: [Int] { get }
    /// Takes the logits (R, V) of the input's rows; returns, when the search continues, which of its rows each row
    /// continues from (nil: no reordering, or the search just finished).
    mutating func advance(_ logits: ArraySlice<Float>, vocabulary V: Int) -> [Int]?
    var result: GeneratedSequence { get }
}

/// Greedy decoding (transformers' `_sample` without sampling): the best-scoring token after the logits processors.
struct GreedySearch: SearchState {
    let generator: TokenGenerator
    let maxLength: Int
    var ids: [Int]
    var finished: Bool

    init(generator: TokenGenerator, start: Int, maxLength: Int) {
        self.generator = generator; self.maxLength = maxLength; ids = [start]; finished = maxLength <= 1
    }

    var nextTokens: [Int] { [ids.last!] }

    mutating func advance(_ logits: ArraySlice<Float>, vocabulary V: Int) -> [Int]? {
        var scores = Array(logits)
        generator.process(&scores, sequence: ids)
        let next = argmax(scores)
        ids.append(next)
        finished = generator.config.eosTokenIds.contains(next) || ids.count >= maxLength
        return nil
    }

    var result: GeneratedSequence { GeneratedSequence(ids: ids, score: nil) }
}

/// transformers' vectorised beam search (`GenerationMixin._beam_search`) for one input: `numBeams` running beams
/// and `numBeams` slots of finished hypotheses.
struct BeamSearch: SearchState {
    let generator: TokenGenerator
    let maxLength: Int, beams: Int, keep: Int
    let eos: Set<Int>
    let penalty: Float
    var running: [[Int]]
    var runningScores: [Float]
    var finishedSequences: [[Int]]
    var finishedScores: [Float]
    var finishedReal: [Bool]
    var improvable = true
    var length = 1   // tokens in every running beam
    var finished: Bool

    init(generator: TokenGenerator, start: Int, maxLength: Int) {
        let config = generator.config
        self.generator = generator; self.maxLength = maxLength
        beams = config.numBeams; eos = Set(config.eosTokenIds); penalty = Float(config.lengthPenalty)
        keep = max(2, 1 + config.eosTokenIds.count) * beams
        // All beams start from the start token; only the first counts at step one.
        running = [[Int]](repeating: [start], count: beams)
        runningScores = [Float](repeating: TokenGenerator.impossible, count: beams)
        runningScores[0] = 0
        finishedSequences = [[Int]](repeating: [], count: beams)
        finishedScores = [Float](repeating: TokenGenerator.impossible, count: beams)
        finishedReal = [Bool](repeating: false, count: beams)
        finished = maxLength <= 1
        if finished { finishedSequences[0] = [start] }
    }

    var nextTokens: [Int] { running.map { $0.last! } }

    mutating func advance(_ logits: ArraySlice<Float>, vocabulary V: Int) -> [Int]? {
        let impossible = TokenGenerator.impossible
        let base = logits.startIndex
        // Log-probabilities of every continuation, processed and added to the beam's score: (R, V).
        var candidates = [Float](repeating: 0, count: beams * V)
        for r in 0..<beams {
            var row = logSoftmax(logits[(base + r * V)..<(base + (r + 1) * V)])
            generator.process(&row, sequence: running[r])
            let score = runningScores[r]
            for v in 0..<V { candidates[r * V + v] = row[v] + score }
        }
        let top = topK(candidates, k: keep)   // indices into (R, V), best first
        let topSequences = top.map { running[$0 / V] + [$0 % V] }
        let topScores = top.map { candidates[$0] }
        let hitsLimit = length + 1 >= maxLength
        let stops = topSequences.map { hitsLimit || eos.contains($0.last!) }

        // Finished hypotheses: the top `beams` candidates that stop, scored with the length penalty (generated
        // tokens, the last one included), compete with those already finished for the `beams` slots.
        let lengthScale = Float(pow(Double(length), Double(penalty)))
        let full = finishedReal.allSatisfy { $0 } && generator.config.earlyStopping == .always
        var mergedSequences = finishedSequences, mergedScores = finishedScores, mergedReal = finishedReal
        for k in 0..<keep {
            let justFinished = k < beams && stops[k]
            var score = topScores[k] / lengthScale
            if full { score += impossible }
            if !justFinished { score += impossible }
            if !improvable { score = impossible }
            mergedSequences.append(topSequences[k]); mergedScores.append(score); mergedReal.append(justFinished)
        }
        let best = topK(mergedScores, k: beams)
        finishedSequences = best.map { mergedSequences[$0] }
        finishedScores = best.map { mergedScores[$0] }
        finishedReal = best.map { mergedReal[$0] }

        // Running beams for the next step: the best candidates that did not stop.
        let runningScoresAll = zip(topScores, stops).map { $0 + ($1 ? impossible : 0) }
        let next = topK(runningScoresAll, k: beams)
        running = next.map { topSequences[$0] }
        runningScores = next.map { runningScoresAll[$0] }
        length += 1

        // Whether any running beam could still beat the worst finished hypothesis (sticky once false).
        let hypotheticalLength = generator.config.earlyStopping == .never && penalty > 0 ? maxLength - 1 : length - 1
        let bestPossible = runningScores[0] / Float(pow(Double(hypotheticalLength), Double(penalty)))
        let allFilled = finishedReal.allSatisfy { $0 }
        let worstFinished = allFilled ? finishedScores.min()! : impossible
        improvable = improvable && bestPossible > worstFinished
        let openBeam = !(allFilled && generator.config.earlyStopping == .always)
        let continuable = !stops.allSatisfy { $0 }
        if !(improvable && openBeam && continuable) || length >= maxLength {
            finished = true
            return nil
        }
        return next.map { top[$0] / V }
    }

    var result: GeneratedSequence { GeneratedSequence(ids: finishedSequences[0], score: finishedScores[0]) }
}
