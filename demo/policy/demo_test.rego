package isogate_test

import data.isogate

test_greet_allowed if {
	isogate.allow with input as {"kind": "command", "name": "demo.greet", "args": {"name": "Ada"}}
	count(isogate.deny) == 0 with input as {"kind": "command", "name": "demo.greet", "args": {"name": "Ada"}}
}

test_blocked_name_denied if {
	isogate.deny["greeting \"Root\" is not allowed"] with input as {"kind": "command", "name": "demo.greet", "args": {"name": "Root"}}
}

test_secret_denied if {
	not isogate.allow with input as {"kind": "command", "name": "demo.secret", "args": {}}
	isogate.deny["demo.secret is for administrators only"] with input as {"kind": "command", "name": "demo.secret", "args": {}}
}
