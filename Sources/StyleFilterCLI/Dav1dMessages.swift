import CDav1dLog
import Foundation
import Logging

/// libdav1d's messages (decoding AVIF) become log lines at info level, shown with `-v` like libvips'
/// warnings, so a corrupt AVIF is reported by stylefilter's one error line instead of two.
enum Dav1dMessages {
    static func install() {
        _ = cdav1d_log_to { message in
            guard let message else { return }
            let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            Logger(label: "stylefilter.dav1d").info("libdav1d: \(text)")
        }
    }
}
