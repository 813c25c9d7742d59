import CYAML

/// Turns libyaml's event stream into a `YAMLNode` tree, without recursion: open lists and mappings
/// live on an explicit stack. Resolves anchors, aliases and merge keys, reports duplicate keys, and
/// enforces the nesting and node-count limits (counting every alias as the size of what it copies,
/// so an alias bomb is stopped after a bounded amount of work, never expanded).
///
/// The children of all open collections sit on one flat `NodeStack` (a mapping's as key, value,
/// key, value…); a collection's children are moved off it into an exactly sized array when it
/// ends. This keeps the per-node cost to about one String and one move.
struct YAMLTreeBuilder: ~Copyable {
    private let path: String
    private let limits: YAMLLoader.Limits
    private(set) var diagnostics: [Diagnostic] = []
    /// Set by any error that makes the tree unusable (the root is then withheld).
    private var failed = false
    /// The open lists and mappings, outermost first.
    private var frames: [Frame] = []
    private var extras: [Extras] = []
    /// The finished children of the open collections.
    private var nodes = NodeStack()
    private var root: YAMLNode?
    /// Nodes created so far, aliases counted as the size of their anchor's subtree.
    private var nodeCount = 0
    private var anchors: [String: Anchor] = [:]

    /// Up to this many keys a mapping finds duplicates by a linear scan; beyond, with an index.
    private static let linearScanLimit = 12

    private enum Anchor {
        /// The anchored list or mapping has started and not ended yet: an alias to it is recursive.
        case open
        case done(YAMLNode, size: Int, height: Int)
    }

    /// What the value that follows a mapping key is for.
    private enum KeyRole {
        case normal
        case merge
        /// The key repeats an earlier one: the value is parsed and dropped.
        case duplicate
    }

    /// An open list or mapping. Plain data, so pushing and popping it costs no reference counting;
    /// what few collections need beyond it lives in `extras`.
    private struct Frame {
        var isMapping: Bool
        /// For a mapping whose key is on the node stack waiting for its value: what the key is.
        var pendingRole: KeyRole = .normal
        /// Where its children start on the node stack.
        var start: Int
        /// Where it starts in the text (libyaml's 0-based mark).
        var line: Int
        var column: Int
        /// Nodes in this subtree, aliases expanded.
        var size = 1
        /// Levels of lists and mappings in this subtree, this one included.
        var height = 1
        /// Index of its `Extras` in `extras`, or -1.
        var extras = -1
    }

    /// The rarely needed parts of a frame.
    private struct Extras {
        var tag: String?
        var anchor: String?
        /// Node-stack index of each scalar key, built once the mapping outgrows a linear scan.
        var keyIndex: [String: Int]?
        /// Where this mapping's `<<` key was written.
        var mergeKeyLocation: SourceLocation?
        /// The mappings merged in, and the pair index where their keys go.
        var merge: (at: Int, sources: [[(key: YAMLNode, value: YAMLNode)]])?
        /// For a list that is the value of `<<`: where each item was written (an alias item's node
        /// carries its anchor's position, which is not where the mistake is).
        var itemLocations: [SourceLocation]?
    }

    /// The index of the `Extras` of frame `f`, created on first use. Only the innermost frame ever
    /// creates them, so `extras` is a stack in step with `frames`: a frame's extras are the last
    /// ones when it ends.
    private mutating func extrasIndex(of f: Int) -> Int {
        if frames[f].extras < 0 {
            frames[f].extras = extras.count
            extras.append(Extras())
        }
        return frames[f].extras
    }

    init(path: String, limits: YAMLLoader.Limits) {
        self.path = path
        self.limits = limits
    }

    // MARK: - Event loop

