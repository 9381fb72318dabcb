import Foundation
import StyleFilter
import StyleFilterCommands

// The command is this file; its commands live in StyleFilterCommands, where tests and the fuzzers reach them.
// OpenBLAS picks its kernels when it loads; a CPU it does not know gets them set and the program runs again.
Runtime.selectEngineKernels()
Signals.install()
Dav1dMessages.install()
let status = Dispatcher.run(Array(CommandLine.arguments.dropFirst()))
// After every image is released: with VIPS_LEAK set this prints libvips' leak report.
Runtime.shutdown()
exit(status)
