package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CheckPath reports why the escaped request path p is ambiguous, or nil
// when it is canonical. A canonical path is passed on byte for byte: the
// policy sees exactly what the upstream receives, so nothing is normalised
// on one side only. Refused, because servers, proxies and frameworks
// disagree on what they mean:
//   - anything but an absolute path of segments ("/a/b", one trailing "/"
//     allowed), with no empty segment ("//"), no "." or ".." segment and no
//     ";" (path parameters);
//   - a backslash, raw or encoded (%5C), an encoded slash (%2F), dot (%2E)
//     or percent sign (%25, a second round of decoding);
//   - an encoded unreserved character (%41 for "A": the same path written
//     twice) or lowercase hex digits (%2f beside %2F);
//   - a malformed escape, an encoded NUL or other control character, and
//     bytes that do not decode to valid UTF-8 (overlong forms included);
//   - a raw byte outside RFC 3986's pchar.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("the path is not absolute")
	}
	decoded := make([]byte, 0, len(p))
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch seg {
		case "":
			if i < len(segs)-1 { // one trailing slash is a segment of its own meaning
				return errors.New("the path has an empty segment (//)")
			}
		case ".", "..":
			return fmt.Errorf("the path has a %q segment", seg)
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isUpperHex(p[i+1]) || !isUpperHex(p[i+2]) {
				return fmt.Errorf("malformed or lowercase escape at byte %d", i)
			}
			b := unhex(p[i+1])<<4 | unhex(p[i+2])
			switch {
			case b == '/' || b == '\\' || b == '.' || b == '%':
				return fmt.Errorf("the path encodes %q (%s)", rune(b), p[i:i+3])
			case b < 0x20 || b == 0x7f:
				return fmt.Errorf("the path encodes the control character %s", p[i:i+3])
			case isUnreserved(b):
				return fmt.Errorf("the path encodes %q, which needs no escape (%s)", rune(b), p[i:i+3])
			}
			decoded = append(decoded, b)
			i += 2
		case c == ';':
			return errors.New("the path has a ';' (path parameters)")
		case c == '\\':
			return errors.New("the path has a backslash")
		case c == '/' || isUnreserved(c) || strings.IndexByte("!$&'()*+,=:@", c) >= 0:
			decoded = append(decoded, c)
		default:
			return fmt.Errorf("the path has the raw byte %#02x", c)
		}
	}
	if !utf8.Valid(decoded) {
		return errors.New("the path does not decode to valid UTF-8")
	}
	return nil
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// isUnreserved is RFC 3986's unreserved set: ALPHA / DIGIT / "-" / "." / "_" / "~".
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
