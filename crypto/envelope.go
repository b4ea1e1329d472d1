package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Wire constants. See docs/protocol.md for the layout.
const (
	Version       = 1
	SecretSize    = 32 // session secret, from crypto/rand
	SessionIDSize = 16 // public session identifier, from crypto/rand
	HeaderSize    = 1 + 1 + SessionIDSize + 8
	TagSize       = 16
	Overhead      = HeaderSize + TagSize
	AuthSize      = 32 // transport authentication token
)

// Direction says who sealed a frame. It is part of the header, authenticated as
// associated data, and selects the key.
type Direction byte

const (
	ToCore  Direction = 1 // isolation iframe -> core
	ToFrame Direction = 2 // core -> isolation iframe
)

// HKDF info strings. Changing one is a protocol version change.
const (
	infoToCore  = "isogate v1 key to-core"
	infoToFrame = "isogate v1 key to-frame"
	infoAuth    = "isogate v1 transport-auth"
)

// ErrOpen is the only error Open returns. It deliberately does not say whether
// the header, the sequence number or the authentication tag was wrong.
var ErrOpen = errors.New("crypto: cannot open frame")

// ErrSequenceExhausted is returned by Seal after MaxSeq frames in one
// direction; the session must end rather than reuse a nonce.
var ErrSequenceExhausted = errors.New("crypto: sequence numbers exhausted")

// MaxSeq is the highest sequence number on the wire, in both directions:
// the largest the iframe's counter (a JavaScript number) holds exactly.
// Open refuses anything above it, as the iframe does.
const MaxSeq = 1<<53 - 1

// SessionID names a session on the wire. It is not a secret.
type SessionID [SessionIDSize]byte

// Keys are what one session derives from its secret.
type Keys struct {
	ID      SessionID
	toCore  cipher.AEAD
	toFrame cipher.AEAD
	Auth    [AuthSize]byte // token the transport demands before upgrading
}

// NewSession draws a fresh secret and session id from crypto/rand.
func NewSession() (secret [SecretSize]byte, id SessionID) {
	rand.Read(secret[:]) // never returns an error (Go 1.24+); panics on a broken kernel RNG
	rand.Read(id[:])
	return secret, id
}

// DeriveKeys runs HKDF-SHA256 with the session id as salt and one info string
// per output. The iframe runs the same derivation with WebCrypto.
func DeriveKeys(secret []byte, id SessionID) (*Keys, error) {
	if len(secret) != SecretSize {
		return nil, errors.New("crypto: session secret must be 32 bytes")
	}
	prk, err := hkdf.Extract(sha256.New, secret, id[:])
	if err != nil {
		return nil, err
	}
	k := &Keys{ID: id}
	if k.toCore, err = expandAEAD(prk, infoToCore); err != nil {
		return nil, err
	}
	if k.toFrame, err = expandAEAD(prk, infoToFrame); err != nil {
		return nil, err
	}
	auth, err := hkdf.Expand(sha256.New, prk, infoAuth, AuthSize)
	if err != nil {
		return nil, err
	}
	copy(k.Auth[:], auth)
	return k, nil
}

func expandAEAD(prk []byte, info string) (cipher.AEAD, error) {
	key, err := hkdf.Expand(sha256.New, prk, info, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (k *Keys) aead(d Direction) cipher.AEAD {
	if d == ToCore {
		return k.toCore
	}
	return k.toFrame
}

// nonce is 4 zero bytes then the big-endian sequence number. Keys are unique
// per session and direction and a sealer never reuses a sequence number, so a
// nonce never repeats under one key.
func nonce(seq uint64) [12]byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n
}

func putHeader(dst []byte, d Direction, id SessionID, seq uint64) []byte {
	dst = append(dst, Version, byte(d))
	dst = append(dst, id[:]...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// Sealer seals frames in one direction with increasing sequence numbers,
// starting at 1. It is not safe for concurrent use: the caller serializes
// sealing and sending so frames leave in sequence order.
type Sealer struct {
	keys *Keys
	dir  Direction
	seq  uint64
}

// NewSealer returns a sealer for frames travelling in direction d.
func NewSealer(k *Keys, d Direction) *Sealer { return &Sealer{keys: k, dir: d} }

// Seal appends a sealed frame carrying plaintext to dst and returns it.
func (s *Sealer) Seal(dst, plaintext []byte) ([]byte, error) {
	if s.seq >= MaxSeq {
		return nil, ErrSequenceExhausted
	}
	s.seq++
	start := len(dst)
	dst = putHeader(dst, s.dir, s.keys.ID, s.seq)
	n := nonce(s.seq)
	return s.keys.aead(s.dir).Seal(dst, n[:], plaintext, dst[start:]), nil
}

// Opener opens frames travelling in one direction and remembers which
// sequence numbers it accepted. It is not safe for concurrent use.
type Opener struct {
	keys   *Keys
	dir    Direction
	window Window
}

// NewOpener returns an opener for frames travelling in direction d.
func NewOpener(k *Keys, d Direction) *Opener { return &Opener{keys: k, dir: d} }

// OpenInPlace is Open with the plaintext written over frame's ciphertext,
// for a caller that owns frame and has no further use for it. A frame that
// fails to open may be left overwritten.
func (o *Opener) OpenInPlace(frame []byte) ([]byte, uint64, error) {
	if len(frame) < Overhead {
		return nil, 0, ErrOpen
	}
	return o.Open(frame[HeaderSize:HeaderSize], frame)
}

// Open authenticates frame and returns its plaintext (appended to dst) and
// sequence number. Any failure is ErrOpen; a failed frame leaves the replay
// window unchanged.
func (o *Opener) Open(dst, frame []byte) ([]byte, uint64, error) {
	if len(frame) < Overhead || frame[0] != Version || Direction(frame[1]) != o.dir ||
		[SessionIDSize]byte(frame[2:2+SessionIDSize]) != o.keys.ID {
		return nil, 0, ErrOpen
	}
	seq := binary.BigEndian.Uint64(frame[2+SessionIDSize : HeaderSize])
	if seq > MaxSeq || !o.window.Fresh(seq) {
		return nil, 0, ErrOpen
	}
	n := nonce(seq)
	pt, err := o.keys.aead(o.dir).Open(dst, n[:], frame[HeaderSize:], frame[:HeaderSize])
	if err != nil {
		return nil, 0, ErrOpen
	}
	o.window.Accept(seq)
	return pt, seq, nil
}
