import Foundation
import Testing
@testable import Engine

/// A NaN or an infinity in a weight is refused when a network loads it, naming the tensor (issue #11): it would
/// otherwise run a whole translation into NaNs.
@Suite struct NonFiniteWeightTests {
    /// Positions around the scan's vector width (16) and block size (2^14), and the last element.
    static let positions = [0, 1, 15, 16, 17, 16_383, 16_384, 16_385, 40_000]

    @Test func theScanFindsEveryNonFiniteValueWherever() {
        for bad: Float in [.nan, -.nan, .infinity, -.infinity, .signalingNaN] {
            for position in Self.positions + [40_002] {
                var values = (0..<40_003).map { Float($0 % 7) - 3 }
                values[position] = bad
                values[min(position + 5, values.count - 1)] = .nan  // a later one is not the one reported
                let found = values.withUnsafeBufferPointer { WeightStore.firstNonFinite($0) }
                #expect(found?.0 == position, "\(bad) at \(position)")
            }
        }
        let extremes: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0, 0, .leastNormalMagnitude]
        for count in [0, 1, 15, 16, 17, 16_385] {
            let values = (0..<count).map { extremes[$0 % extremes.count] }
            #expect(values.withUnsafeBufferPointer { WeightStore.firstNonFinite($0) } == nil, "\(count) finite values")
        }
    }

    /// The DINO fixture with one NaN in a LayerNorm weight: the network does not load, and the message names it.
    @Test func aNetworkWithANaNWeightDoesNotLoad() throws {
        let fixture = try Fixtures.safetensors("dino_tiny_weights.safetensors")
        let victim = "blocks.0.norm1.weight"
        let tensors = try fixture.tensorNames.map { name in
            var values = try fixture.tensor(named: name).scalars
            if name == victim { values[3] = .nan }
            return (name: name, dtype: "F32", shape: try #require(fixture.shape(of: name)), data: RawBytes.f32(values))
        }
        try HostileFile.withFile("nan.safetensors", SafeTensorsWriter.bytes(tensors)) { path in
            let store = WeightStore(try Checkpoint.open(path))
            #expect(throws: CheckpointError.nonFiniteWeight(name: victim, element: 3, value: "nan")) { try DINOVisionTransformer(weights: store) }
            let message = "\(CheckpointError.nonFiniteWeight(name: victim, element: 3, value: "nan"))"
            #expect(message.contains(victim) && message.contains("nan") && !message.contains("\n"))
        }
        // The untouched fixture still loads.
        _ = try DINOVisionTransformer(weights: WeightStore(fixture))
    }

    /// Conversions that produce infinities count too: an f16 infinity, an f64 beyond float32's range.
    @Test func infinitiesFromConversionAreRefused() throws {
        let bytes = SafeTensorsWriter.bytes([
            (name: "h", dtype: "F16", shape: [2], data: RawBytes.f16([1, .infinity])),
            (name: "d", dtype: "F64", shape: [1], data: RawBytes.f64([1e300])),
            (name: "ok", dtype: "F64", shape: [1], data: RawBytes.f64([-2.5])),
        ])
        try HostileFile.withFile("inf.safetensors", bytes) { path in
            let store = WeightStore(try Checkpoint.open(path))
            #expect(throws: CheckpointError.nonFiniteWeight(name: "h", element: 1, value: "inf")) { try store.tensor("h", shape: [2]) }
            #expect(throws: CheckpointError.nonFiniteWeight(name: "d", element: 0, value: "inf")) { try store.tensor("d") }
            let ok = try store.tensor("ok")
            #expect(ok.scalars == [-2.5])
        }
    }
}
