// Package policy loads a security team's policy directory and decides
// messages with it.
//
// It trusts the files of the directory it is given and nothing else: no
// schema $ref is fetched from the network or the file system, and the Rego
// capabilities exclude every builtin that reaches the network or the host.
// Everything is compiled once at Load; Check then only validates and
// evaluates.
//
// It guarantees that a message is allowed only when its name has a schema
// (commands and events), its arguments validate against that schema, an
// `allow` rule of package isogate holds and `deny` is empty. Undefined
// results, evaluation errors and timeouts deny.
//
// The package imports neither net/http, os/exec nor anything of the core
// itself (kin-openapi, which reads the optional openapi.json, links
// net/http; its loader is told to read nothing but the document).
package policy
