import PipelineConfig

/// What a reload changes: computed from the running and the new configuration alone, so the
/// reload's decisions are tested without running anything.
public struct PipelineDiff: Sendable, Equatable {
    /// Sources to stop: gone from the file, or changed (they restart with the new settings).
    public var stoppedSources: [String] = []
    /// Sources to start: new in the file, or changed.
    public var startedSources: [String] = []
    /// Unchanged sources whose routes changed: they keep running and take the new routes
    /// between two reads.
    public var reroutedSources: [String] = []
    /// Whether the producer must be replaced: the `kafka` section or a topic's settings changed.
    /// Every source then pauses while the old producer delivers what it holds.
    public var replacesProducer = false
    /// Whether anything other than the sources and routes changed (agent settings).
    public var changesAgentSettings = false

    public init() {}

    public init(from old: PipelineConfiguration, to new: PipelineConfiguration) {
        let oldSources = Dictionary(uniqueKeysWithValues: old.sources.map { ($0.name, $0) })
        let newSources = Dictionary(uniqueKeysWithValues: new.sources.map { ($0.name, $0) })
        for source in old.sources {
            guard let replacement = newSources[source.name] else {
                stoppedSources.append(source.name)
                continue
            }
            if replacement != source {
                stoppedSources.append(source.name)
            } else if old.routes(from: source.name) != new.routes(from: source.name) {
                reroutedSources.append(source.name)
            }
        }
        for source in new.sources where oldSources[source.name] != source {
            startedSources.append(source.name)
        }
        let oldTopics = (try? old.topicConfigurations()) ?? [:]
        let newTopics = (try? new.topicConfigurations()) ?? [:]
        replacesProducer = old.kafka != new.kafka || oldTopics != newTopics
        changesAgentSettings = old.agent != new.agent
    }

    public var isEmpty: Bool {
        stoppedSources.isEmpty && startedSources.isEmpty && reroutedSources.isEmpty && !replacesProducer
            && !changesAgentSettings
    }

    /// `started a, b; stopped c; rerouted d; new producer`, for logs and STATUS.
    public var summary: String {
        var parts: [String] = []
        let restarted = Set(stoppedSources).intersection(startedSources)
        let added = startedSources.filter { !restarted.contains($0) }
        let removed = stoppedSources.filter { !restarted.contains($0) }
        if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
        if !removed.isEmpty { parts.append("removed \(removed.joined(separator: ", "))") }
        if !restarted.isEmpty { parts.append("restarted \(restarted.sorted().joined(separator: ", "))") }
        if !reroutedSources.isEmpty { parts.append("rerouted \(reroutedSources.joined(separator: ", "))") }
        if replacesProducer { parts.append("new producer settings") }
        if changesAgentSettings { parts.append("agent settings") }
        return parts.isEmpty ? "no changes" : parts.joined(separator: "; ")
    }
}
