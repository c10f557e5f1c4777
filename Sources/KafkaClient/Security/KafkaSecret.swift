/// A password or private key: the text is kept, but never printed. `description`, `dump` and
/// string interpolation all show `<redacted>`, so a configuration logged or put into an error
/// message whole does not carry the secret with it.
public struct KafkaSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself, for the one place that needs it (the SASL exchange, the key file).
    public var value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
