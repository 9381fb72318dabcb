/// Maps stage names to constructors, and splits a `STAGE args + STAGE args` command line into stages.
///
/// This is the plugin point: a stage (built in or added later, like `style`) becomes available by adding
/// an ``Entry``. Swift on Linux cannot load plugins dynamically, so the registry is a static table.
public struct StageRegistry: Sendable {
    /// One stage kind.
    public struct Entry: Sendable {
        public let name: String
        public let aliases: [String]
        public let summary: String
        /// Builds the stage from the arguments that follow its name.
        public let make: @Sendable ([String]) throws -> any Stage

        public init(name: String, aliases: [String] = [], summary: String, make: @escaping @Sendable ([String]) throws -> any Stage) {
            self.name = name
            self.aliases = aliases
            self.summary = summary
            self.make = make
        }
    }

    /// The stage separator: a standalone `+` argument.
    public static let separator = "+"

    public let entries: [Entry]
    private let index: [String: Int]

    /// Fails on a name or alias used twice.
    public init(_ entries: [Entry]) throws {
        var index: [String: Int] = [:]
        for (position, entry) in entries.enumerated() {
            for name in [entry.name] + entry.aliases {
                guard index.updateValue(position, forKey: name) == nil else {
                    throw StyleFilterError(.failure, "stage name '\(name)' is registered twice")
                }
            }
        }
        self.entries = entries
        self.index = index
    }

    /// The entry for a name or alias.
    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Splits arguments at standalone `+` separators.
    public static func segments(_ arguments: [String]) -> [[String]] {
        arguments.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
    }

    /// Parses `STAGE [args] [+ STAGE [args]]...` into stages.
    public func parseChain(_ arguments: [String]) throws -> [any Stage] {
        try Self.segments(arguments).enumerated().map { position, segment in
            guard let name = segment.first else {
                throw StyleFilterError(.usage, position == 0 ? "missing stage" : "missing stage after '+'")
            }
            guard let entry = entry(named: name) else {
                throw StyleFilterError(.usage, "unknown stage '\(name)' (stages: \(entries.map(\.name).joined(separator: ", ")))")
            }
            return try entry.make(Array(segment.dropFirst()))
        }
    }
}
