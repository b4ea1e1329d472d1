# The demo's policy: a small example of what a security team writes.
#
# A message passes only if an `allow` rule holds and no `deny` rule fires.
# Everything not allowed here is denied.
package isogate

# Commands that any page of the demo may call.
public_commands := {"demo.greet"}

allow if {
	input.kind == "command"
	input.name in public_commands
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
