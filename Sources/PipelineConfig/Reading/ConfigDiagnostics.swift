import LibYAML

/// Collects the problems found while reading one pipeline file.
///
/// Owned by one `PipelineConfiguration.parse` call; never shared.
final class ConfigDiagnostics {
    let file: String
    let substitution: EnvironmentSubstitution
    private(set) var errors: [PipelineConfigError] = []

    init(file: String, substitution: EnvironmentSubstitution) {
        self.file = file
        self.substitution = substitution
    }

    func report(_ code: PipelineConfigError.Code, _ message: String, at mark: YAMLMark?, path: String) {
        errors.append(PipelineConfigError(code, message, file: file, mark: mark, keyPath: path))
    }
}
