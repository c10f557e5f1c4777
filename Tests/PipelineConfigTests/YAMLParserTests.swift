import LibYAML
import Testing

@Suite("libyaml document reader")
struct YAMLParserTests {
    @Test func keepsLinesColumnsAndStyles() throws {
        let root = try #require(try YAMLParser.parse("a:\n  b: [x, 'y', \"z\"]\n  c: ~\n"))
        guard case .mapping(let pairs) = root.content else { Issue.record("not a mapping"); return }
        #expect(pairs.count == 1)
        #expect(pairs[0].key.mark == YAMLMark(line: 1, column: 1))
        guard case .mapping(let inner) = pairs[0].value.content else { Issue.record("not a mapping"); return }
        #expect(inner[0].key.mark == YAMLMark(line: 2, column: 3))
        guard case .sequence(let items) = inner[0].value.content else { Issue.record("not a list"); return }
        #expect(
            items.map(\.mark) == [
                YAMLMark(line: 2, column: 7), YAMLMark(line: 2, column: 10), YAMLMark(line: 2, column: 15),
            ])
        guard case .scalar(let y, let style) = items[1].content else { Issue.record("not a scalar"); return }
        #expect(y == "y" && style == .singleQuoted)
        #expect(inner[1].value.isNull)
        #expect(!items[1].isNull)
    }

    @Test func quotedNullIsAString() throws {
        let root = try #require(try YAMLParser.parse("- null\n- 'null'\n- \n"))
        guard case .sequence(let items) = root.content else { Issue.record("not a list"); return }
        #expect(items.map(\.isNull) == [true, false, true])
    }

    @Test func syntaxErrorsSayWhere() {
        #expect(throws: YAMLSyntaxError.self) { try YAMLParser.parse("a: [1, 2\nb: 3\n") }
        do {
            _ = try YAMLParser.parse("a: b: c\n")
            Issue.record("no error")
        } catch {
            #expect(error.problem == "mapping values are not allowed in this context")
            #expect(error.mark == YAMLMark(line: 1, column: 5))
        }
    }

    @Test func emptyTextHasNoDocument() throws {
        #expect(try YAMLParser.parse("") == nil)
        #expect(try YAMLParser.parse("# only a comment\n") == nil)
    }

    @Test func aSecondDocumentIsRefused() {
        do {
            _ = try YAMLParser.parse("a: 1\n---\nb: 2\n")
            Issue.record("no error")
        } catch {
            #expect(error.mark.line == 3)
        }
    }

    /// Nested aliases expand exponentially; the reader stops at its node limit.
    @Test func aliasBombIsStopped() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 {
            let previous = (0..<10).map { _ in "*a\(level - 1)" }.joined(separator: ", ")
            text += "a\(level): &a\(level) [\(previous)]\n"
        }
        #expect(throws: YAMLSyntaxError.self) { try YAMLParser.parse(text) }
    }

    /// An alias inside the node it names is a cycle, and deep nesting would exhaust the stack:
    /// both are errors, not crashes.
    @Test func cyclesAndDeepNestingAreRefused() {
        do {
            _ = try YAMLParser.parse("a: &x [1, *x]\n")
            Issue.record("no error")
        } catch {
            #expect(error.problem == "an alias refers to a node that contains it")
        }
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        do {
            _ = try YAMLParser.parse(deep)
            Issue.record("no error")
        } catch {
            #expect(error.problem == "nesting deeper than 256 levels")
        }
        // Shared (not cyclic) aliases are fine.
        #expect((try? YAMLParser.parse("a: &x [1]\nb: *x\nc: *x\n")) != nil)
    }

    /// Found by FuzzPipelineConfig's inputs grown by hand: libyaml's time is quadratic in the
    /// depth of flow collections, so 100,000 nested `[` took two minutes before the builder's
    /// depth limit could refuse them. They are refused before libyaml reads them, naming where.
    @Test func deepFlowNestingIsRefusedBeforeLibYAMLReadsIt() {
        let depth = 100_000
        let text = "kafka:\n  servers: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let started = ContinuousClock.now
        do {
            _ = try YAMLParser.parse(text)
            Issue.record("no error")
        } catch {
            #expect(error.problem == "flow collections nested deeper than 1024 levels")
            #expect(error.mark == YAMLMark(line: 2, column: 11 + 1025))
        }
        // Catches work that grows with the depth beyond reason, not a slow machine.
        #expect(ContinuousClock.now - started < .seconds(60))
        // Brackets that close again never add up, however many there are.
        let wide = "a: [" + String(repeating: "[1], ", count: 5000) + "[]]\n"
        #expect(throws: Never.self) { try YAMLParser.parse(wide) }
    }
}
