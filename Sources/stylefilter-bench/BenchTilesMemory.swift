import Engine
import Foundation
import Logging
import StyleFilter
import VipsBridge

/// `tiles-memory [sizes=WxH,WxH,...] [steps=N] [mode=tiled|detail]`: peak RSS of the real `style
/// --mode tiled` path (PNG decode, the stage, PNG encode; one child process per size) against the
/// image size, to show that memory grows with the image only by its pixel buffers.
///
/// The networks are SMALL random-weight stand-ins with the official 256-pixel tile (an ADM U-Net with
/// 32 base channels and a 2-block DINO ViT-S/16-like encoder), so a 12 MP image runs in minutes; the
/// per-tile buffers of the official networks are the same at every image size and are measured by
/// `tiles-tiled`. Times here are NOT the official networks' times.
enum BenchTilesMemory {
    nonisolated(unsafe) static let unetConfig: [String: Any] = [
        "image_size": 256, "in_channels": 3, "model_channels": 32, "out_channels": 6, "num_res_blocks": 1,
        "attention_resolutions": [16], "dropout": 0.0, "channel_mult": [1, 1, 2, 2, 4, 4], "num_classes": NSNull(),
        "use_checkpoint": false, "use_fp16": false, "num_heads": 1, "num_head_channels": 32, "num_heads_upsample": -1,
        "use_scale_shift_norm": true, "resblock_updown": true, "use_new_attention_order": false,
    ]

