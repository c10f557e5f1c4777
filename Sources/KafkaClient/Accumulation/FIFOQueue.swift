/// A FIFO queue over an `Array` with a head index: appending and popping are O(1) amortized and
/// reuse the storage, and popped slots are cleared at once so the queue keeps nothing alive. The
/// dead prefix is compacted away once it is half the storage. Used for a connection's in-flight
/// requests and a partition's batches.
struct FIFOQueue<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }
    var first: Element? { head < storage.count ? storage[head] : nil }
    var last: Element? { head < storage.count ? storage[storage.count - 1] : nil }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    /// Puts an element back at the front (a batch returning for a retry).
    mutating func prepend(_ element: Element) {
        if head > 0 {
            head -= 1
            storage[head] = element
        } else {
            storage.insert(element, at: 0)
        }
    }

    /// The element `offset` places from the front.
    subscript(offset: Int) -> Element { storage[head + offset]! }

    /// Inserts an element `offset` places from the front (a retry going back in sequence order).
    mutating func insert(_ element: Element, at offset: Int) {
        if offset == 0 {
            prepend(element)
        } else {
            storage.insert(element, at: head + offset)
        }
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    func first(where predicate: (Element) -> Bool) -> Element? {
        for index in head..<storage.count {
            if let element = storage[index], predicate(element) { return element }
        }
        return nil
    }
}

extension FIFOQueue: Sendable where Element: Sendable {}
