import Testing

@testable import StyleFilter

@Suite("Stage registry and chain syntax")
struct StageRegistryTests {
    private func registry() throws -> StageRegistry {
        try StageRegistry([
            .init(name: "copy", summary: "copy") { arguments in
                guard arguments.isEmpty else { throw StyleFilterError(.usage, "copy takes no arguments") }
                return CopyStage()
            },
            .init(name: "depth", aliases: ["bits"], summary: "depth") { arguments in
                guard let value = arguments.first, let depth = DepthStage.Depth(rawValue: value) else {
                    throw StyleFilterError(.usage, "bad depth")
                }
                return DepthStage(depth)
            },
        ])
    }

    @Test func splitsAtStandalonePlus() {
        #expect(StageRegistry.segments(["a", "1", "+", "b", "+", "c", "--x=+"]) == [["a", "1"], ["b"], ["c", "--x=+"]])
    }

    @Test func parsesChainsByNameAndAlias() throws {
        let stages = try registry().parseChain(["copy", "+", "bits", "16", "+", "depth", "8"])
        #expect(stages.map(\.name) == ["copy", "depth", "depth"])
        #expect((stages[1] as? DepthStage)?.depth == .sixteen)
    }

    @Test func rejectsUnknownAndEmptyStages() throws {
        let registry = try registry()
        #expect(throws: StyleFilterError(.usage, "unknown stage 'blur' (stages: copy, depth)")) {
            try registry.parseChain(["blur"])
        }
        #expect(throws: StyleFilterError(.usage, "missing stage after '+'")) { try registry.parseChain(["copy", "+"]) }
        #expect(throws: StyleFilterError(.usage, "bad depth")) { try registry.parseChain(["depth", "12"]) }
    }

    @Test func rejectsDuplicateNames() {
        #expect(throws: StyleFilterError.self) {
            try StageRegistry([
                .init(name: "copy", summary: "") { _ in CopyStage() },
                .init(name: "clone", aliases: ["copy"], summary: "") { _ in CopyStage() },
            ])
        }
    }
}
