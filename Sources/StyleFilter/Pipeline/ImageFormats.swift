import VipsBridge

/// One image format the filter can read or write (a libvips loader or saver).
public struct ImageFormat: Sendable, Equatable, Codable {
    /// libvips' nickname, e.g. `jpegload_source`.
    public var name: String
    public var description: String
    /// Whether the loader is in the trusted set (or `--allow-untrusted` is on); savers always are.
    public var allowed: Bool
}

/// The loaders and savers of the libvips in use (`stylefilter formats`).
public enum ImageFormats {
    public static var loaders: [ImageFormat] { list("VipsForeignLoad") }
    public static var savers: [ImageFormat] { list("VipsForeignSave") }

    private static func list(_ base: String) -> [ImageFormat] {
        Foreign.list(base).map { ImageFormat(name: $0.nickname, description: $0.summary, allowed: !$0.blocked) }
    }
}
