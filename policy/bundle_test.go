package policy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
)

func rsaKeys(t *testing.T) (private, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

func built(t *testing.T, dir, revision string, sign *bundle.SigningConfig, keyID string) []byte {
	t.Helper()
	b, err := BuildBundle(context.Background(), os.DirFS(dir), revision)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteBundle(&buf, b, sign, keyID); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A policy directory and the bundle built from it are the same policy:
// the same schemas, hook and data, the same verdicts, with the bundle's
// revision; and its tests travel with it.
func TestBundle_RoundTripIsTheSamePolicy(t *testing.T) {
	for _, dir := range []string{"../demo/policy", "../e2e/testdata/tauri/policy", "../e2e/testdata/api/policy"} {
		raw := built(t, dir, "r1", nil, "")
		b, err := ReadBundle(bytes.NewReader(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		fromBundle, err := LoadBundle(context.Background(), b)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		fromDir, err := Load(context.Background(), os.DirFS(dir))
		if err != nil {
			t.Fatal(err)
		}
		if fromBundle.Revision() != "r1" || !reflect.DeepEqual(fromBundle.Names(), fromDir.Names()) || string(fromBundle.Hook()) != string(fromDir.Hook()) ||
			(fromBundle.OpenAPI() == nil) != (fromDir.OpenAPI() == nil) {
			t.Fatalf("%s: the bundle's policy differs: revision %q, names %v vs %v", dir, fromBundle.Revision(), fromBundle.Names(), fromDir.Names())
		}
		for _, name := range fromDir.Names() {
			for _, args := range []any{map[string]any{}, map[string]any{"name": "Ada"}, nil} {
				in := Input{Kind: KindCommand, Name: name, Args: args, Window: "main", Tauri: NewTauri(name)}
				if a, b := fromBundle.Check(context.Background(), in), fromDir.Check(context.Background(), in); !reflect.DeepEqual(a, b) {
					t.Fatalf("%s %s: bundle %+v, dir %+v", dir, name, a, b)
				}
			}
		}
		files, _ := BundleFiles(b, true)
		tests := 0
		for name := range files {
			if isTestFile(name) {
				tests++
			}
		}
		if tests == 0 {
			t.Fatalf("%s: the bundle carries no tests", dir)
		}
	}
}

// Signed with OPA's signer, verified with OPA's verifier: a good bundle
// reads; an unsigned one, a file changed or added after signing, a wrong
// key and an unknown key id are refused.
func TestBundle_SignaturesAreOPAs(t *testing.T) {
	priv, pub := rsaKeys(t)
	_, otherPub := rsaKeys(t)
	signed := built(t, "../demo/policy", "r1", bundle.NewSigningConfig(priv, "RS256", ""), "fleet")
	// The keys are configured as "fleet"; keyID is the one the
	// verification asks for (OPA's bundle keyid, else the signature's kid).
	verify := func(pubKey, keyID string) *bundle.VerificationConfig {
		kc, err := keys.NewKeyConfig(keyFile(t, pubKey), "RS256", "")
		if err != nil {
			t.Fatal(err)
		}
		return bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{"fleet": kc}, keyID, "", nil)
	}
	if _, err := ReadBundle(bytes.NewReader(signed), verify(pub, "fleet")); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, c := range map[string]struct {
		raw []byte
		v   *bundle.VerificationConfig
	}{
		"unsigned":                   {built(t, "../demo/policy", "r1", nil, ""), verify(pub, "fleet")},
		"another key":                {signed, verify(otherPub, "fleet")},
		"unknown key id":             {signed, verify(pub, "other")},
		"signed with an unknown kid": {built(t, "../demo/policy", "r1", bundle.NewSigningConfig(priv, "RS256", ""), "stranger"), verify(pub, "")},
		"a file changed": {retar(t, signed, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, "demo.rego") {
				return append(b, []byte("\nallow if true\n")...)
			}
			return b
		}, ""), verify(pub, "fleet")},
		"a file added": {retar(t, signed, nil, "/extra.rego"), verify(pub, "fleet")},
	} {
		if _, err := ReadBundle(bytes.NewReader(c.raw), c.v); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}

// retar rewrites a bundle tarball: each file through edit, and one more
// file if add is set.
func retar(t *testing.T, raw []byte, edit func(string, []byte) []byte, add string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if edit != nil {
			b = edit(h.Name, b)
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	if add != "" {
		b := []byte("package isogate\n\nallow if true\n")
		tw.WriteHeader(&tar.Header{Name: add, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

// A bundle that carries something that is not a policy file is refused.
func TestBundle_CarriesOnlyPolicyFiles(t *testing.T) {
	b := &bundle.Bundle{Data: map[string]any{FilesKey: map[string]any{"../etc/passwd": "x"}}}
	if _, err := BundleFiles(b, false); err == nil {
		t.Fatal("a bundle carrying ../etc/passwd was read")
	}
}

// Before a fleet install has its first bundle, every message is
// unavailable and its input withheld from the log: fail closed.
func TestPending_FailsClosed(t *testing.T) {
	p := Pending("no bundle yet")
	in := Input{Kind: KindCommand, Name: "demo.greet", Args: map[string]any{"password": "hunter2"}}
	v := p.Check(context.Background(), in)
	if v.Allow || v.Code != "unavailable" || len(p.Names()) != 0 {
		t.Fatalf("pending: %+v", v)
	}
	var buf bytes.Buffer
	if err := NewDecisionLog(&buf).Record(context.Background(), Entry{Policy: p, Input: Prepare(in), Verdict: v}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), `"erased":["/input"]`) {
		t.Fatalf("log line: %s", buf.String())
	}
}

// keyFile writes a PEM key to a file and returns its path. OPA's
// keys.NewKeyConfig stats the key it is given as a path first, and an
// inline PEM whose text has a run of 255 characters without a '/' makes
// that stat fail (ENAMETOOLONG) rather than say "no such file".
func keyFile(t *testing.T, pemText string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
