/// A `type: file` source: files to follow, found by glob.
public struct FileSourceSettings: Sendable, Hashable {
    /// Where reading starts in a file the agent has not read before.
    public enum StartPosition: String, Sendable, Hashable {
        case beginning
        case end
    }

    /// `include`: glob patterns of files to read (`/var/log/nginx/*.log`). Required.
    public var include: [String]
    /// `exclude`: glob patterns of files to skip; a pattern without `/` is matched against the
    /// file's name (`*.gz`), one with `/` against its whole path. Default: none.
    public var exclude: [String] = []
    /// `start_at`: `beginning` or `end`, for files never seen before. Default: `beginning`, as
    /// Vector and Filebeat do, so that nothing already written is skipped.
    public var startAt: StartPosition = .beginning
    /// `poll_interval`: how often a file at its end is checked for more data. Default: 250 ms.
    public var pollInterval: Duration = .milliseconds(250)
    /// `glob_interval`: how often the globs are matched again and every file is looked at, the
    /// safety net under inotify (and, without it, how new files are found). Default: 5 s.
    public var globInterval: Duration = .seconds(5)
    /// `inotify`: whether the kernel says which files changed and when names appear. Off, every
    /// open file is checked every `poll_interval` (what network file systems need: inotify does
    /// not see writes made on other hosts). Default: true.
    public var usesInotify = true
    /// `rotate_wait`: how long a file renamed away from the globs or deleted is still read after
    /// it stopped growing (its writer may not have reopened its log yet). Default: 5 s.
    public var rotateWait: Duration = .seconds(5)
    /// `deleted_hold_limit`: the longest a deleted file that keeps growing is held open (its
    /// disk space is not freed meanwhile); past it the file is closed and the loss logged and
    /// counted. Default: 5 min.
    public var deletedHoldLimit: Duration = .seconds(300)
    /// `max_open_files`: the most files the source keeps open; past it, the longest-idle ones
    /// are closed (still watched by inotify, or with a stat at each rescan), and reopened at
    /// their position when they grow.
    /// Default: 512.
    public var maxOpenFiles = 512
    /// `partial_line_timeout`: a last line without its newline is held until the newline comes;
    /// with this set, it is sent as a record once the file has not grown for this long (what
    /// its writer appends later becomes another record). Default: none (held).
    public var partialLineTimeout: Duration?
    /// `multiline`: join continuation lines into one record. Default: none (a line is a record).
    public var multiline: MultilineSettings?

    public init(include: [String]) {
        self.include = include
    }
}
