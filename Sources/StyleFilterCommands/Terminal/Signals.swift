import Glibc
import StyleFilter

/// Signal dispositions for a well-behaved filter.
package enum Signals {
    package static func install() {
        // A closed downstream pipe ends the process silently (status 141), like other filters.
        signal(SIGPIPE, SIG_DFL)
        // Interrupted: remove a half-written temporary output, exit 128 + signal.
        signal(SIGINT, Signals.interrupted)
        signal(SIGTERM, Signals.interrupted)
    }

    private static let interrupted: @convention(c) (Int32) -> Void = { signal in
        if let path = PartialOutput.path { unlink(path) }
        _exit(128 + signal)
    }
}
