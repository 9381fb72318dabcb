import Glibc
import VipsBridge

/// The text of the current `errno`, for one-line messages.
func errnoDescription() -> String { String(cString: strerror(errno)) }

/// Bytes from a file, for a message: printable ASCII as is, anything else (control characters) as '?'.
func printable(_ bytes: some Sequence<UInt8>) -> String {
    String(bytes.map { $0 >= 0x20 && $0 < 0x7F ? Character(Unicode.Scalar($0)) : "?" })
}

/// Runs a libvips call and turns its error into a classified ``StyleFilterError``.
func wrap<T>(_ kind: StyleFilterError.Kind, _ prefix: String = "", _ body: () throws(VipsError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw StyleFilterError(kind, prefix.isEmpty ? error.message : "\(prefix): \(error.message)")
    }
}
