import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C handling for long runs: the first SIGINT asks the work to stop after the current batch (everything
/// committed so far stays); a second one exits at once, which is still safe because every batch is a transaction.
final class Interrupt: @unchecked Sendable {
    private var source: DispatchSourceSignal?
    private let lock = NSLock()
    private var count = 0

    var requested: Bool { lock.lock(); defer { lock.unlock() }; return count > 0 }

    func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            lock.lock(); count += 1; let n = count; lock.unlock()
            if n == 1 {
                FileHandle.standardError.write(Data("\ninterrupted: finishing the current batch (Ctrl-C again to quit now)\n".utf8))
            } else {
                _exit(130)
            }
        }
        source.resume()
        self.source = source
    }
}
