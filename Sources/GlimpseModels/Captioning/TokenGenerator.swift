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

    /// Decodes from `session` (R = numBeams rows against one image).
    public func generate(_ makeSession: (_ rows: Int, _ capacity: Int) -> any DecoderSession) throws -> GeneratedSequence {
        guard let start = config.startTokenId else { throw GenerationError.noStartToken }
        let maxLength = config.effectiveMaxLength
        if maxLength <= 1 { return GeneratedSequence(ids: [start], score: nil) }
        let session = makeSession(config.numBeams, maxLength)
        return config.numBeams == 1 ? greedy(session, start: start, maxLength: maxLength)
                                    : beamSearch(session, start: start, maxLength: maxLength)
    }

    func greedy(_ session: any DecoderSession, start: Int, maxLength: Int) -> GeneratedSequence {
        var ids = [start]
        while ids.count < maxLength {
            var scores = session.step([ids.last!])
            process(&scores, sequence: ids)
            let next = argmax(scores)
            ids.append(next)
            if config.eosTokenIds.contains(next) { break }
        }
        return GeneratedSequence(ids: ids, score: nil)
    }

    /// transformers' vectorised beam search (`GenerationMixin._beam_search`) for one input: running beams and
    /// finished hypotheses each kept as `numBeams` slots.
    func beamSearch(_ session: any DecoderSession, start: Int, maxLength: Int) -> GeneratedSequence {
        let beams = config.numBeams, eos = Set(config.eosTokenIds)
        let keep = max(2, 1 + config.eosTokenIds.count) * beams
        let penalty = Float(config.lengthPenalty)
        // Running beams: all start from the start token; only the first counts at step one.
        var running = [[Int]](repeating: [start], count: beams)
        var runningScores = [Float](repeating: Self.impossible, count: beams)
        runningScores[0] = 0
        var finished = [[Int]](repeating: [], count: beams)
        var finishedScores = [Float](repeating: Self.impossible, count: beams)
        var finishedReal = [Bool](repeating: false, count: beams)
        var improvable = true
        var length = 1   // tokens in every running beam

        while true {
            let logits = session.step(running.map { $0.last! })
            let V = logits.count / beams
            // Log-probabilities of every continuation, processed and added to the beam's score: (R, V).
            var candidates = [Float](repeating: 0, count: beams * V)
            for r in 0..<beams {
                var row = logSoftmax(logits[(r * V)..<((r + 1) * V)])
                process(&row, sequence: running[r])
                let base = runningScores[r]
                for v in 0..<V { candidates[r * V + v] = row[v] + base }
            }
            let top = topK(candidates, k: keep)   // indices into (R, V), best first
            let topSequences = top.map { running[$0 / V] + [$0 % V] }
            let topScores = top.map { candidates[$0] }
            let hitsLimit = length + 1 >= maxLength
            let stops = topSequences.map { hitsLimit || eos.contains($0.last!) }

            // Finished hypotheses: the top `beams` candidates that stop, scored with the length penalty, compete
            // with those already finished for the `beams` slots.
            let lengthScale = Float(pow(Double(length + 1 - 1), Double(penalty)))
            let full = finishedReal.allSatisfy { $0 } && config.earlyStopping == .always
            var mergedSequences = finished, mergedScores = finishedScores, mergedReal = finishedReal
            for k in 0..<keep {
                let justFinished = k < beams && stops[k]
                var score = topScores[k] / lengthScale
                if full { score += Self.impossible }
                if !justFinished { score += Self.impossible }
                if !improvable { score = Self.impossible }
                mergedSequences.append(topSequences[k]); mergedScores.append(score); mergedReal.append(justFinished)
            }
            let best = topK(mergedScores, k: beams)
            finished = best.map { mergedSequences[$0] }
            finishedScores = best.map { mergedScores[$0] }
            finishedReal = best.map { mergedReal[$0] }

            // Running beams for the next step: the best candidates that did not stop.
            let runningScoresAll = zip(topScores, stops).map { $0 + ($1 ? Self.impossible : 0) }
            let next = topK(runningScoresAll, k: beams)
            running = next.map { topSequences[$0] }
            runningScores = next.map { runningScoresAll[$0] }
            length += 1

            // Whether any running beam could still beat the worst finished hypothesis.
            let hypotheticalLength = config.earlyStopping == .never && penalty > 0 ? maxLength - 1 : length - 1
            let bestPossible = runningScores[0] / Float(pow(Double(hypotheticalLength), Double(penalty)))
            let worstFinished = finishedReal.allSatisfy { $0 } ? finishedScores.min()! : Self.impossible
            improvable = improvable && bestPossible > worstFinished
            let openBeam = !(finishedReal.allSatisfy { $0 } && config.earlyStopping == .always)
            let continuable = !stops.allSatisfy { $0 }
            if !(improvable && openBeam && continuable) || length >= maxLength { break }
            session.reorder(next.map { top[$0] / V })
        }
        return GeneratedSequence(ids: finished[0], score: finishedScores[0])
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
