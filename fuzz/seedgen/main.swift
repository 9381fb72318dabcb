import Foundation

// Writes the seed corpora the fuzz targets start from, into OUT/<target>/: small valid files of every
// layout the readers know, near-misses of them, and what can be taken from Tests/Fixtures without copying
// megabytes (real pickles and real architectures' names and shapes). Deterministic.
//
//   seedgen FIXTURES_DIR OUT_DIR
//
// It reuses the tests' own writers (Tests/EngineTests/Support), so seeds and tests build files the same way, and
// the Engine's zip reader (compiled in, uninstrumented) to take the real pickles out of the fixtures.

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: seedgen FIXTURES_DIR OUT_DIR\n".utf8))
    exit(64)
}
let fixtures = URL(fileURLWithPath: arguments[1])
let out = URL(fileURLWithPath: arguments[2])

/// Writes a seed; for the file readers also the seed cut in half and without its last byte (readers see files
/// cut short more often than any other damage).
func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
    let dir = out.appendingPathComponent(target)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try! Data(bytes).write(to: dir.appendingPathComponent(name))
    guard target != "tokenizer", bytes.count > 16 else { return }
    try! Data(bytes[..<(bytes.count / 2)]).write(to: dir.appendingPathComponent(name + ".half"))
    try! Data(bytes.dropLast()).write(to: dir.appendingPathComponent(name + ".cut"))
}

func fixture(_ name: String) -> [UInt8]? {
    (try? Data(contentsOf: fixtures.appendingPathComponent(name))).map { [UInt8]($0) }
}

// MARK: safetensors

func safetensors(_ tensors: [(String, String, [Int], [UInt8])], metadata: [String: String]? = nil, pad: Bool = true) -> [UInt8] {
    SafeTensorsWriter.bytes(tensors.map { (name: $0.0, dtype: $0.1, shape: $0.2, data: $0.3) }, metadata: metadata, pad: pad)
}

