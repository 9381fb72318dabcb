import Foundation
import StyleFilter

Signals.install()
let status = Dispatcher.run(Array(CommandLine.arguments.dropFirst()))
// After every image is released: with VIPS_LEAK set this prints libvips' leak report.
Runtime.shutdown()
exit(status)
