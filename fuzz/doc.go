// Package fuzz holds the whole-pipeline fuzzers: arbitrary input at each
// trust boundary of a live core, over real loopback sockets. Per-package
// fuzzers live beside their code (crypto, policy, core).
package fuzz
