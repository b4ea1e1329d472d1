// Package frameclient speaks isogate's wire protocol from Go, as the
// isolation iframe does from JavaScript: it loads a page, takes the iframe's
// single-use page for the session secret, derives the keys and talks to the
// transport. It exists for tests, fuzzers and benchmarks, which need to drive
// a real core over real sockets; it is not part of the product.
package frameclient

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/crypto"
)

var (
	bridgeTag   = regexp.MustCompile(`data-isogate-frame="([^"]+)"`)
	frameConfig = regexp.MustCompile(`<script type="application/json" id="isogate-config">(.*?)</script>`)
)

// Frame is one page load's iframe side of a session.
type Frame struct {
	Keys      *crypto.Keys
	Session   string // hex
	WS        string // transport URL without query
	IframeURL string
	Sealer    *crypto.Sealer
	Opener    *crypto.Opener

	queued     []*Reply        // messages of a batch not yet returned by Recv
	queuedFrom *websocket.Conn // the connection they came on
}

// Browser is the HTTP client Get and Load use: like one browser profile, it
// keeps the launch cookie a core's launch URL hands out, so one Load with
// c.URL() lets later ones in. NewBrowser makes another profile.
var Browser = NewBrowser()

// NewBrowser returns an HTTP client with an empty cookie jar, as a fresh
// browser profile is.
func NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// Get fetches url with Browser and returns its status and body.
func Get(url string) (int, string, error) { return GetWith(Browser, url) }

// GetWith fetches url with client and returns its status and body.
func GetWith(client *http.Client, url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Load loads the app page at appURL (a new session) with Browser and the
// iframe page it points to, and derives the session's keys.
func Load(appURL string) (*Frame, error) { return LoadWith(Browser, appURL) }

// LoadWith is Load with client.
func LoadWith(client *http.Client, appURL string) (*Frame, error) {
	_, page, err := GetWith(client, appURL)
	if err != nil {
		return nil, err
	}
	m := bridgeTag.FindStringSubmatch(page)
	if m == nil {
		return nil, errors.New("no bridge in the page")
	}
	code, body, err := GetWith(client, m[1])
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("iframe page: %d %v", code, err)
	}
	c := frameConfig.FindStringSubmatch(body)
	if c == nil {
		return nil, errors.New("no config in the iframe page")
	}
	var cfg struct{ Session, Secret, WS string }
	if err := json.Unmarshal([]byte(c[1]), &cfg); err != nil {
		return nil, err
	}
	secret, err := base64.RawURLEncoding.DecodeString(cfg.Secret)
	if err != nil {
		return nil, err
	}
	var id crypto.SessionID
	sid, err := hex.DecodeString(cfg.Session)
	if err != nil || len(sid) != len(id) {
		return nil, errors.New("bad session id")
	}
	copy(id[:], sid)
	keys, err := crypto.DeriveKeys(secret, id)
	if err != nil {
		return nil, err
	}
	return &Frame{Keys: keys, Session: cfg.Session, WS: cfg.WS, IframeURL: m[1],
		Sealer: crypto.NewSealer(keys, crypto.ToCore), Opener: crypto.NewOpener(keys, crypto.ToFrame)}, nil
}

// URL is the transport URL carrying auth as its token.
func (f *Frame) URL(auth []byte) string {
	return fmt.Sprintf("%s?s=%s&a=%s", f.WS, f.Session, base64.RawURLEncoding.EncodeToString(auth))
}

// Dial opens a WebSocket to url with the given Origin header ("" for none).
func Dial(ctx context.Context, url, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
}

// Connect opens the transport as the iframe does.
func (f *Frame) Connect(ctx context.Context) (*websocket.Conn, error) {
	return DialSession(ctx, f.URL(f.Keys.Auth[:]))
}

// DialSession dials a transport URL with Origin "null", retrying for up to
// 10 s while the core still holds the session's previous connection (409).
func DialSession(ctx context.Context, url string) (*websocket.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, resp, err := Dial(ctx, url, "null")
		if err == nil {
			c.SetReadLimit(1 << 30)
			return c, nil
		}
		if resp == nil || resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Invoke is the plaintext of a request.
func Invoke(id int, name, args string) []byte {
	return fmt.Appendf(nil, `{"type":"invoke","id":%d,"kind":"command","name":%q,"args":%s}`, id, name, args)
}

// Listen is the plaintext of a listen request for event.
func Listen(id int, event string) []byte {
	return fmt.Appendf(nil, `{"type":"invoke","id":%d,"kind":"listen","name":%q,"args":null}`, id, event)
}

// Send seals plaintext and writes it; it returns the frame sent.
func (f *Frame) Send(ctx context.Context, c *websocket.Conn, plaintext []byte) ([]byte, error) {
	frame, err := f.Sealer.Seal(nil, plaintext)
	if err != nil {
		return nil, err
	}
	return frame, c.Write(ctx, websocket.MessageBinary, frame)
}

// Reply is a decoded message from the core: a reply, (Type "event") an
// event with its Name and Payload, or (Type "data") a chunk of call ID's
// streamed result.
type Reply struct {
	Type    string          `json:"type"`
	Name    string          `json:"name"`
	Payload json.RawMessage `json:"payload"`
	ID      int             `json:"id"`
	OK      bool            `json:"ok"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Value   json.RawMessage `json:"value"`
	} `json:"error"`
	Stream *string         `json:"stream"` // a reply's announced stream
	End    bool            `json:"end"`    // a data message's last
	Blobs  []byte          `json:"-"`      // the bytes after the JSON of a binary-form message
	Raw    json.RawMessage `json:"-"`      // the message's JSON as it came
}

// Code is the reply's error code, or "" when it succeeded.
func (r *Reply) Code() codes.Code {
	if r.Error == nil {
		return ""
	}
	return codes.Code(r.Error.Code)
}

// Recv returns the next message from the core as a reply: it reads and
// opens a frame, and a batch's messages are returned one per call, in order
// (binary-form plaintexts: the JSON part only). A connection the core ended
// returns its error.
func (f *Frame) Recv(ctx context.Context, c *websocket.Conn) (*Reply, error) {
	if f.queuedFrom != c {
		f.queued, f.queuedFrom = nil, c // what is left of another connection's batch is gone with it
	}
	if len(f.queued) == 0 {
		_, frame, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		pt, _, err := f.Opener.Open(nil, frame)
		if err != nil {
			return nil, fmt.Errorf("reply does not open: %w", err)
		}
		var blobs []byte
		if len(pt) > 5 && pt[0] == 0x01 {
			n := int(pt[1])<<24 | int(pt[2])<<16 | int(pt[3])<<8 | int(pt[4])
			pt, blobs = pt[5:5+n], pt[5+n:]
		}
		var batch struct {
			Type     string
			Messages []json.RawMessage
		}
		if err := json.Unmarshal(pt, &batch); err != nil {
			return nil, err
		}
		raws := []json.RawMessage{pt}
		if batch.Type == "batch" {
			raws, blobs = batch.Messages, nil
		}
		f.queued = nil
		for _, raw := range raws {
			r := Reply{Blobs: blobs, Raw: raw}
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, err
			}
			f.queued = append(f.queued, &r)
		}
		if len(f.queued) == 0 {
			return nil, errors.New("empty batch")
		}
	}
	r := f.queued[0]
	f.queued = f.queued[1:]
	return r, nil
}
