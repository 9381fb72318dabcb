import CVips
import CVipsShim

/// A value passed to a libvips operation argument.
public enum VipsArgument {
    case image(VImage)
    case images([VImage])
    case source(VSource)
    case target(VTarget)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    /// An enum or flags argument given by its libvips nickname (`"lanczos3"`, `"centre"`).
    case nickname(String)
    case doubles([Double])
}

/// Calls libvips operations through the generic (non-variadic) operation API: create the operation by
/// name, set arguments as GValues, build it through the cache, read its outputs, release it.
enum OperationCall {
    /// Runs `name` and returns its image output `output` (libvips' convention: `"out"`).
    static func callImage(
        _ name: String, options: String? = nil, _ arguments: KeyValuePairs<String, VipsArgument>,
        output: String = "out"
    ) throws(VipsError) -> VImage {
        try callImage(name, options: options, arguments.map { ($0.key, $0.value) }, output: output)
    }

    /// Runs `name` and returns its image output `output`.
    static func callImage(
        _ name: String, options: String? = nil, _ arguments: [(String, VipsArgument)], output: String = "out"
    ) throws(VipsError) -> VImage {
        var result: VImage?
        try call(name, options: options, arguments) { operation throws(VipsError) in
            result = try readImage(operation, output)
        }
        guard let result else { throw VipsError("\(name): no output image") }
        return result
    }

    /// Runs `name`; `readOutputs` sees the built operation before it is released.
    static func call(
        _ name: String, options: String? = nil, _ arguments: [(String, VipsArgument)],
        readOutputs: (UnsafeMutablePointer<CVips.VipsOperation>) throws(VipsError) -> Void = { _ in }
    ) throws(VipsError) {
        try Vips.start()
        guard let created = vips_operation_new(name) else {
            throw VipsError.fromBuffer(name)
        }
        let object = UnsafeMutableRawPointer(created).assumingMemoryBound(to: VipsObject.self)
        // String options first, so explicitly set arguments win (what pyvips does).
        if let options, !options.isEmpty, vips_object_set_from_string(object, options) != 0 {
            discard(created)
            throw VipsError.fromBuffer()
        }
        for (key, value) in arguments {
            if !set(object, key, value) {
                discard(created)
                throw VipsError.fromBuffer("\(name): argument \(key)")
            }
        }
        // buildp swaps in the cached (or newly built) operation and handles the references.
        var operation: UnsafeMutablePointer<CVips.VipsOperation>? = created
        guard vips_cache_operation_buildp(&operation) == 0, let built = operation else {
            if let operation { discard(operation) }
            throw VipsError.fromBuffer()
        }
        defer { discard(built) }
        try readOutputs(built)
    }

    private static func discard(_ operation: UnsafeMutablePointer<CVips.VipsOperation>) {
        let object = UnsafeMutableRawPointer(operation).assumingMemoryBound(to: VipsObject.self)
        // Outputs hold references back to the operation: drop them first or both leak.
        vips_object_unref_outputs(object)
        g_object_unref(operation)
    }

    private static func set(_ object: UnsafeMutablePointer<VipsObject>, _ key: String, _ value: VipsArgument) -> Bool {
        if case .nickname(let nick) = value {
            return vips_object_set_argument_from_string(object, key, nick) == 0
        }
        var gvalue = GValue()
        switch value {
        case .image(let image):
            g_value_init(&gvalue, vips_image_get_type())
            g_value_set_object(&gvalue, image.pointer)
        case .images(let images):
            g_value_init(&gvalue, vips_array_image_get_type())
            vips_value_set_array_image(&gvalue, Int32(images.count))
            if let array = vips_value_get_array_image(&gvalue, nil) {
                for (index, image) in images.enumerated() {
                    array[index] = image.pointer
                    g_object_ref(image.pointer)
                }
            }
        case .source(let source):
            g_value_init(&gvalue, vips_source_get_type())
            g_value_set_object(&gvalue, source.pointer)
        case .target(let target):
            g_value_init(&gvalue, vips_target_get_type())
            g_value_set_object(&gvalue, target.pointer)
        case .int(let number):
            g_value_init(&gvalue, cvips_type_int())
            g_value_set_int(&gvalue, Int32(clamping: number))
        case .double(let number):
            g_value_init(&gvalue, cvips_type_double())
            g_value_set_double(&gvalue, number)
        case .bool(let flag):
            g_value_init(&gvalue, cvips_type_boolean())
            g_value_set_boolean(&gvalue, flag ? 1 : 0)
        case .string(let text):
            g_value_init(&gvalue, cvips_type_string())
            g_value_set_string(&gvalue, text)
        case .doubles(let numbers):
            g_value_init(&gvalue, vips_array_double_get_type())
            numbers.withUnsafeBufferPointer { vips_value_set_array_double(&gvalue, $0.baseAddress, Int32($0.count)) }
        case .nickname:
            preconditionFailure("handled above")
        }
        defer { g_value_unset(&gvalue) }
        // g_object_set_property cannot report a bad name; look it up first so a typo fails loudly.
        var spec: UnsafeMutablePointer<GParamSpec>?
        var argumentClass: UnsafeMutablePointer<VipsArgumentClass>?
        var argumentInstance: UnsafeMutablePointer<VipsArgumentInstance>?
        guard vips_object_get_argument(object, key, &spec, &argumentClass, &argumentInstance) == 0 else {
            return false
        }
        let gobject = UnsafeMutableRawPointer(object).assumingMemoryBound(to: GObject.self)
        g_object_set_property(gobject, key, &gvalue)
        return true
    }

    static func readImage(_ operation: UnsafeMutablePointer<CVips.VipsOperation>, _ name: String) throws(VipsError) -> VImage {
        var gvalue = GValue()
        g_value_init(&gvalue, vips_image_get_type())
        defer { g_value_unset(&gvalue) }
        let gobject = UnsafeMutableRawPointer(operation).assumingMemoryBound(to: GObject.self)
        g_object_get_property(gobject, name, &gvalue)
        // dup takes our own reference before the operation (and the GValue) let go of theirs.
        guard let raw = g_value_dup_object(&gvalue) else { throw VipsError("no output \(name)") }
        return VImage(owning: raw.assumingMemoryBound(to: VipsImage.self))
    }

    static func readInt(_ operation: UnsafeMutablePointer<CVips.VipsOperation>, _ name: String) -> Int {
        var gvalue = GValue()
        g_value_init(&gvalue, cvips_type_int())
        defer { g_value_unset(&gvalue) }
        let gobject = UnsafeMutableRawPointer(operation).assumingMemoryBound(to: GObject.self)
        g_object_get_property(gobject, name, &gvalue)
        return Int(g_value_get_int(&gvalue))
    }

    static func readDouble(_ operation: UnsafeMutablePointer<CVips.VipsOperation>, _ name: String) -> Double {
        var gvalue = GValue()
        g_value_init(&gvalue, cvips_type_double())
        defer { g_value_unset(&gvalue) }
        let gobject = UnsafeMutableRawPointer(operation).assumingMemoryBound(to: GObject.self)
        g_object_get_property(gobject, name, &gvalue)
        return g_value_get_double(&gvalue)
    }
}
