import Foundation
import Testing
@testable import Engine

/// safetensors headers whose numbers lie: every product and offset is checked (issue #11).
@Suite struct SafeTensorsHostileHeaderTests {
    @Test func safetensorsByteCountsThatOverflowAreCorrupt() throws {
        let headers = [
            // elements × 4 overflows although the element count itself fits.
            #"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#,
            #"{"w":{"dtype":"F64","shape":[2305843009213693952,2],"data_offsets":[0,0]}}"#,
            // the element count overflows.
            #"{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#,
        ]
        for header in headers {
            let reason = try HostileFile.corruptReason(SafeTensorsWriter.bytes(header: header), file: "overflow.safetensors")
            #expect(reason.contains("does not match") || reason.contains("byte range"), "\(header): \(reason)")
        }
    }

    @Test func safetensorsNegativeDimensionsAndAbsurdRanksAreCorrupt() throws {
        let negative = try HostileFile.corruptReason(SafeTensorsWriter.bytes(header: #"{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)))
        #expect(negative.contains("negative"))
        let ones = [String](repeating: "1", count: 65).joined(separator: ",")
        let rank = try HostileFile.corruptReason(SafeTensorsWriter.bytes(header: #"{"w":{"dtype":"U8","shape":[\#(ones)],"data_offsets":[0,1]}}"#, data: [0]))
        #expect(rank.contains("rank 65"), "\(rank)")
    }

    @Test func safetensorsOverlappingRangesAreCorruptButEmptyTensorsMayShareAnOffset() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let reason = try HostileFile.corruptReason(SafeTensorsWriter.bytes(header: header, data: [UInt8](repeating: 0, count: 12)))
        #expect(reason.contains("overlap") && reason.contains("'a'") && reason.contains("'b'"), "\(reason)")

        let shared = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        let (a, e) = try HostileFile.withFile("empty.safetensors", SafeTensorsWriter.bytes(header: shared, data: RawBytes.f32([1, 2]))) { path in
            let archive = try Checkpoint.open(path)
            return (try archive.tensor(named: "a"), try archive.tensor(named: "e"))
        }
        #expect(a.scalars == [1, 2] && e.shape == [0])
    }

    @Test func safetensorsRangesPastTheFileAreTruncated() throws {
        let headers = [
            #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            // offsets that would overflow when added to the data start
            #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}"#,
        ]
        for header in headers {
            try HostileFile.withFile("short.safetensors", SafeTensorsWriter.bytes(header: header, data: [0, 0, 0, 0])) { path in
                guard case .truncated = CheckpointErrorTests.error({ _ = try Checkpoint.open(path) }) else {
                    Issue.record("\(header): a tensor past the end of the file was not reported as truncated")
                    return
                }
            }
        }
    }
}
