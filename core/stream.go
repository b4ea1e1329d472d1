package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/internal/jsonptr"
)

// A result may hold one io.Reader: a Go handler's download, the body of
// the app's HTTP API's response. Its bytes go to the page as the reader
// gives them (docs/protocol.md, "Streamed results"): what fits in one chunk
// travels in the reply as a blob, like any []byte; anything longer is
// announced by the reply ("stream": the pointer to its place, which holds
// null) and follows in data messages of at most streamChunk bytes, each
// its own frame, the last one marked "end", with the error that cut the
// stream short if one did. The bridge hands the page a ReadableStream
// there. A stream is bounded like a blob (MaxBinaryBytes) and runs within
// the call: its slot, its timeout, the page's cancel.

// streamChunk is the most one data message carries.
const streamChunk = 1 << 20

// stream is a result's reader once its first chunk has been read.
type stream struct {
	path  string // JSON pointer to its place in the result
	r     io.Reader
	first []byte // a whole chunk: more follows, or the reader would be inline
}

// close lets the reader's resources go (an upstream response's connection).
func (st *stream) close() {
	if c, ok := st.r.(io.Closer); ok {
		c.Close()
	}
}

// openStream finds the io.Reader in a handler's result and reads its first
// chunk. A reader whose bytes fit in it comes back as those bytes; a longer
// one as a stream, with null in its place. A reader that fails before its
// first chunk is the call's error, as the handler's own would be.
func (c *Core) openStream(s *session, m *message, result any) (any, *stream, error) {
	toks, r := findReader(result, nil)
	if r == nil {
		return result, nil, nil
	}
	size := c.chunkSize()
	first, err := readChunk(r, size)
	if err != nil && err != io.EOF {
		closeReader(r)
		return nil, nil, c.streamError(s, m, err)
	}
	if err == io.EOF {
		closeReader(r)
		return replaceAt(result, toks, first), nil, nil
	}
	path := ""
	for _, t := range toks {
		path += "/" + jsonptr.Escape(t)
	}
	return replaceAt(result, toks, nil), &stream{path: path, r: r, first: first}, nil
}

func (c *Core) chunkSize() int {
	return int(min(int64(streamChunk), c.limits.MaxBinaryBytes))
}

// findReader is the path to, and the value of, the first io.Reader in v,
// looking through maps and slices as splitBlobs does.
func findReader(v any, path []string) ([]string, io.Reader) {
	switch x := v.(type) {
	case []byte:
		return nil, nil
	case io.Reader:
		return path, x
	case map[string]any:
		for k, e := range x {
			if p, r := findReader(e, append(path[:len(path):len(path)], k)); r != nil {
				return p, r
			}
		}
	case []any:
		for i, e := range x {
			if p, r := findReader(e, append(path[:len(path):len(path)], strconv.Itoa(i))); r != nil {
				return p, r
			}
		}
	}
	return nil, nil
}

// replaceAt is v with the value at path set to nv, copying the maps and
// slices on the way: the handler's own value is left as it was.
func replaceAt(v any, path []string, nv any) any {
	if len(path) == 0 {
		return nv
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		out[path[0]] = replaceAt(x[path[0]], path[1:], nv)
		return out
	case []any:
		out := append([]any(nil), x...)
		i, _ := strconv.Atoi(path[0])
		out[i] = replaceAt(x[i], path[1:], nv)
		return out
	}
	return v
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// readChunk reads up to n bytes: a full chunk and nil, or what came
// before the end (perhaps nothing) and io.EOF or the error that cut it.
func readChunk(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return buf[:k], err
}

// streamError is the page's error for a reader that failed: the call's
// context's when that ended (timeout, cancel), else the reader's own when
// it says one, else unavailable.
func (c *Core) streamError(s *session, m *message, err error) *Error {
	if m.ctx.Err() != nil {
		return c.ended(s, m.ctx)
	}
	var pub *Error
	if errors.As(err, &pub) && pub != nil {
		return pub
	}
	if he := (*httpapi.Error)(nil); errors.As(err, &he) {
		return refusal(he, codes.Unavailable)
	}
	c.log.Error("a streamed result broke off", "name", m.Name, "err", err)
	return &Error{Code: codes.Unavailable, Message: "the result broke off"}
}

// pump sends st after the reply that announced it, on conn, the connection
// the call came on. One chunk is read ahead while the one before it is
// written, and none is queued before the one before it has left: a page
// that reads slowly holds back the reader, not the core's memory.
func (c *Core) pump(s *session, conn *websocket.Conn, m *message, st *stream) {
	defer st.close()
	size, max := c.chunkSize(), c.limits.MaxBinaryBytes
	sent := int64(0)
	var prev <-chan struct{}
	// send queues one data message once the one before it has left, and
	// reports whether more may follow: not after the end, nor once the
	// connection is gone.
	send := func(chunk []byte, end bool, failure *Error) (more bool) {
		if prev != nil {
			select {
			case <-prev:
			case <-s.ctx.Done():
				return false
			}
		}
		if s.current.Load() != conn {
			return false // the iframe that waits for this stream is gone, and settled it
		}
		if failure == nil && sent+int64(len(chunk)) > max {
			chunk, end, failure = nil, true, &Error{Code: codes.TooLarge, Message: fmt.Sprintf("the result is over %d bytes", max)}
		}
		sent += int64(len(chunk))
		prev = c.writeNotify(s, conn, dataPlaintext(m.ID, chunk, end, failure))
		return !end
	}
	buf := st.first
	for send(buf, false, nil) {
		next, err := readChunk(st.r, size)
		if err == nil {
			buf = next
			continue
		}
		var failure *Error
		if err != io.EOF {
			failure = c.streamError(s, m, err)
		}
		send(next, true, failure)
		return
	}
}

// dataPlaintext is one data message of call id's stream: a chunk (in the
// binary form, the chunk its root blob), and on the last one "end", with
// the error that cut the stream short if one did.
func dataPlaintext(id uint64, chunk []byte, end bool, failure *Error) []byte {
	d := struct {
		Type    string      `json:"type"`
		ID      uint64      `json:"id"`
		Payload any         `json:"payload,omitempty"`
		End     bool        `json:"end,omitempty"`
		Error   *replyError `json:"error,omitempty"`
		Bin     []binEntry  `json:"bin,omitempty"`
	}{Type: "data", ID: id, End: end}
	var blobs [][]byte
	if len(chunk) > 0 {
		d.Bin, blobs = []binEntry{{Path: "", Len: len(chunk)}}, [][]byte{chunk}
	}
	if failure != nil {
		d.Error = &replyError{Code: failure.Code, Message: failure.Message}
	}
	b, _ := json.Marshal(d)
	return joinPlaintext(b, blobs)
}

// ended is the page's error for a call whose context ended before it was
// done: the page gone, its cancel, or the call's timeout.
func (c *Core) ended(s *session, ctx context.Context) *Error {
	if s.ctx.Err() != nil {
		return &Error{Code: codes.Unavailable, Message: "the page went away"}
	}
	if context.Cause(ctx) == errCancelled {
		return &Error{Code: codes.Unavailable, Message: "cancelled by the page"}
	}
	return &Error{Code: codes.Timeout, Message: "command timed out"}
}
