import Testing

@testable import Pipeline

@Suite("source acknowledgements")
struct SourceAcknowledgerTests {
    @Test func positionAdvancesOnlyOverContiguousAnswers() {
        var acknowledger = SourceAcknowledger<Int>()
        #expect(acknowledger.register(count: 3, position: 30) == 0)  // ids 0, 1, 2
        #expect(acknowledger.register(count: 2, position: 50) == 3)  // ids 3, 4
        #expect(acknowledger.register(count: 0, position: 60) == 5)  // all filtered out
        #expect(acknowledger.register(count: 1, position: 70) == 5)  // id 5
        #expect(acknowledger.outstandingRecords == 6)
        // The second read's records come back first (another partition): no progress yet.
        #expect(acknowledger.acknowledge([3, 4], failed: false) == nil)
        #expect(acknowledger.position == nil)
        #expect(acknowledger.acknowledge([0, 2], failed: false) == nil)
        // The last of the first read: both reads and the empty one are done.
        #expect(acknowledger.acknowledge([1], failed: true) == 60)
        #expect(acknowledger.acknowledge([5], failed: false) == 70)
        #expect(acknowledger.outstandingRecords == 0)
        #expect(acknowledger.acknowledgedRecords == 5 && acknowledger.failedRecords == 1)
    }

    @Test func unknownIdsChangeNothing() {
        var acknowledger = SourceAcknowledger<Int>()
        _ = acknowledger.register(count: 2, position: 1)
        acknowledger.acknowledge([0, 99], failed: false)
        #expect(acknowledger.outstandingRecords == 1 && acknowledger.acknowledgedRecords == 1)
    }

    /// Random answer orders over many reads: the position is always the end of the longest
    /// fully answered prefix of reads, checked against a direct model.
    @Test func matchesAModelUnderRandomOrder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var acknowledger = SourceAcknowledger<Int>()
            var sizes: [Int] = []
            for read in 0..<3000 {
                let size = Int.random(in: 0...4, using: &generator)
                sizes.append(size)
                _ = acknowledger.register(count: size, position: read)
            }
            let total = sizes.reduce(0, +)
            var answered = [Bool](repeating: false, count: total)
            for id in (0..<total).shuffled(using: &generator) {
                answered[id] = true
                acknowledger.acknowledge([UInt64(id)], failed: false)
                if id % 97 == 0 {
                    var first = 0
                    var expected: Int?
                    for (read, size) in sizes.enumerated() {
                        guard answered[first..<(first + size)].allSatisfy({ $0 }) else { break }
                        expected = read
                        first += size
                    }
                    #expect(acknowledger.position == expected)
                }
            }
            #expect(acknowledger.position == 2999 && acknowledger.outstandingRecords == 0)
        }
    }
}
