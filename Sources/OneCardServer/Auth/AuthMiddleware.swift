import Hummingbird
import HummingbirdAuth
import OneCardCore
import OneCardStore

/// Reads `Authorization: Bearer` and puts the caller's identity in the context. A bad token is a 401
/// at once; no token leaves the identity empty for public routes (protected ones refuse it).
struct AuthMiddleware: RouterMiddleware {
    let sessions: SessionTokens
    let venues: VenueService

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            _ = header
            guard let bearer = request.headers.bearer else {
                throw DomainError(.invalidToken, "send Authorization: Bearer <token>")
            }
            // Terminals present their API key; people present a session token.
            let identity = bearer.token.hasPrefix("oct_") ? await venues.authenticate(bearer.token)
                : await sessions.verify(bearer.token)
            guard let identity else { throw DomainError(.invalidToken, "the bearer token or API key is invalid, revoked or expired") }
            context.identity = identity
        }
        return try await next(request, context)
    }
}
