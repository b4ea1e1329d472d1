package e2e

import (
	"testing"
)

func TestBinary_16MiBRoundTripRawOnTheWire(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx, cap := capturingBrowser(t)
	openApp(t, ctx, p.URL)
	_, before := cap.get()
	ok := eval[bool](t, ctx, `(async () => {
	  const n = 16 << 20;
	  const data = new Uint8Array(n);
	  for (let i = 0; i < n; i += 4096) crypto.getRandomValues(data.subarray(i, Math.min(n, i + 4096)));
	  const r = await isogate.invoke('demo.bytes.invert', {data});
	  if (!(r.data instanceof Uint8Array) || r.data.length !== n) return false;
	  for (let i = 0; i < n; i++) if (r.data[i] !== (~data[i] & 0xff)) return false;
	  return true;
	})()`)
	if !ok {
		t.Fatal("16 MiB came back different")
	}
	_, after := cap.get()
	sent := after[len(before):]
	if len(sent) != 1 {
		t.Fatalf("%d frames sent for one call", len(sent))
	}
	ratio := float64(len(sent[0])) / float64(16<<20)
	t.Logf("wire bytes per payload byte: %.5f (%d bytes for 16 MiB)", ratio, len(sent[0]))
	if ratio > 1.01 {
		t.Fatalf("wire bytes per payload byte = %.4f, want <= 1.01", ratio)
	}
	// The schema still constrains the rest of the args, and the size.
	if o := invoke(t, ctx, `'demo.bytes.invert'`, `{data: new Uint8Array(4), extra: 1}`); o.Code != "invalid_args" {
		t.Fatalf("binary args with an extra field: %+v", o)
	}
	if o := invoke(t, ctx, `'demo.bytes.invert'`, `{data: new Uint8Array((32 << 20) + 1)}`); o.Code != "invalid_args" {
		t.Fatalf("binary past the schema's size: %+v", o)
	}
}
