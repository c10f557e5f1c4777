/// What the metrics server answers, by method and path. Pure: the server calls it once per
/// request; tests call it directly.
public struct MetricsEndpoint: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        /// Set for 405, as HTTP requires.
        public var allow: String?

        public init(status: Int, contentType: String, body: [UInt8], allow: String? = nil) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.allow = allow
        }
    }

    /// The health check's answer: an HTTP status (200 or 503) and a JSON body.
    public struct Health: Sendable {
        public var status: Int
        public var json: String

        public init(status: Int, json: String) {
            self.status = status
            self.json = json
        }
    }

    /// Prometheus text exposition format 0.0.4.
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    private let metrics: @Sendable () -> [UInt8]
    private let health: @Sendable () -> Health

    public init(metrics: @escaping @Sendable () -> [UInt8], health: @escaping @Sendable () -> Health) {
        self.metrics = metrics
        self.health = health
    }

    /// `isHead`: the body is left out but the length stays that of GET's body.
    public func respond(method: String, uri: String) -> Response {
        let path =
            uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard method == "GET" || method == "HEAD" else {
            return Response(
                status: 405, contentType: "text/plain; charset=utf-8", body: Array("only GET and HEAD\n".utf8),
                allow: "GET, HEAD")
        }
        switch path {
        case "/metrics":
            return Response(status: 200, contentType: Self.prometheusContentType, body: metrics())
        case "/health":
            let answer = health()
            return Response(
                status: answer.status, contentType: "application/json", body: Array((answer.json + "\n").utf8))
        case "/":
            return Response(
                status: 200, contentType: "text/plain; charset=utf-8",
                body: Array("tributary: /metrics (Prometheus), /health (JSON; 200 while delivering)\n".utf8))
        default:
            return Response(
                status: 404, contentType: "text/plain; charset=utf-8",
                body: Array("not found: \(path) (try /metrics or /health)\n".utf8))
        }
    }
}
