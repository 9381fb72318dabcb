import StyleFilter
import Testing

@testable import StyleFilterCommands

/// The chain syntax, parsed once by the command line: `STAGE [args] [+ STAGE [args]]...`.
@Suite("Stage commands and chain syntax")
struct ChainSyntaxTests {
    @Test func splitsAtStandalonePlus() {
        #expect(StageCommands.segments(["a", "1", "+", "b", "+", "c", "--x=+"]) == [["a", "1"], ["b"], ["c", "--x=+"]])
    }

    @Test func parsesChainsByNameAndAlias() throws {
        let stages = try StageCommands.parseChain([["copy"], ["colorspace", "b-w"], ["depth", "16"], ["depth", "8"]])
        #expect(stages.map(\.name) == ["copy", "colourspace", "depth", "depth"])
        #expect((stages[2] as? DepthStage)?.depth == .sixteen)
    }

    @Test func rejectsUnknownAndEmptyStages() throws {
        let names = StageCommands.all.compactMap { $0.configuration.commandName }.joined(separator: ", ")
        #expect(throws: StyleFilterError(.usage, "unknown stage 'blur' (stages: \(names))")) {
            try StageCommands.parseChain([["blur"]])
        }
        #expect(throws: StyleFilterError(.usage, "missing stage after '+'")) { try StageCommands.parseChain([["copy"], []]) }
        #expect(throws: (any Error).self) { try StageCommands.parseChain([["depth", "12"]]) }
    }

    @Test func rejectsDuplicateNames() {
        #expect(throws: StyleFilterError.self) { try StageCommands.index([CopyCommand.self, ColourspaceCommand.self, CopyCommand.self]) }
        #expect(throws: Never.self) { try StageCommands.index(StageCommands.all) }
    }
}
