#if canImport(Glibc)
    import Glibc
#endif

/// Writes to file descriptor 2 in one call.
@discardableResult
func writeStandardError(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    write(2, bytes.baseAddress, bytes.count)
}