let st: [(String, [UInt8])] = [
    ("f32", safetensors([("w", "F32", [2, 3], RawBytes.f32([1, 2, 3, 4, 5, 6])), ("b", "F32", [3], RawBytes.f32([0, 1, 2]))])),
    ("dtypes", safetensors([
        ("h", "F16", [2], RawBytes.f16([1, -2])), ("bf", "BF16", [2], RawBytes.bf16([0.5, 3])), ("d", "F64", [1], RawBytes.f64([7])),
        ("l", "I64", [2], RawBytes.i64([1, -1])), ("i", "I32", [1], RawBytes.le(Int32(5))), ("s", "I16", [1], RawBytes.le(Int16(-3))),
        ("c", "I8", [2], [0xFF, 1]), ("u", "U8", [2], [200, 3]), ("t", "BOOL", [2], [1, 0]),
    ])),
    ("scalar-and-empty", safetensors([("s", "F32", [], RawBytes.f32([3])), ("e", "F32", [0, 4], [])], metadata: ["format": "pt"])),
    ("misaligned", safetensors([("w", "F32", [2], RawBytes.f32([1, 2]))], pad: false)),
    ("nan", safetensors([("w", "F32", [3], RawBytes.f32([1, .nan, .infinity]))])),
    ("overlap", SafeTensorsWriter.bytes(
        header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
        data: [UInt8](repeating: 0, count: 12))),
    ("huge-shape", SafeTensorsWriter.bytes(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#)),
]
for (name, bytes) in st { write("safetensors", name, bytes) }
for name in ["clip_tiny_io.safetensors"] {
    if let bytes = fixture(name), bytes.count <= 65536 { write("safetensors", name, bytes) }
}

// MARK: torch zip

typealias Entry = TorchZipBuilder.Entry

let six = RawBytes.f32([1, 2, 3, 4, 5, 6])
write("torchzip", "f32", TorchZipBuilder.stateDict([Entry(name: "w", numel: 6, shape: [2, 3], strides: [3, 1])], storages: ["0": six]))
write("torchzip", "views", TorchZipBuilder.stateDict([
    Entry(name: "a", numel: 6, offset: 1, shape: [2, 2], strides: [3, 1]), Entry(name: "t", numel: 6, shape: [3, 2], strides: [1, 3]),
    Entry(name: "s", numel: 6, offset: 5, shape: [], strides: []), Entry(name: "x", numel: 6, shape: [4], strides: [0]),
], storages: ["0": six]))
write("torchzip", "f16-deflate", TorchZipBuilder.stateDict([Entry(name: "h", storageType: "HalfStorage", numel: 4, shape: [4], strides: [1])],
    storages: ["0": RawBytes.f16([1, 2, 3, 4])], options: .init(deflate: true)))
write("torchzip", "zip64", TorchZipBuilder.stateDict([Entry(name: "w", numel: 6, shape: [6], strides: [1])], storages: ["0": six],
    options: .init(zip64Fields: true)))
write("torchzip", "big-endian", TorchZipBuilder.stateDict([Entry(name: "d", storageType: "DoubleStorage", numel: 1, shape: [1], strides: [1])],
    storages: ["0": RawBytes.f64([2]).reversed()], extra: [("byteorder", Array("big".utf8))]))
write("torchzip", "ints", TorchZipBuilder.stateDict([
    Entry(name: "n", storageType: "LongStorage", numel: 2, shape: [2], strides: [1]),
    Entry(name: "c", storageType: "ComplexFloatStorage", key: "1", numel: 1, shape: [1], strides: [1]),
], storages: ["0": RawBytes.i64([3, 4]), "1": [UInt8](repeating: 0, count: 8)]))

/// A TorchScript-style module tree: NEWOBJ of `__torch__` classes, attribute dicts through BUILD, a parameter
/// through `_rebuild_parameter`, a tensor through `_rebuild_from_type_v2`, and a `_rebuild_tensor_v3` tensor.
func scriptModule() -> [UInt8] {
    var p = PickleBuilder()
    p.global("__torch__.model", "Net")
    p.put(0)
    p.emptyTuple()
    p.newObj()
    p.emptyDict()
    p.mark()
    p.string("training")
    p.bool(false)
    p.string("fc")
    p.global("__torch__.torch.nn.modules.linear", "Linear")
    p.emptyTuple()
    p.newObj()
    p.emptyDict()
    p.mark()
    p.string("weight")
    p.parameter(storageType: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [2, 3], strides: [3, 1])
    p.string("bias")
    p.global("torch._tensor", "_rebuild_from_type_v2")
    p.mark()
    p.global("torch._utils", "_rebuild_tensor_v2")
    p.global("torch", "Tensor")
    p.tensorArguments(storageType: "FloatStorage", key: "0", numel: 6, offset: 4, shape: [2], strides: [1])
    p.emptyDict()
    p.tuple()
    p.reduce()
    p.string("scale")
    p.global("torch._utils", "_rebuild_tensor_v3")
    p.mark()
    p.storage("UntypedStorage", key: "1", numel: 8)
    p.int(0)
    p.intTuple([2])
    p.intTuple([1])
    p.bool(false)
    p.emptyOrderedDict()
    p.global("torch", "float32")
    p.tuple()
    p.reduce()
    p.setItems()
    p.build()
    p.setItems()
    p.build()
    p.stop()
    return p.bytes
}
write("torchzip", "script-module", TorchZipBuilder.zip(pickle: scriptModule(), storages: ["0": six, "1": RawBytes.f32([9, 8])], top: "net",
    extra: [("constants.pkl", [0x80, 0x02, 0x29, 0x2E])]))

// Real pickles (a TorchScript module tree, f32 and f16 state dicts) in zips whose storages are left out: the
// unpickler and the tensor walk see the real thing; reading stops at the first missing storage.
for name in ["clip_tiny_jit.pt", "unet_tiny_state_dict.pt", "unet_tiny_state_dict_f16.pt"] {
    guard let archive = try? ZipArchive(path: fixtures.appendingPathComponent(name).path) else { continue }
    var zip = ZipWriter()
    for record in archive.entries where record.name.hasSuffix(".pkl") || record.name.hasSuffix("/version") {
        zip.add(record.name, try! archive.readVerified(record, limit: 1 << 24))
    }
    write("torchzip", name + "-pickles", zip.bytes())
}

// Near-misses of the hostile classes of issue #11: a stride-0 view of 2^62 elements, 60 levels of tuples that
// each hold the previous one twice above a tensor, a 1,000-deep `_rebuild_from_type_v2` chain.
write("torchzip", "stride0-huge", TorchZipBuilder.stateDict([Entry(name: "w", numel: 1, shape: [1 << 62], strides: [0])], storages: ["0": RawBytes.f32([1])]))
func oneTensorZip(_ body: (inout PickleBuilder) -> Void) -> [UInt8] { TorchZipBuilder.singleEntry(storage: RawBytes.f32([1]), body) }
write("torchzip", "shared-tuples", oneTensorZip { p in
    p.tensor(storageType: "FloatStorage", key: "0", numel: 1, offset: 0, shape: [1], strides: [1])
    p.sharedTuples(levels: 60)
})
write("torchzip", "rebuild-chain", oneTensorZip { p in
    p.rebuildFromTypeChain(depth: 1000) { $0.tensorArguments(storageType: "FloatStorage", key: "0", numel: 1, offset: 0, shape: [1], strides: [1]) }
})

// MARK: legacy torch.save

func legacy(_ configure: (inout LegacyTorchWriter) -> Void) -> [UInt8] {
    var w = LegacyTorchWriter()
    configure(&w)
    return w.bytes()
}
write("legacy", "f32", legacy { w in
    w.storages = [.init(key: "94", type: "FloatStorage", elementSize: 4, bytes: six)]
    w.tensors = [.init(name: "w", storageKey: "94", offset: 0, shape: [2, 3], strides: [3, 1])]
})
write("legacy", "views", legacy { w in
    w.storages = [
        .init(key: "10", type: "FloatStorage", elementSize: 4, bytes: six),
        .init(key: "9", type: "HalfStorage", elementSize: 2, bytes: RawBytes.f16([1, 2, 3, 4])),
    ]
    w.tensors = [
        .init(name: "a", storageKey: "10", view: ("11", 2, 4), offset: 1, shape: [3], strides: [1]),
        .init(name: "b", storageKey: "9", offset: 0, shape: [2, 2], strides: [1, 2]),
        .init(name: "c", storageKey: "10", offset: 0, shape: [], strides: []),
    ]
})
write("legacy", "big-endian-counts", legacy { w in
    w.littleEndian = false
    w.bigEndianCounts = true
    w.storages = [.init(key: "1", type: "LongStorage", elementSize: 8, bytes: RawBytes.i64([5, 6]))]
    w.tensors = [.init(name: "n", storageKey: "1", offset: 0, shape: [2], strides: [1])]
})

// MARK: recognisers

/// The names and shapes of a fixture's safetensors header as a torch zip without data
/// (`TorchZipBuilder.shapesOnly`), so that the seed stays small.
func shapeOnly(_ safetensorsFile: String) -> [UInt8]? {
    guard let bytes = fixture(safetensorsFile), bytes.count >= 8 else { return nil }
    let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any] else { return nil }
    return TorchZipBuilder.shapesOnly(header.keys.sorted().compactMap { name in
        ((header[name] as? [String: Any])?["shape"] as? [Int]).map { (name, $0) }
    })
}
for name in ["unet_tiny_weights.safetensors", "unet_structure_weights.safetensors", "dino_tiny_weights.safetensors",
    "clip_tiny_weights.safetensors", "clip_rn_weights.safetensors", "arcface_weights.safetensors"] {
    if let bytes = shapeOnly(name) { write("recognisers", name + ".pt", bytes) }
}

// Shapes that once trapped the recognisers: rank-0 and empty positional embeddings, Int.max extents and block numbers.
write("recognisers", "clip-rank0", TorchZipBuilder.shapesOnly([
    ("visual.proj", [8, 4]), ("visual.conv1.weight", [8, 3, 2, 2]), ("visual.transformer.resblocks.0.attn.in_proj_weight", [24, 8]),
    ("visual.positional_embedding", []), ("token_embedding.weight", [10, 8]), ("ln_final.weight", []),
]))
write("recognisers", "dino-empty", TorchZipBuilder.shapesOnly([
    ("cls_token", [1, 1, 8]), ("patch_embed.proj.weight", [8, 3, 2, 2]), ("pos_embed", [1, 0, 8]), ("blocks.0.attn.qkv.weight", [24, 8]),
    ("blocks.0.mlp.fc1.weight", [32, 8]),
]))
write("recognisers", "unet-huge", TorchZipBuilder.shapesOnly([
    ("time_embed.0.weight", [4, 1]), ("input_blocks.0.0.weight", [Int.max, 3, 3, 3]), ("out.2.weight", [6, 1, 3, 3]),
    ("input_blocks.9223372036854775807.0.weight", [1]), ("output_blocks.0.0.in_layers.0.weight", [1]),
]))

// MARK: tokenizer

for (i, text) in [
    "a photo of a black leopard", "Lion &amp; &lt;b&gt;tiger&lt;/b&gt; 1234567", "caf\u{e9} na\u{ef}ve \u{1F981}\u{1F3FD} \u{201C}quoted\u{201D}",
    "  multiple\t\twhitespace\n\nlines  ", "\u{c3}\u{a9}t\u{c3}\u{a9} mojibake", "it's can't I'M WE'LL", "\u{4e2d}\u{6587} \u{0627}\u{0644}",
].enumerated() {
    write("tokenizer", "text-\(i)", Array(text.utf8))
}
