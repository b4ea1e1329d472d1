package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// A policy travels to a fleet as an OPA bundle (docs/fleet.md). OPA's
// bundle format carries Rego, data and signatures; what else a policy
// directory holds (schemas/, hook.js, openapi.*) travels as data, under
// one reserved key, so that OPA's signature covers it like the rest:
//
//	data.isogate_files = {"schemas/greet.json": "<the file's text>", "hook.js": "...", ...}
//
// The directory's data.json is the bundle's data, as OPA tools expect;
// its _test.rego files go along as modules (data.isogate_test, never
// asked by the core), so that a bundle can be tested as a directory is.

// FilesKey is the data key under which a bundle carries the policy's
// files that are not Rego or data.
const FilesKey = "isogate_files"

// BuildBundle is the bundle of the policy directory fsys, with revision
// (the directory's own revision when empty). It is checked first: a
// directory that does not load builds nothing.
func BuildBundle(ctx context.Context, fsys fs.FS, revision string) (*bundle.Bundle, error) {
	files, err := readFiles(fsys, true)
	if err != nil {
		return nil, err
	}
	runtime := map[string][]byte{}
	for name, b := range files {
		if !isTestFile(name) {
			runtime[name] = b
		}
	}
	p, err := load(ctx, runtime)
	if err != nil {
		return nil, err
	}
	if revision == "" {
		revision = p.revision
	}
	b := &bundle.Bundle{Manifest: bundle.Manifest{Revision: revision}, Data: map[string]any{}}
	v1 := 1 // the manifest's numbering: Rego v1
	b.Manifest.RegoVersion = &v1
	if raw, ok := files["data.json"]; ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&b.Data); err != nil {
			return nil, &LoadError{File: "data.json", Code: CodeJSON, Message: oneLine(err.Error()), Err: err}
		}
	}
	if _, taken := b.Data[FilesKey]; taken {
		return nil, &LoadError{File: "data.json", Code: CodeJSON, Message: fmt.Sprintf("the key %q is isogate's, for the files a bundle carries", FilesKey)}
	}
	carried := map[string]any{}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, ".rego"):
			m, err := ast.ParseModuleWithOpts(name, string(files[name]), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				return nil, astError(err)
			}
			b.Modules = append(b.Modules, bundle.ModuleFile{URL: name, Path: name, Raw: files[name], Parsed: m})
		case name != "data.json":
			carried[name] = string(files[name])
		}
	}
	if len(carried) > 0 {
		b.Data[FilesKey] = carried
	}
	return b, nil
}

// WriteBundle writes b as a bundle file (a gzipped tarball), signed when
// signing is set (OPA's signer: .signatures.json over every file).
func WriteBundle(w io.Writer, b *bundle.Bundle, signing *bundle.SigningConfig, keyID string) error {
	if signing != nil {
		if err := b.GenerateSignature(signing, keyID, false); err != nil {
			return fmt.Errorf("signing the bundle: %w", err)
		}
	}
	return bundle.NewWriter(w).Write(*b)
}

// ReadBundle reads a bundle file, verifying its signatures when verify is
// set (a missing signature, a bad one, a file added or changed after
// signing, or an unknown key id are errors, OPA's own).
func ReadBundle(r io.Reader, verify *bundle.VerificationConfig) (*bundle.Bundle, error) {
	rd := bundle.NewReader(r).WithRegoVersion(ast.RegoV1)
	if verify != nil {
		rd = rd.WithBundleVerificationConfig(verify)
	} else {
		rd = rd.WithSkipBundleVerification(true)
	}
	b, err := rd.Read()
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// BundleFiles is a bundle as the policy directory it was built from:
// its modules, data.json from its data, and the files it carries. With
// tests, the _test.rego modules too.
func BundleFiles(b *bundle.Bundle, tests bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, m := range b.Modules {
		name := strings.TrimPrefix(m.Path, "/")
		if isTestFile(name) && !tests {
			continue
		}
		files[name] = m.Raw
	}
	data := map[string]any{}
	for k, v := range b.Data {
		data[k] = v
	}
	if carried, ok := data[FilesKey]; ok {
		delete(data, FilesKey)
		m, ok := carried.(map[string]any)
		if !ok {
			return nil, &LoadError{Code: CodeJSON, Message: fmt.Sprintf("the bundle's data.%s is not an object of files", FilesKey)}
		}
		for name, v := range m {
			s, ok := v.(string)
			if !ok || !isPolicyFile(name) || strings.HasSuffix(name, ".rego") || name == "data.json" {
				return nil, &LoadError{File: name, Code: CodeJSON, Message: fmt.Sprintf("the bundle carries %q, which is not a policy file isogate reads", name)}
			}
			files[name] = []byte(s)
		}
	}
	if len(data) > 0 {
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		files["data.json"] = raw
	}
	return files, nil
}

// LoadBundle is Load for a bundle: its whole policy, with the bundle's
// revision as the policy's.
func LoadBundle(ctx context.Context, b *bundle.Bundle) (*Policy, error) {
	files, err := BundleFiles(b, false)
	if err != nil {
		return nil, err
	}
	p, err := load(ctx, files)
	if err != nil {
		return nil, err
	}
	if b.Manifest.Revision != "" {
		p.revision = b.Manifest.Revision
	}
	return p, nil
}
