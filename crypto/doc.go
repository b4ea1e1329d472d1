// Package crypto seals and opens the frames that travel between the isolation
// iframe and the core.
//
// It trusts nothing but the 32-byte session secret it is given. From that
// secret it derives, with HKDF-SHA256, one AES-256-GCM key per direction and a
// transport authentication token, so that a frame sealed for one direction can
// never be opened as the other and the token proves nothing about the keys.
//
// Open guarantees that a returned plaintext was sealed by a holder of the
// session secret, for this session, in this direction, with a sequence number
// never accepted before (or too old to tell). Everything else is rejected with
// the single opaque error ErrOpen, which never says why.
//
// The package imports neither net/http, os/exec nor anything of the core; the
// wire format is written down in docs/protocol.md.
package crypto
