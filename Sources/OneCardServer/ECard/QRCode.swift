import CQRencode
import CZlib
import Foundation
import OneCardCore

/// A QR symbol made by libqrencode, rendered as PNG (deflated with zlib) or SVG.
struct QRCode: Sendable {
    /// Modules per side.
    let width: Int
    /// Row-major, `true` for a dark module.
    let modules: [Bool]

    /// Encodes `text` in 8-bit mode with error correction level M (readable with a 15% damaged symbol).
    init(_ text: String) throws(DomainError) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else {
            throw DomainError(.qrEncodingFailed, "the token could not be encoded as a QR code")
        }
        defer { QRcode_free(code) }
        let w = Int(code.pointee.width)
        width = w
        modules = (0..<(w * w)).map { code.pointee.data[$0] & 1 == 1 }
    }

    func isDark(_ x: Int, _ y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < width && modules[y * width + x]
    }

    /// An 8-bit greyscale PNG with a four-module quiet zone, `scale` pixels per module.
    func png(scale: Int = 6) -> Data {
        let quiet = 4
        let side = (width + 2 * quiet) * scale
        var raw = [UInt8]()
        raw.reserveCapacity((side + 1) * side)
        for py in 0..<side {
            raw.append(0)  // filter: none
            let my = py / scale - quiet
            for px in 0..<side { raw.append(isDark(px / scale - quiet, my) ? 0 : 255) }
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(side)); header.appendBigEndian(UInt32(side))
        header.append(contentsOf: [8, 0, 0, 0, 0])  // 8-bit, greyscale, deflate, adaptive filter, no interlace
        png.appendChunk("IHDR", header)
        png.appendChunk("IDAT", Self.deflate(raw))
        png.appendChunk("IEND", Data())
        return png
    }

    /// An SVG with one path of dark modules, for pages (scales without blur).
    func svg(title: String) -> String {
        let quiet = 4, side = width + 2 * quiet
        var d = ""
        for y in 0..<width {
            var x = 0
            while x < width {
                guard isDark(x, y) else { x += 1; continue }
                let start = x
                while x < width, isDark(x, y) { x += 1 }
                d += "M\(start + quiet) \(y + quiet)h\(x - start)v1h-\(x - start)z"
            }
        }
        let escaped = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges" role="img" aria-label="\(escaped)">\
        <title>\(escaped)</title><rect width="\(side)" height="\(side)" fill="#fff"/><path fill="#000" d="\(d)"/></svg>
        """
    }

    static func deflate(_ bytes: [UInt8]) -> Data {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = bytes.withUnsafeBufferPointer { src in
            compress2(&out, &size, src.baseAddress, uLong(bytes.count), Z_BEST_COMPRESSION)
        }
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        return Data(out.prefix(Int(size)))
    }
}

extension Data {
    fileprivate mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)])
    }

    fileprivate mutating func appendChunk(_ type: String, _ body: Data) {
        appendBigEndian(UInt32(body.count))
        let typed = Data(type.utf8) + body
        append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt(typed.count)) }
        appendBigEndian(UInt32(crc))
    }
}
