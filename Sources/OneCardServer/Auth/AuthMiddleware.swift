import Hummingbird
import HummingbirdAuth
import OneCardCore

/// Reads `Authorization: Bearer` and puts the caller's identity in the context. A bad token is a 401
/// at once; no token leaves the identity empty for public routes (protected ones refuse it).
struct AuthMiddleware: RouterMiddleware {
    let sessions: SessionTokens

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            guard let bearer = request.headers.bearer, let identity = await sessions.verify(bearer.token) else {
                _ = header
                throw DomainError(.unauthorized, "invalid_token", "the bearer token is invalid or has expired")
            }
            context.identity = identity
        }
        return try await next(request, context)
    }
}
