import CLibYAML

/// Parses YAML text with the system's libyaml (its document API) into `YAMLNode`s that keep
/// every node's line and column.
public enum YAMLParser {
    /// The most nodes a document may expand to. Aliases share nodes in libyaml's document but are
    /// copied here, so a "billion laughs" file of nested aliases would otherwise take all memory.
    public static let maximumNodeCount = 100_000
    /// The deepest nesting a document may have; the copy recurses once per level.
    public static let maximumDepth = 256
    /// The most flow collections (`[`, `{`) the text may keep open at once, checked before libyaml
    /// reads it. libyaml's scanner keeps a possible simple key per flow level and walks them all
    /// at every token, so its time grows with the square of the depth: 100,000 nested `[` (a
    /// 200 KB file) took two minutes. The count ignores quoting and comments, so brackets inside
    /// scalars count too; the limit is far above `maximumDepth` so that only such text trips it.
    public static let maximumFlowDepth = 1024

    /// Parses the first document of `text`.
    ///
    /// - Returns: the root node, or nil when the text holds no document (empty, or only comments).
    /// - Throws: `YAMLSyntaxError` when the text is not well-formed YAML, holds more than one
    ///   document, or expands beyond `maximumNodeCount` nodes.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(problem: "libyaml could not initialise a parser", mark: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        if let place = excessiveFlowNesting(bytes) {
            throw YAMLSyntaxError(
                problem: "flow collections nested deeper than \(maximumFlowDepth) levels", mark: place)
        }
        do {
            return try bytes.withUnsafeMutableBufferPointer { buffer -> YAMLNode? in
                yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
                yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
                var document = yaml_document_t()
                guard yaml_parser_load(&parser, &document) == 1 else { throw syntaxError(parser) }
                defer { yaml_document_delete(&document) }
                guard let root = yaml_document_get_root_node(&document) else { return nil }
                var builder = Builder(document: &document)
                let node = try builder.node(root)
                // A second document is a mistake in a configuration file, not something to ignore.
                var next = yaml_document_t()
                guard yaml_parser_load(&parser, &next) == 1 else { throw syntaxError(parser) }
                defer { yaml_document_delete(&next) }
                if let extra = yaml_document_get_root_node(&next) {
                    throw YAMLSyntaxError(
                        problem: "a second YAML document starts here; the file must hold one",
                        mark: mark(extra.pointee.start_mark))
                }
                return node
            }
        } catch let error as YAMLSyntaxError {
            throw error
        } catch {
            throw YAMLSyntaxError(problem: "\(error)", mark: YAMLMark(line: 1, column: 1))
        }
    }

    /// Where `bytes` first opens more than `maximumFlowDepth` flow collections at once, if anywhere.
    static func excessiveFlowNesting(_ bytes: [UInt8]) -> YAMLMark? {
        var depth = 0
        var line = 1
        var column = 0
        for byte in bytes {
            // Columns count characters, as libyaml's marks do: UTF-8 continuation bytes add none.
            if byte & 0xC0 != 0x80 { column += 1 }
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximumFlowDepth { return YAMLMark(line: line, column: column) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            case UInt8(ascii: "\n"):
                line += 1
                column = 0
            default:
                break
            }
        }
        return nil
    }

    static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func syntaxError(_ parser: yaml_parser_t) -> YAMLSyntaxError {
        let problem = parser.problem.map { String(cString: $0) } ?? "the text is not valid YAML"
        var context: (String, YAMLMark)?
        if let text = parser.context {
            context = (String(cString: text), mark(parser.context_mark))
        }
        return YAMLSyntaxError(problem: problem, mark: mark(parser.problem_mark), context: context)
    }

    /// Copies libyaml's node table into `YAMLNode`s, counting nodes against the expansion limit.
    private struct Builder {
        var document: UnsafeMutablePointer<yaml_document_t>
        var count = 0
        /// The nodes on the path from the root: an alias to one of them is a cycle.
        var path: Set<UnsafeMutablePointer<yaml_node_t>> = []

        init(document: UnsafeMutablePointer<yaml_document_t>) {
            self.document = document
        }

        mutating func node(_ pointer: UnsafeMutablePointer<yaml_node_t>) throws -> YAMLNode {
            count += 1
            let node = pointer.pointee
            let place = YAMLParser.mark(node.start_mark)
            guard count <= YAMLParser.maximumNodeCount else {
                throw YAMLSyntaxError(
                    problem: "the document expands to more than \(YAMLParser.maximumNodeCount) nodes (aliases?)",
                    mark: place)
            }
            guard path.count < YAMLParser.maximumDepth else {
                throw YAMLSyntaxError(problem: "nesting deeper than \(YAMLParser.maximumDepth) levels", mark: place)
            }
            guard path.insert(pointer).inserted else {
                throw YAMLSyntaxError(problem: "an alias refers to a node that contains it", mark: place)
            }
            defer { path.remove(pointer) }
            let tag = node.tag.map { String(cString: $0) }
            switch node.type {
            case YAML_SCALAR_NODE:
                let scalar = node.data.scalar
                let text = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let style: YAMLNode.ScalarStyle =
                    switch scalar.style {
                    case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                    case YAML_LITERAL_SCALAR_STYLE: .literal
                    case YAML_FOLDED_SCALAR_STYLE: .folded
                    default: .plain
                    }
                return YAMLNode(.scalar(text, style), mark: place, tag: Self.explicit(tag))
            case YAML_SEQUENCE_NODE:
                var items: [YAMLNode] = []
                var item = node.data.sequence.items.start
                while let current = item, current != node.data.sequence.items.top {
                    items.append(try self.node(child(current.pointee)))
                    item = current + 1
                }
                return YAMLNode(.sequence(items), mark: place, tag: Self.explicit(tag))
            case YAML_MAPPING_NODE:
                var pairs: [(key: YAMLNode, value: YAMLNode)] = []
                var pair = node.data.mapping.pairs.start
                while let current = pair, current != node.data.mapping.pairs.top {
                    let key = try self.node(child(current.pointee.key))
                    let value = try self.node(child(current.pointee.value))
                    pairs.append((key, value))
                    pair = current + 1
                }
                return YAMLNode(.mapping(pairs), mark: place, tag: Self.explicit(tag))
            default:
                throw YAMLSyntaxError(problem: "an empty node", mark: place)
            }
        }

        private func child(_ index: Int32) throws -> UnsafeMutablePointer<yaml_node_t> {
            guard let pointer = yaml_document_get_node(document, index) else {
                throw YAMLSyntaxError(problem: "libyaml returned a dangling node", mark: YAMLMark(line: 1, column: 1))
            }
            return pointer
        }

        /// libyaml fills in the default tag (`!!str`, `!!seq`, `!!map`) for untagged nodes; only a
        /// tag the author wrote is kept. The defaults cannot be told from written ones by value,
        /// so a written `!!str` is dropped too: it changes nothing here, where scalars are text.
        private static func explicit(_ tag: String?) -> String? {
            switch tag {
            case nil, "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map": nil
            default: tag
            }
        }
    }
}
