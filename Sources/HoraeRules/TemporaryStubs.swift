import Foundation
// TEMPORARY: stand-ins until the real components land. Delete this file.
public indirect enum RegexNode: Sendable, Hashable {
    case empty
    case literal(Unicode.Scalar)
    case scalarClass(ScalarClass)
    case concat([RegexNode])
    case alternation([RegexNode])
    case `repeat`(RegexNode, min: Int, max: Int?, greedy: Bool)
    case capture(name: String, RegexNode)
    case group(RegexNode)
    case startOfText, endOfText
    public func caseInsensitive() -> RegexNode { self }
    public var captureNames: [String] { [] }
    public var literalPrefix: String { "" }
    public var literalSuffix: String { "" }
    public var exactString: String? { nil }
}
public struct ScalarClass: Sendable, Hashable {
    public init(ranges: [ClosedRange<UInt32>]) { self.ranges = ranges }
    public var ranges: [ClosedRange<UInt32>]
    public func inverted() -> ScalarClass { self }
    public func union(_ o: ScalarClass) -> ScalarClass { self }
    public func subtracting(_ o: ScalarClass) -> ScalarClass { self }
    public static let any = ScalarClass(ranges: [])
    public static func of(_ s: Unicode.Scalar) -> ScalarClass { ScalarClass(ranges: []) }
}
public struct RegexSyntaxError: Error, Sendable, Hashable { public var message: String; public var offset: Int }
public enum RegexParser { public static func parse(_ pattern: String) throws(RegexSyntaxError) -> RegexNode { .empty } }
public struct CompiledRegex: Sendable {
    public init(_ node: RegexNode) throws(RegexSyntaxError) {}
    public var captureNames: [String] { [] }
    public func matches(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool { false }
    public func captures(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? { nil }
}
public struct RegexSet: Sendable {
    public init(_ nodes: [RegexNode]) throws(RegexSyntaxError) {}
    public var count: Int { 0 }
    public func matchingIndices(_ utf8: UnsafeBufferPointer<UInt8>, into result: inout [Int]) {}
}
