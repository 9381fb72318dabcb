import Foundation

/// Reads a fixture tensor at full precision as float64 (F64, F32, I64, I32 stored), for references the
/// float32 `TensorArchive` path would round (schedule arrays) or that are integers (timestep maps).
public enum FixtureScalars {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        public var description: String {
            switch self { case .unreadable(let reason): return reason }
        }
    }

    /// The tensor's elements as Double, or nil when the file has no such tensor.
    public static func doubles(file: String, name: String) throws -> [Double]? {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(file)), options: .alwaysMapped)
        guard data.count >= 8 else { throw Failure.unreadable("\(file): shorter than a safetensors header") }
        let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        guard 8 + headerLength <= data.count,
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any]
        else { throw Failure.unreadable("\(file): unreadable safetensors header") }
        guard let entry = header[name] as? [String: Any] else { return nil }
        guard let dtype = entry["dtype"] as? String, let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
            throw Failure.unreadable("\(file): malformed entry '\(name)'")
        }
        let bytes = data.subdata(in: 8 + headerLength + offsets[0]..<8 + headerLength + offsets[1])
        return try bytes.withUnsafeBytes { raw -> [Double] in
            switch dtype {
            case "F64": return (0..<raw.count / 8).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            case "F32": return (0..<raw.count / 4).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))) }
            case "I64": return (0..<raw.count / 8).map { Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case "U8": return raw.map { Double($0) }
            case "I32": return (0..<raw.count / 4).map { Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            default: throw Failure.unreadable("\(file): tensor '\(name)' has dtype \(dtype), not a float or integer type read here")
            }
        }
    }

    /// Like `doubles`, but the tensor must exist.
    public static func requiredDoubles(file: String, name: String) throws -> [Double] {
        guard let values = try doubles(file: file, name: name) else {
            throw Failure.unreadable("\(file) has no tensor named '\(name)'")
        }
        return values
    }

    /// The tensor as integers (exact for stored integer types).
    public static func integers(file: String, name: String) throws -> [Int] {
        try requiredDoubles(file: file, name: name).map { Int($0) }
    }
}

/// Relative L2 error of float64 arrays (as `relativeL2` for float32).
public func relativeL2Double(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        num += (a[i] - b[i]) * (a[i] - b[i])
        den += b[i] * b[i]
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}
