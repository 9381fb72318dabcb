/// Element types found in checkpoints, and their conversion to float32.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Converts `count` little-endian elements at `src` to float32 at `dst` (`src` may be unaligned).
    public func convertToFloat(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16
                dst[i] = Float(bitPattern: bits)
            }
        case .f64:
            for i in 0..<count {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .i64:
            for i in 0..<count { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .i32:
            for i in 0..<count { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .i16:
            for i in 0..<count { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i8:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .u8, .bool:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        }
    }
}

extension DType {
    /// The element type of a PyTorch storage class (`FloatStorage`, ...) or `torch.<dtype>` name
    /// (`float32`, `half`, ...); nil for types without a float32 conversion (complex, quantized, untyped).
    init?(torchName name: String) {
        switch name {
        case "FloatStorage", "float32", "float": self = .f32
        case "HalfStorage", "float16", "half": self = .f16
        case "BFloat16Storage", "bfloat16": self = .bf16
        case "DoubleStorage", "float64", "double": self = .f64
        case "LongStorage", "int64", "long": self = .i64
        case "IntStorage", "int32", "int": self = .i32
        case "ShortStorage", "int16", "short": self = .i16
        case "CharStorage", "int8": self = .i8
        case "ByteStorage", "uint8": self = .u8
        case "BoolStorage", "bool": self = .bool
        default: return nil
        }
    }

    /// Whether the type holds floating-point values (as opposed to integer or boolean buffers).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }
}
