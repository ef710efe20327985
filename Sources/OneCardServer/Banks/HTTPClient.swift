import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client on SwiftNIO: one connection per request, a deadline over the whole exchange.
/// Enough for the platform's calls to banks and for the CLI's calls to the platform.
public struct HTTPClient1: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        /// The response's header fields in the order received.
        public var headers: [(name: String, value: String)] = []

        public func header(_ name: String) -> String? { headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
    }

    public enum Failure: Error, CustomStringConvertible {
        case badURL(String)
        case timedOut
        case connectionClosed
        public var description: String {
            switch self {
            case .badURL(let u): "not an http URL: \(u)"
            case .timedOut: "timed out"
            case .connectionClosed: "the connection closed before a full response"
            }
        }
    }

    public var timeout: Duration

    public init(timeout: Duration = .seconds(10)) { self.timeout = timeout }

    /// What receives a 200 answer's body piece by piece as it arrives (the response's `body` is then empty).
    public typealias BodySink = @Sendable (ByteBuffer) throws -> Void

    /// `send`, a 200 answer's body handed to `sink` as it arrives instead of collected: a large download (a gate's
    /// revocation snapshot) is never held whole. Any other answer's body is collected as `send` does.
    public func download(_ method: String, _ url: String, headers: [(String, String)] = [], to sink: @escaping BodySink) async throws -> Response {
        try await send(method, url, headers: headers, body: nil, sink: sink)
    }

    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: Data? = nil) async throws -> Response {
        try await send(method, url, headers: headers, body: body, sink: nil)
    }

    private func send(_ method: String, _ url: String, headers: [(String, String)], body: Data?, sink: BodySink?) async throws -> Response {
        guard let u = URL(string: url), u.scheme == "http", let host = u.host else { throw Failure.badURL(url) }
        let port = u.port ?? 80
        var path = u.path.isEmpty ? "/" : u.path
        if let q = u.query { path += "?" + q }
        let deadline = timeout
        let target = path
        return try await withThrowingTaskGroup(of: Response.self) { group in
            group.addTask { try await Self.exchange(host: host, port: port, method: HTTPMethod(rawValue: method), path: target, headers: headers, body: body, sink: sink) }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw Failure.timedOut
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private static func exchange(host: String, port: Int, method: HTTPMethod, path: String, headers: [(String, String)], body: Data?,
                                 sink: BodySink?) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
                head.headers.add(name: "Host", value: "\(host):\(port)")
                head.headers.add(name: "Connection", value: "close")
                for (k, v) in headers { head.headers.add(name: k, value: v) }
                head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
                try await outbound.write(.head(head))
                if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                try await outbound.write(.end(nil))
                var status = 0
                var fields: [(name: String, value: String)] = []
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h): status = Int(h.status.code); fields = h.headers.map { ($0.name, $0.value) }
                    case .body(let b) where status == 200 && sink != nil: try sink!(b)
                    case .body(var b): collected.writeBuffer(&b)
                    case .end: return Response(status: status, body: Data(buffer: collected), headers: fields)
                    }
                }
                throw Failure.connectionClosed
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }
}
