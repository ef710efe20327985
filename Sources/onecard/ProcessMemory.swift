import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory as the kernel counts it, for the benchmarks' memory figures (issue 18: "peak memory
/// under 300 MB"). A benchmark that seeds its own data first starts the peak over once seeding is done, so the figure is
/// what the measured work needed on top of what was left resident, not what making the test data took.
enum ProcessMemory {
    /// Returns freed heap to the system and starts the high-water mark over (Linux: `5` to `/proc/self/clear_refs`
    /// resets `VmHWM` to the current resident size). False where that is not possible: the peak is then since start.
    @discardableResult
    static func startPeakOver() -> Bool {
        _ = trim?(0)
        return (try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))) != nil
    }

    /// glibc's `malloc_trim`, which Swift's Glibc module does not show.
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let trim: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim").map { unsafeBitCast($0, to: Trim.self) }

    /// The peak resident size (`VmHWM`) since start or `startPeakOver`, in MB.
    static func peakMB() -> Int {
        if let kB = status("VmHWM") { return kB / 1024 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) / 1024
    }

    /// The resident size now (`VmRSS`), in MB.
    static func currentMB() -> Int { (status("VmRSS") ?? 0) / 1024 }

    private static func status(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")  // "VmHWM:\t  1234 kB"
        }
        return nil
    }
}
