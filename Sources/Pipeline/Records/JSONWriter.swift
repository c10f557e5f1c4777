import NIOCore

/// Writes JSON text straight into a `ByteBuffer`: the envelope of `format: json`, and the
/// strings of every JSON the agent prints (`/health`, `doctor --json`, `produce --report`).
public enum JSONWriter {
    /// Writes `bytes` as a JSON string, escaping what JSON requires; invalid UTF-8 is replaced
    /// so the output is always valid JSON.
    static func writeString(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let text = String(decoding: bytes, as: UTF8.self)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x00..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { writeString(UnsafeRawBufferPointer($0), into: &buffer) }
    }

    /// `text` as a JSON string literal.
    public static func quoted(_ text: String) -> String {
        var buffer = ByteBuffer()
        writeString(text, into: &buffer)
        return String(buffer: buffer)
    }
}
