import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Sockets handed over by systemd's socket activation (`sd_listen_fds_with_names`): descriptor
/// 3 onwards, each with its unit's `FileDescriptorName=` (by default the socket unit's name).
public struct SystemdSockets: Sendable {
    /// Descriptor by name.
    public var descriptors: [String: CInt]

    public init(descriptors: [String: CInt]) {
        self.descriptors = descriptors
    }

    /// Reads what systemd passed (once: the variables are cleared so children do not inherit them).
    public static func received() -> SystemdSockets {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return SystemdSockets(descriptors: [:]) }
        var descriptors: [String: CInt] = [:]
        for index in 0..<Int(count) {
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            descriptors[name] = SD_LISTEN_FDS_START + CInt(index)
            free(names?[index])
        }
        free(names)
        return SystemdSockets(descriptors: descriptors)
    }
}
