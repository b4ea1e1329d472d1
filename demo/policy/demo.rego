# The demo's policy: a small example of what a security team writes.
#
# A message passes only if an `allow` rule holds and no `deny` rule fires.
# Everything not allowed here is denied.
package isogate

# Commands that any page of the demo may call.
public_commands := {
	"demo.greet",
	"demo.notes.list",
	"demo.notes.read",
	"demo.notes.write",
	"demo.bytes.invert",
}

allow if {
	input.kind == "command"
	input.name in public_commands
}

# Events the page may listen to, and events it may send.
allow if {
	input.kind == "listen"
	input.name in {"demo.tick", "demo.clicks"}
}

allow if {
	input.kind == "event"
	input.name == "demo.clicked"
}

# The demo's own HTTP API (isogate demo mounts it under /api): the page's
# fetch calls are decided like any message. Reading the status is allowed;
# the API is read-only, so a DELETE is denied with a reason the page sees
# as a 403 response.
allow if {
	input.kind == "http"
	input.attributes.request.http.method == "GET"
	input.parsed_path == ["api", "status"]
}

# Names the demo refuses to greet: data.json holds the list, so the security
# team can change it without touching the rules.
deny contains sprintf("greeting %q is not allowed", [input.args.name]) if {
	input.name == "demo.greet"
	lower(input.args.name) in data.blocked_names
}

# demo.secret has a schema and a Go handler, but no page may call it.
deny contains "demo.secret is for administrators only" if {
	input.name == "demo.secret"
}

# Notes stay in the demo's notes folder: a note is named by a plain file
# name, never a path.
deny contains sprintf("%q is not a note name: notes stay in the notes folder", [input.args.path]) if {
	input.name in {"demo.notes.read", "demo.notes.write"}
	not regex.match(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$`, input.args.path)
}

deny contains sprintf("%q is not a note name: notes stay in the notes folder", [input.args.path]) if {
	input.name in {"demo.notes.read", "demo.notes.write"}
	contains(input.args.path, "..")
}

# The API is read-only: a DELETE is denied with a reason the page sees as
# a 403 response.
deny contains "the demo's API is read-only" if {
	input.kind == "http"
	input.attributes.request.http.method != "GET"
}
