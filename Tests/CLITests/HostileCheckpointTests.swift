import Foundation
import Testing

/// Hostile checkpoints through the real binary (issue 11's reproducers that were seen there): each ends
/// with its documented status and one stderr line, quickly, and leaves no output or temporary file.
/// The readers' own cases (overflowing headers, pickle chains and DAGs, zip bombs, recogniser shapes)
/// are in Tests/EngineTests, on the library.
@Suite struct HostileCheckpointTests {
    static func scratch() throws -> URL { try CLIRunner.scratch("hostile-checkpoint") }

    /// A safetensors file whose one tensor declares [2^62, 4] elements over 16 bytes.
    static func overflowingSafetensors() -> Data {
        let header = Data(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#.utf8)
        var data = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
        data.append(header)
        data.append(Data(count: 16))
        return data
    }

    /// `source` with the first element of its first F32 tensor set to NaN; returns that tensor's name.
    static func poisonFirstTensor(of source: URL, into destination: URL) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: source))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        let (name, entry) = try #require(
            header.compactMap { name, value -> (String, [String: Any])? in
                guard let entry = value as? [String: Any], entry["dtype"] as? String == "F32" else { return nil }
                return (name, entry)
            }.min { $0.0 < $1.0 })
        let start = 8 + headerLength + (try #require((entry["data_offsets"] as? [Int])?.first))
        bytes.replaceSubrange(start..<(start + 4), with: [0x00, 0x00, 0xC0, 0x7F])  // quiet NaN, little-endian
        try Data(bytes).write(to: destination)
        return name
    }

    @Test func anOverflowingShapeIsACorruptCheckpoint() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("huge.safetensors")
        try Self.overflowingSafetensors().write(to: file)
        let result = try CLIRunner.run(["models", "inspect", file.path])
        HostileInputTests.expectRefused(result, status: 65, "is corrupt: tensor 'w' byte range [0, 16) does not match shape [4611686018427387904, 4]")
    }

    /// A tensor name with line breaks and a terminal escape sequence is quoted in one printable line.
    @Test func controlCharactersInNamesStayOnOneLine() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("names.safetensors")
        let header = Data(#"{"a\r\nb\u001b[31mc\u2028d\u0000e":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#.utf8)
        var data = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
        data.append(header)
        data.append(Data(count: 16))
        try data.write(to: file)
        let result = try CLIRunner.run(["models", "inspect", file.path])
        HostileInputTests.expectRefused(result, status: 65, "tensor 'a b\\x1B[31mc d\\x00e' byte range")
    }

    /// A FIFO is refused from its type, never opened (opening it would wait for a writer forever).
    @Test func aFIFOIsRefusedWithoutWaiting() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("unet.safetensors")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        let clock = ContinuousClock(), start = clock.now
        let inspect = try CLIRunner.run(["models", "inspect", fifo.path])
        HostileInputTests.expectRefused(inspect, status: 66, "a FIFO (named pipe), not a regular file")
        let m = try StyleCommandTests.makeModels()
        let style = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg"), "--unet", fifo.path, "--dino", m.dino] + StyleCommandTests.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        HostileInputTests.expectRefused(style, status: 78, "a FIFO (named pipe), not a regular file")
        #expect(clock.now - start < .seconds(30))
    }

    /// NaN weights are refused when the network loads, naming the tensor, before any step runs; `-o`
    /// leaves nothing behind.
    @Test func nonFiniteWeightsAreRefusedAtLoad() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try StyleCommandTests.makeModels()
        let poisoned = dir.appendingPathComponent("unet.safetensors")
        let tensor = try Self.poisonFirstTensor(of: URL(fileURLWithPath: m.unet), into: poisoned)
        try FileManager.default.copyItem(at: m.directory.appendingPathComponent("unet.json"), to: dir.appendingPathComponent("unet.json"))
        let out = dir.appendingPathComponent("out.png")
        let result = try CLIRunner.run(
            ["-o", out.path, "style", "--style-image", CLIRunner.sample("rocket.jpg"), "--unet", poisoned.path, "--dino", m.dino] + StyleCommandTests.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        HostileInputTests.expectRefused(result, status: 78, tensor)
        #expect(result.stderr.lowercased().contains("holds nan at element 0"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["unet.json", "unet.safetensors"])
    }
}
