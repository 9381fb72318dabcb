import Foundation

/// Writes safetensors files for checkpoint tests and fuzz seeds: well-formed ones (the header padded to 8
/// bytes, as the reference writer does) and hostile ones from a raw header.
enum SafeTensorsWriter {
    /// A file of `(name, dtype, shape, bytes)`, data laid out back to back in order.
    static func bytes(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])], metadata: [String: String]? = nil, pad: Bool = true) -> [UInt8] {
        var header: [String: Any] = [:]
        var data: [UInt8] = []
        for t in tensors {
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [data.count, data.count + t.data.count]]
            data += t.data
        }
        if let metadata { header["__metadata__"] = metadata }
        var json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while pad && json.count % 8 != 0 { json.append(0x20) }
        return RawBytes.le(UInt64(json.count)) + json + data
    }

    /// A file with the header `json` exactly as given, then `data`.
    static func bytes(header json: String, data: [UInt8] = []) -> [UInt8] {
        let header = Array(json.utf8)
        return RawBytes.le(UInt64(header.count)) + header + data
    }
}