    static func run(_ args: ArraySlice<String>) throws {
        var sizes = [(1000, 750), (2000, 1500), (4000, 3000)], steps = 1, mode = "tiled"
        for a in args {
            let kv = a.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "sizes":
                sizes = kv[1].split(separator: ",").compactMap { s in
                    let wh = s.split(separator: "x").compactMap { Int($0) }
                    return wh.count == 2 ? (wh[0], wh[1]) : nil
                }
            case "steps": steps = Int(kv[1]) ?? steps
            case "mode": mode = kv[1]
            default: break
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-bench-memory-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeModels(to: dir)
        try writePNG(BenchTiles.photo(width: 256, height: 256), to: dir.appendingPathComponent("style.png").path)
        Bench.log("tiles-memory: \(mode) mode, \(steps) step(s), small stand-in networks (256-pixel tiles), one child process per size")
        var rows: [(pixels: Int, peak: Int, line: String)] = []
        for (w, h) in sizes {
            let input = dir.appendingPathComponent("in-\(w)x\(h).png").path
            try writePNG(BenchTiles.photo(width: w, height: h), to: input)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = ["tiles-memory-child", dir.path, input, "\(steps)", mode]
            // glibc raises its mmap threshold as large blocks are freed, after which freed tensors stay
            // in the heap and the peak depends on allocation history (±200 MB between runs). A fixed
            // threshold returns them to the system at once, so peaks compare across sizes.
            var environment = ProcessInfo.processInfo.environment
            environment["MALLOC_MMAP_THRESHOLD_"] = "131072"
            child.environment = environment
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            guard child.terminationStatus == 0, let line = output.split(separator: "\n").last.map(String.init),
                let peak = line.split(separator: " ").first(where: { $0.hasPrefix("peak_rss_mb=") }).flatMap({ Int($0.dropFirst(12)) })
            else { throw DiffuseITError.badInput("child for \(w)x\(h) failed (status \(child.terminationStatus))") }
            Bench.log("  \(line)")
            rows.append((w * h, peak, line))
        }
        guard rows.count >= 2 else { return }
        // Growth of peak RSS per added pixel between the two largest sizes (where both canvases have
        // left memory for their files), against the 3-byte-per-pixel buffers of 8-bit RGB.
        let a = rows[rows.count - 2], b = rows[rows.count - 1]
        guard b.pixels > a.pixels else { return }
        let perPixel = Double(b.peak - a.peak) * 1_048_576 / Double(b.pixels - a.pixels)
        Bench.report("tiles-memory", [
            "mode": mode, "sizes": sizes.map { "\($0.0)x\($0.1)" }.joined(separator: ","),
            "peak_rss_mb": rows.map { "\($0.peak)" }.joined(separator: ","),
            "rss_growth_bytes_per_pixel": String(format: "%.1f", perPixel),
            "ratio_to_rgb8_buffers": String(format: "%.2f", perPixel / 3),
        ])
    }

    /// The child: runs the chain `style --mode MODE` on one input file and reports its peak RSS.
    static func child(_ args: ArraySlice<String>) throws {
        let a = Array(args)
        guard a.count == 4, let steps = Int(a[2]), let mode = StyleMode(rawValue: a[3]) else {
            throw DiffuseITError.badInput("tiles-memory-child DIR INPUT STEPS MODE")
        }
        let dir = a[0], input = a[1]
        var p = DiffuseITParameters.named("paper", imageMode: true)!
        p.timestepRespacing = "\(max(steps, 1) + 1)"
        p.skipTimesteps = 1
        p.resampleCount = 1
        p.useRangeRestart = false
        let files = try StyleModelFiles.resolve(imageMode: true, unet: dir + "/unet.safetensors", dino: dir + "/dino.safetensors",
            clip: [], clipModels: [], modelsDirectory: dir)
        var stage = try StyleStage(guide: .image(dir + "/style.png"), parameters: p, models: files)
        stage.mode = mode
        stage.tiling.detailSteps = max(steps, 1)
        let start = DispatchTime.now().uptimeNanoseconds
        let header = try Foreign.load(VSource.file(input))
        var logger = Logger(label: "stylefilter-bench")
        logger.logLevel = .warning
        try Chain([stage]).run(input: .file(input), output: try OutputSpec.resolve(output: dir + "/out.png", format: nil, strip: false),
            context: PipelineContext(logger: logger))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        Bench.report("tiles-memory-child", [
            "size": "\(header.width)x\(header.height)", "mp": String(format: "%.2f", Double(header.width * header.height) / 1e6),
            "seconds": String(format: "%.1f", seconds), "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ])
    }

    static func writePNG(_ image: VImage, to path: String) throws {
        let bytes = try Foreign.encode(image, suffix: ".png")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Random-weight checkpoints of the stand-in networks as safetensors files, with the configs the
    /// stage reads beside them.
    static func writeModels(to dir: URL) throws {
        let config = try JSONDecoder().decode(UNetConfig.self, from: JSONSerialization.data(withJSONObject: unetConfig))
        try writeSafetensors(config.parameterShapes(), to: dir.appendingPathComponent("unet.safetensors"))
        try JSONSerialization.data(withJSONObject: unetConfig).write(to: dir.appendingPathComponent("unet.json"))
        let dino = DINOVisionTransformer.parameterShapes(width: 96, depth: 2, patch: 16, tokens: 1 + (224 / 16) * (224 / 16))
        try writeSafetensors(dino, to: dir.appendingPathComponent("dino.safetensors"))
        try JSONSerialization.data(withJSONObject: ["num_heads": 2, "global_patch_size": 224]).write(to: dir.appendingPathComponent("dino.json"))
    }

    /// A safetensors file (8-byte little-endian header length, JSON header, F32 data) of small
    /// random values; norm weights are 1 so activations stay in range.
    static func writeSafetensors(_ entries: [(name: String, shape: [Int])], to url: URL) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            let bytes = 4 * e.shape.reduce(1, *)
            header[e.name] = ["dtype": "F32", "shape": e.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        var rng = RandomWeightArchive.Generator(seed: 7)
        for e in entries {
            let count = e.shape.reduce(1, *)
            let isNorm = e.name.hasSuffix("norm.weight") || e.name.contains("norm1.weight") || e.name.contains("norm2.weight")
                || e.name.hasSuffix("in_layers.0.weight") || e.name.hasSuffix("out_layers.0.weight") || e.name.hasSuffix("out.0.weight")
            let scale = 1 / Float(max(1, e.shape.dropFirst().reduce(1, *))).squareRoot()
            let values = (0..<count).map { _ in isNorm ? 1 : rng.uniform(scale: scale) }
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: url)
    }
}
