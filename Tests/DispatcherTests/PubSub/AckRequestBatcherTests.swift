import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Ack and modAck batches stay under 512 KiB of body and 2 500 ids, at the exact boundaries.
@Suite struct AckRequestBatcherTests {
    /// The body the client would send for `ids`, in bytes.
    private func bodySize(_ ids: [String], _ request: AckRequestBatcher.Request) -> Int {
        AckRequestBatcher.body(ids, for: request).compactJSON.utf8.count
    }

    private func ids(_ count: Int, length: Int) -> [String] {
        (0..<count).map { i in
            let prefix = "id\(i)-"
            return prefix + String(repeating: "x", count: length - prefix.count)
        }
    }

    @Test(arguments: [
        AckRequestBatcher.Request.acknowledge, .modifyAckDeadline(seconds: 600), .modifyAckDeadline(seconds: 0),
    ])
    func aBodyOfExactlyTheLimitIsSplitAndOneByteLessIsNot(request: AckRequestBatcher.Request) {
        let limit = AckRequestBatcher.bodySizeLimit
        // Two ids whose body is limit - 1 bytes, then the same with one more byte.
        let base = bodySize(["", ""], request)
        let fits = [
            "a" + String(repeating: "x", count: (limit - 1 - base) / 2 - 1),
            "b" + String(repeating: "y", count: (limit - 1 - base) - (limit - 1 - base) / 2 - 1),
        ]
        #expect(bodySize(fits, request) == limit - 1)
        let one = AckRequestBatcher.batches(fits, for: request)
        #expect(one.map(\.count) == [2])  // (counts, not the 512 KiB ids, so a failure stays readable)

        let tooBig = [fits[0], fits[1] + "z"]
        #expect(bodySize(tooBig, request) == limit)
        let two = AckRequestBatcher.batches(tooBig, for: request)
        #expect(two.map(\.count) == [1, 1])
        #expect(two.joined().elementsEqual(tooBig))
    }

    @Test func atMost2500IDsPerRequest() {
        let exactly = ids(2_500, length: 30)
        #expect(AckRequestBatcher.batches(exactly, for: .acknowledge) == [exactly])
        let oneMore = ids(2_501, length: 30)
        let batches = AckRequestBatcher.batches(oneMore, for: .acknowledge)
        #expect(batches.map(\.count) == [2_500, 1])
        #expect(Array(batches.joined()) == oneMore)
    }

    @Test func realisticAckIDsFillBatchesGreedilyInOrder() {
        // 1 000-byte ids: the byte limit binds before the id count.
        let all = ids(2_000, length: 1_000)
        let batches = AckRequestBatcher.batches(all, for: .modifyAckDeadline(seconds: 60))
        #expect(Array(batches.joined()) == all)
        for (i, batch) in batches.enumerated() {
            #expect(bodySize(batch, .modifyAckDeadline(seconds: 60)) < AckRequestBatcher.bodySizeLimit)
            if i < batches.count - 1 {
                // Full: the next id would not have fitted.
                let withNext = batch + [batches[i + 1][0]]
                #expect(bodySize(withNext, .modifyAckDeadline(seconds: 60)) >= AckRequestBatcher.bodySizeLimit)
            }
        }
        #expect(batches.count == 4)
    }

    @Test func escapedCharactersCountAtTheirEncodedSize() {
        let odd = ["quote\"", "back\\slash", "new\nline", "ctrl\u{1}", "ünïcode", "plain"]
        let size = bodySize(odd, .acknowledge)
        #expect(AckRequestBatcher.batches(odd, for: .acknowledge, bodySizeLimit: size + 1) == [odd])
        #expect(AckRequestBatcher.batches(odd, for: .acknowledge, bodySizeLimit: size).count == 2)
    }

    /// The bytes the client sends are those of the JSON value, for plain and odd ids alike.
    @Test(arguments: [
        AckRequestBatcher.Request.acknowledge, .modifyAckDeadline(seconds: 600), .modifyAckDeadline(seconds: 0),
    ])
    func bodyBytesAreTheJSONValuesCompactForm(request: AckRequestBatcher.Request) {
        let cases: [[String]] = [
            [],
            ["RkhRNxkIaFBYUVhvBhQCC1FVEREJVRVFRHVNBnhcUAgRBWBQQlRxXhQyRlZDA0QTU1JPTXRcaUEBQQ"],
            ["a/b", "", "quote\"", "back\\slash", "new\nline", "ctrl\u{1}\u{7F}", "ünïcode 🚀", "\u{2028}", "plain"],
        ]
        for ids in cases {
            let reference = Array(AckRequestBatcher.body(ids, for: request).compactJSON.utf8)
            #expect(AckRequestBatcher.bodyBytes(ids, for: request) == reference)
        }
    }

    @Test func edgeCases() {
        #expect(AckRequestBatcher.batches([], for: .acknowledge).isEmpty)
        let huge = String(repeating: "h", count: 600_000)
        let alone = AckRequestBatcher.batches(["a", huge, "b"], for: .acknowledge)
        #expect(alone.map(\.count) == [1, 1, 1])
        #expect(alone.joined().elementsEqual(["a", huge, "b"]))
        #expect(AckRequestBatcher.batches(["a", "b", "c"], for: .acknowledge, maxAckIDs: 1) == [["a"], ["b"], ["c"]])
    }
}