    /// Parses the document in `input` (valid UTF-8, no BOM). Returns the root, or nil when the
    /// stream is empty or an error made the tree unusable.
    mutating func build(_ input: UnsafeBufferPointer<UInt8>) -> YAMLNode? {
        guard let base = input.baseAddress, input.count > 0 else { return nil }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            error(.yamlSyntax, "cannot parse YAML: out of memory", at: location(line: 1, column: 1))
            return nil
        }
        defer { yaml_parser_delete(parser) }
        // The parser keeps a pointer to itself, hence the heap allocation above.
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, base, input.count)

        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }
        var documents = 0

        loop: while true {
            guard yaml_parser_parse(parser, event) == 1 else {
                reportSyntaxError(parser.pointee, input: input)
                break
            }
            defer { yaml_event_delete(event) }
            switch event.pointee.type {
            case YAML_SCALAR_EVENT:
                let s = event.pointee.data.scalar
                let text =
                    s.length == 0
                    ? "" : String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
                guard count(1, at: event.pointee.start_mark) else { break loop }
                nodes.push(
                    .scalar(text, Self.style(s.style)), at: location(event.pointee.start_mark), tag: Self.string(s.tag))
                if let anchor = Self.string(s.anchor) { anchors[anchor] = .done(nodes.top, size: 1, height: 0) }
                attach(size: 1, height: 0)

            case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
                let isMapping = event.pointee.type == YAML_MAPPING_START_EVENT
                let mark = event.pointee.start_mark
                guard frames.count < limits.maxDepth else {
                    error(
                        .nestingTooDeep,
                        "lists and mappings are nested too deeply (more than \(limits.maxDepth) levels); flatten this part of the file",
                        at: location(mark))
                    break loop
                }
                guard count(1, at: mark) else { break loop }
                frames.append(
                    Frame(isMapping: isMapping, start: nodes.count, line: Int(mark.line), column: Int(mark.column)))
                let data = event.pointee.data
                let tag = isMapping ? data.mapping_start.tag : data.sequence_start.tag
                let anchor = isMapping ? data.mapping_start.anchor : data.sequence_start.anchor
                let f = frames.count - 1
                if tag != nil || anchor != nil {
                    let x = extrasIndex(of: f)
                    extras[x].tag = Self.string(tag)
                    extras[x].anchor = Self.string(anchor)
                    if let anchor = extras[x].anchor { anchors[anchor] = .open }
                }
                if !isMapping, f > 0, frames[f - 1].isMapping, (nodes.count - frames[f - 1].start) % 2 == 1,
                    frames[f - 1].pendingRole == .merge
                {
                    let x = extrasIndex(of: f)
                    extras[x].itemLocations = []
                }

            case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
                guard let frame = frames.popLast() else { break }
                let extra = frame.extras >= 0 ? extras.removeLast() : nil
                let loc = SourceLocation(path: path, line: frame.line + 1, column: frame.column + 1)
                if frame.isMapping {
                    var pairs = nodes.popPairs(from: frame.start)
                    if let merge = extra?.merge { Self.insert(merge.sources, into: &pairs, at: merge.at) }
                    nodes.push(.mapping(pairs), at: loc, tag: extra?.tag)
                } else {
                    let items = nodes.popItems(from: frame.start)
                    nodes.push(.sequence(items), at: loc, tag: extra?.tag)
                }
                if let anchor = extra?.anchor {
                    anchors[anchor] = .done(nodes.top, size: frame.size, height: frame.height)
                }
                attach(size: frame.size, height: frame.height, itemLocations: extra?.itemLocations)

            case YAML_ALIAS_EVENT:
                let loc = location(event.pointee.start_mark)
                let name = Self.string(event.pointee.data.alias.anchor) ?? ""
                switch anchors[name] {
                case .done(let node, let size, let height)?:
                    guard frames.count + height <= limits.maxDepth else {
                        error(
                            .nestingTooDeep,
                            "lists and mappings are nested too deeply once alias `*\(name)` is expanded (more than \(limits.maxDepth) levels); flatten this part of the file",
                            at: loc)
                        break loop
                    }
                    guard count(size, at: event.pointee.start_mark, alias: name) else { break loop }
                    nodes.push(node)
                    attach(size: size, height: height, aliasAt: loc)
                case .open?:
                    error(
                        .unknownAlias,
                        "alias `*\(name)` is used inside the node its anchor `&\(name)` defines; recursive structures are not allowed",
                        at: loc)
                    addPlaceholder(at: loc)
                case nil:
                    error(
                        .unknownAlias, "unknown alias `*\(name)`; define the anchor `&\(name)` before this point",
                        at: loc)
                    addPlaceholder(at: loc)
                }

            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    error(
                        .multipleDocuments, "a rules file holds one YAML document; split it into several files",
                        at: location(event.pointee.start_mark))
                    break loop
                }

            case YAML_STREAM_END_EVENT:
                break loop

            default:  // stream start, document end
                break
            }
        }
        return failed ? nil : root.take()
    }

    // MARK: - Tree building

    /// Adds `n` nodes to the count; false (with E007 reported) when that crosses the limit.
    private mutating func count(_ n: Int, at mark: yaml_mark_t, alias: String? = nil) -> Bool {
        nodeCount += n
        guard nodeCount > limits.maxNodes else { return true }
        let loc = location(mark)
        if let alias {
            error(
                .documentTooLarge,
                "the document is too large: expanding alias `*\(alias)` takes it over \(limits.maxNodes) nodes; do not use aliases to multiply data",
                at: loc)
        } else {
            error(
                .documentTooLarge,
                "the document is too large (more than \(limits.maxNodes) nodes); split it into several files", at: loc)
        }
        return false
    }

    /// Stands in for a bad alias so that parsing goes on and later problems are reported too (the
    /// root is withheld anyway). An empty mapping, so that `<<: *missing` is not also an E009.
    private mutating func addPlaceholder(at loc: SourceLocation) {
        nodes.push(.mapping([]), at: loc, tag: nil)
        attach(size: 1, height: 0)
    }

    /// Attaches the finished node on top of the node stack to the innermost open collection (or
    /// makes it the root). `aliasAt` is where an alias was written (its node carries the anchor's
    /// position); `itemLocations`, for a list that is the value of `<<`, where its items were.
    /// Locations are only looked at when something is wrong, or for merges.
    private mutating func attach(
        size: Int, height: Int, aliasAt: SourceLocation? = nil, itemLocations: [SourceLocation]? = nil
    ) {
        let top = frames.count - 1
        guard top >= 0 else {
            root = nodes.pop()
            return
        }
        frames[top].size += size
        if height + 1 > frames[top].height { frames[top].height = height + 1 }

        let last = nodes.count - 1
        guard frames[top].isMapping else {
            if frames[top].extras >= 0, extras[frames[top].extras].itemLocations != nil {
                extras[frames[top].extras].itemLocations!.append(aliasAt ?? nodes.location(at: last))
            }
            return
        }
        let start = frames[top].start
        if (last - start) % 2 == 0 {  // a key
            frames[top].pendingRole = role(ofKeyAt: last, aliasAt: aliasAt, frame: top)
            return
        }
        switch frames[top].pendingRole {
        case .normal:
            let pairs = (last + 1 - start) / 2
            if pairs > Self.linearScanLimit {
                let x = extrasIndex(of: top)
                if extras[x].keyIndex == nil {
                    var index: [String: Int] = [:]
                    for i in stride(from: start, to: last, by: 2) {
                        if let text = nodes.scalarText(at: i) { index[text] = i }
                    }
                    extras[x].keyIndex = index
                } else if let text = nodes.scalarText(at: last - 1) {
                    extras[x].keyIndex![text] = last - 1
                }
            }
        case .merge:
            let loc = aliasAt ?? nodes.location(at: last)
            let value = nodes.pop()
            _ = nodes.pop()  // the `<<` key
            if let sources = mergeSources(value, writtenAt: loc, itemLocations: itemLocations) {
                let x = extrasIndex(of: top)
                extras[x].merge = ((nodes.count - start) / 2, sources)
            }
        case .duplicate:
            _ = nodes.pop()  // the value
            _ = nodes.pop()  // the repeated key; the first occurrence stays
        }
    }

    /// Classifies the mapping key at node-stack index `k`, reporting it when it repeats an earlier one.
    private mutating func role(ofKeyAt k: Int, aliasAt: SourceLocation?, frame f: Int) -> KeyRole {
        if nodes.isMergeKey(at: k) {
            let loc = aliasAt ?? nodes.location(at: k)
            let x = extrasIndex(of: f)
            if let first = extras[x].mergeKeyLocation {
                reportDuplicate("<<", first: first, at: loc)
                return .duplicate
            }
            extras[x].mergeKeyLocation = loc
            return .merge
        }
        let firstIndex: Int?
        if frames[f].extras >= 0, let index = extras[frames[f].extras].keyIndex {
            firstIndex = nodes.scalarText(at: k).flatMap { index[$0] }
        } else {
            firstIndex = nodes.indexOfEarlierKey(equalTo: k, from: frames[f].start)
        }
        guard let firstIndex else { return .normal }
        let loc = aliasAt ?? nodes.location(at: k)
        reportDuplicate(nodes.scalarText(at: k) ?? "", first: nodes.location(at: firstIndex), at: loc)
        return .duplicate
    }

    private mutating func reportDuplicate(_ key: String, first: SourceLocation, at loc: SourceLocation) {
        diagnostics.append(
            .error(
                .duplicateKey,
                "duplicate key `\(key)` (first at line \(first.line), column \(first.column)); remove one of them",
                at: loc))
    }

    /// The mappings a `<<` value merges in, or nil (with E009 reported) when it is not a mapping
    /// or a list of mappings.
    private mutating func mergeSources(
        _ value: borrowing YAMLNode, writtenAt loc: SourceLocation, itemLocations: [SourceLocation]?
    ) -> [[(key: YAMLNode, value: YAMLNode)]]? {
        switch value.kind {
        case .mapping(let pairs):
            return [pairs]
        case .sequence(let items):
            var sources: [[(key: YAMLNode, value: YAMLNode)]] = []
            sources.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .mapping(let pairs) = item.kind else {
                    let itemLoc = itemLocations.flatMap { i < $0.count ? $0[i] : nil } ?? item.location
                    error(
                        .invalidMerge,
                        "the merge key `<<` takes a mapping or a list of mappings, but item \(i + 1) of this list is \(item.kindDescription)",
                        at: itemLoc)
                    return nil
                }
                sources.append(pairs)
            }
            return sources
        case .scalar:
            error(
                .invalidMerge,
                "the merge key `<<` takes a mapping or a list of mappings, not \(value.kindDescription); write `<<: *anchor` or `<<: [*a, *b]`",
                at: loc)
            return nil
        }
    }

    /// Inserts merged keys at pair index `position`. Keys written in the mapping win over merged
    /// ones wherever they are, and earlier merged mappings win over later ones.
    private static func insert(
        _ sources: [[(key: YAMLNode, value: YAMLNode)]], into pairs: inout [(key: YAMLNode, value: YAMLNode)],
        at position: Int
    ) {
        let total = sources.reduce(pairs.count) { $0 + $1.count }
        var taken: Set<String>?
        if total > linearScanLimit {
            var set = Set<String>(minimumCapacity: total)
            for pair in pairs { if case .scalar(let text, _) = pair.key.kind { set.insert(text) } }
            taken = set
        }
        var inserted: [(key: YAMLNode, value: YAMLNode)] = []
        inserted.reserveCapacity(total - pairs.count)
        for source in sources {
            for pair in source {
                if case .scalar(let text, _) = pair.key.kind {
                    if taken != nil {
                        if !taken!.insert(text).inserted { continue }
                    } else if pairs.contains(where: { $0.key.scalar == text })
                        || inserted.contains(where: { $0.key.scalar == text })
                    {
                        continue
                    }
                }
                inserted.append(pair)
            }
        }
        pairs.insert(contentsOf: inserted, at: position)
    }

    // MARK: - Errors and helpers

    private mutating func error(_ code: DiagnosticCode, _ message: String, at loc: SourceLocation) {
        diagnostics.append(.error(code, message, at: loc))
        failed = true
    }

    private mutating func reportSyntaxError(_ parser: yaml_parser_t, input: UnsafeBufferPointer<UInt8>) {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            error(.yamlSyntax, "cannot parse YAML: out of memory", at: location(line: 1, column: 1))
        case YAML_READER_ERROR:
            // Reader errors carry a byte offset, not a mark.
            let offset = Int(parser.problem_offset)
            let (line, column) = YAMLTextScanner.lineAndColumn(of: offset, in: input, from: 0)
            var message = "invalid YAML: \(problem)"
            if parser.problem_value >= 0 {
                message += " (character U+\(Self.hex(Int(parser.problem_value), digits: 4)))"
            }
            message += "; remove it or write it as an escape sequence in a double-quoted string"
            error(.yamlSyntax, message, at: location(line: line, column: column))
        default:
            let mark = parser.problem_mark
            var message = "invalid YAML: \(problem)"
            let c = parser.context_mark
            // "while scanning for the next token" at the problem's own position says nothing new.
            if let context = parser.context.map({ String(cString: $0) }),
                context != "while scanning for the next token", c.line != mark.line || c.column != mark.column
            {
                message += " (\(context) that starts at line \(c.line + 1), column \(c.column + 1))"
            }
            let offset = YAMLTextScanner.offset(ofLine: Int(mark.line) + 1, column: Int(mark.column) + 1, in: input)
            message += Self.hint(for: problem, at: offset, in: input)
            error(.yamlSyntax, message, at: location(mark))
        }
    }

    /// Advice for libyaml's most common complaints.
    private static func hint(for problem: String, at offset: Int?, in input: UnsafeBufferPointer<UInt8>) -> String {
        switch problem {
        case "mapping values are not allowed in this context":
            return "; if a value contains `: `, put it in quotes, otherwise check the indentation"
        case "found character that cannot start any token":
            if let offset, offset < input.count, input[offset] == 0x09 {
                return "; indent with spaces, not tabs"
            }
            return "; a value starting with this character must be put in quotes"
        case "found a tab character that violates indentation",
            "found a tab character where an indentation space is expected":
            return "; indent with spaces, not tabs"
        case "did not find expected key", "did not find expected '-' indicator",
            "did not find expected <document start>":
            return "; check the indentation of this line"
        case "could not find expected ':'":
            return "; a key is missing its `:`, or a value running over several lines needs quotes"
        case "did not find expected ',' or ']'", "did not find expected ',' or '}'":
            return "; a `[` or `{` is not closed, or an item needs quotes"
        case "found unexpected end of stream":
            return "; a quote or bracket is not closed"
        case "found unknown escape character":
            return "; in double quotes write a backslash as `\\\\`, or use single quotes"
        case "found undefined tag handle":
            return "; declare the tag handle with `%TAG` or remove the tag"
        default:
            return ""
        }
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(path: path, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(path: path, line: line, column: column)
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }

    private static func style(_ s: yaml_scalar_style_t) -> YAMLNode.ScalarStyle {
        switch s {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }

    static func hex(_ value: Int, digits: Int) -> String {
        let s = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// A stack of nodes in manually managed memory, so that a finished collection's children can be
/// moved (not copied and released) into its array.
private struct NodeStack: ~Copyable {
    private var base: UnsafeMutablePointer<YAMLNode>
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 64
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    mutating func push(_ kind: consuming YAMLNode.Kind, at location: consuming SourceLocation, tag: consuming String?) {
        reserveOne()
        (base + count).initialize(to: YAMLNode(kind, at: location, tag: tag))
        count += 1
    }

    mutating func push(_ node: YAMLNode) {
        reserveOne()
        (base + count).initialize(to: node)
        count += 1
    }

    private mutating func reserveOne() {
        if count == capacity {
            let bigger = UnsafeMutablePointer<YAMLNode>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity *= 2
        }
    }

    mutating func pop() -> YAMLNode {
        count -= 1
        return (base + count).move()
    }

    /// The node on top (a copy).
    var top: YAMLNode { base[count - 1] }

    func location(at i: Int) -> SourceLocation { base[i].location }

    /// Whether the node at `i` is a merge key: a plain `<<`, untagged or tagged `!!merge`.
    func isMergeKey(at i: Int) -> Bool {
        guard case .scalar(let text, .plain) = base[i].kind, text == "<<" else { return false }
        return base[i].tag == nil || base[i].tag == "tag:yaml.org,2002:merge"
    }

    func scalarText(at i: Int) -> String? {
        if case .scalar(let text, _) = base[i].kind { return text }
        return nil
    }

    /// The index of an earlier scalar key with the same text as the one at `k`, looking at `start`,
    /// `start + 2`, … (the keys of a mapping's region).
    func indexOfEarlierKey(equalTo k: Int, from start: Int) -> Int? {
        guard case .scalar(let text, _) = base[k].kind else { return nil }
        var i = start
        while i < k {
            if case .scalar(let other, _) = base[i].kind, other == text { return i }
            i += 2
        }
        return nil
    }

    /// Moves the nodes from `start` up into an array.
    mutating func popItems(from start: Int) -> [YAMLNode] {
        let n = count - start
        var items: [YAMLNode] = []
        items.reserveCapacity(n)
        for i in start..<count { items.append((base + i).move()) }
        count = start
        return items
    }

    /// Moves the nodes from `start` up, taken as key, value, key, value…, into an array of pairs.
    mutating func popPairs(from start: Int) -> [(key: YAMLNode, value: YAMLNode)] {
        if (count - start) % 2 == 1 { _ = pop() }  // a key without a value (libyaml never does this)
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        pairs.reserveCapacity((count - start) / 2)
        for i in stride(from: start, to: count, by: 2) {
            pairs.append((key: (base + i).move(), value: (base + i + 1).move()))
        }
        count = start
        return pairs
    }
}
