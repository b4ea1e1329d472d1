// Package httpapi gates the wrapped app's own HTTP API: the routes that
// name its API prefixes, the canonical-path rule, the request the core
// builds for an allowed call, and the responses that refuse one.
package httpapi
