/// The post-processor of a tokenizer.json: adds the special tokens around a sequence ([CLS] … [SEP], <s> … </s>).
indirect enum PostProcessor {
    /// A template item: a special token's ids, or the sequence itself, with a type id.
    enum Item { case special([Int], [String], typeId: Int), sequence(typeId: Int) }
    case template([Item])
    case byteLevel
    case sequence([PostProcessor])

    init(_ c: Component) throws {
        switch c.type {
        case "TemplateProcessing":
            let specials = (c.values["special_tokens"] as? [String: Any]) ?? [:]
            var items: [Item] = []
            for (i, raw) in try c.list("single").enumerated() {
                guard let entry = raw as? [String: Any] else { throw c.error("single[\(i)] is not an object") }
                if let special = entry["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    guard let info = specials[name] as? [String: Any], let ids = (info["ids"] as? [Any])?.compactMap(jsonInt) else {
                        throw c.error("special token \(name.debugDescription) has no ids in special_tokens")
                    }
                    let tokens = (info["tokens"] as? [String]) ?? Array(repeating: name, count: ids.count)
                    items.append(.special(ids, tokens, typeId: jsonInt(special["type_id"]) ?? 0))
                } else if let sequence = entry["Sequence"] as? [String: Any] {
                    items.append(.sequence(typeId: jsonInt(sequence["type_id"]) ?? 0))
                } else {
                    throw c.error("single[\(i)] is neither SpecialToken nor Sequence")
                }
            }
            self = .template(items)
        case "BertProcessing", "RobertaProcessing":
            func pair(_ key: String) throws -> (String, Int) {
                guard let p = c.values[key] as? [Any], p.count == 2, let t = p[0] as? String, let id = jsonInt(p[1]) else {
                    throw c.error("\(key) should be [token, id]")
                }
                return (t, id)
            }
            let cls = try pair("cls"), sep = try pair("sep")
            self = .template([.special([cls.1], [cls.0], typeId: 0), .sequence(typeId: 0), .special([sep.1], [sep.0], typeId: 0)])
        case "ByteLevel": self = .byteLevel
        case "Sequence": self = .sequence(try c.components("processors").map(PostProcessor.init))
        default: throw c.unsupported()
        }
    }

    var name: String {
        switch self {
        case .template: "Template"
        case .byteLevel: "ByteLevel"
        case let .sequence(list): list.map(\.name).joined(separator: "+")
        }
    }

    /// The encoding with the special tokens added.
    func process(_ e: Encoding) -> Encoding {
        switch self {
        case .byteLevel: return e
        case let .sequence(list): return list.reduce(e) { $1.process($0) }
        case let .template(items):
            var out = Encoding(ids: [], tokens: [], typeIds: [], specialTokensMask: [])
            for item in items {
                switch item {
                case let .special(ids, tokens, typeId):
                    out.ids += ids; out.tokens += tokens
                    out.typeIds += Array(repeating: typeId, count: ids.count); out.specialTokensMask += Array(repeating: 1, count: ids.count)
                case let .sequence(typeId):
                    out.ids += e.ids; out.tokens += e.tokens
                    out.typeIds += Array(repeating: typeId, count: e.ids.count); out.specialTokensMask += e.specialTokensMask
                }
            }
            return out
        }
    }

    /// How many ids it adds to a single sequence.
    var addedTokens: Int { process(Encoding(ids: [], tokens: [], typeIds: [], specialTokensMask: [])).ids.count }
}
