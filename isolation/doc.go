// Package isolation serves the isolation iframe and the bridge script, and
// guards the two loopback HTTP origins isogate listens on.
//
// It trusts nothing about a request. It guarantees that:
//   - the iframe page, which carries a session secret, is served once, at a
//     URL holding a single-use token of 256 bits from crypto/rand, and never
//     cached;
//   - every response from either origin refuses a Host header other than the
//     exact loopback address and port it listens on (DNS rebinding);
//   - the iframe page runs under a CSP that allows only its own script and its
//     one WebSocket, is itself sandboxed, and may be framed only by the app
//     origin; app pages may be framed only by themselves.
//
// It holds no keys: the core makes the session, hands the iframe its secret
// through Issue, and forgets nothing here but the token. It imports neither
// crypto, policy nor core (deps_test.go holds that); the limits the iframe
// enforces (Limits) are the core's, handed over in each Frame.
package isolation
