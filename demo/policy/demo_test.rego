package isogate_test

import data.isogate

greet(name) := {"kind": "command", "name": "demo.greet", "args": {"name": name}}

read(path) := {"kind": "command", "name": "demo.notes.read", "args": {"path": path}}

test_greet_allowed if {
	isogate.allow with input as greet("Ada")
	count(isogate.deny) == 0 with input as greet("Ada")
}

test_blocked_name_denied if {
	isogate.deny["greeting \"Root\" is not allowed"] with input as greet("Root")
}

test_secret_denied if {
	secret := {"kind": "command", "name": "demo.secret", "args": {}}
	not isogate.allow with input as secret
	isogate.deny["demo.secret is for administrators only"] with input as secret
}

test_note_in_folder_allowed if {
	isogate.allow with input as read("welcome.txt")
	count(isogate.deny) == 0 with input as read("welcome.txt")
}

test_path_traversal_denied if {
	count(isogate.deny) > 0 with input as read("../../etc/passwd")
	count(isogate.deny) > 0 with input as read("/etc/passwd")
	count(isogate.deny) > 0 with input as read("..")
	count(isogate.deny) > 0 with input as read("a/b.txt")
}

test_listen_tick_allowed_but_not_anything if {
	isogate.allow with input as {"kind": "listen", "name": "demo.tick", "args": null}
	not isogate.allow with input as {"kind": "listen", "name": "demo.secret", "args": null}
}

test_clicked_event_allowed_only_as_event if {
	isogate.allow with input as {"kind": "event", "name": "demo.clicked", "args": {"button": "x"}}
	not isogate.allow with input as {"kind": "command", "name": "demo.clicked", "args": {"button": "x"}}
}

test_note_text_masked_in_decision_log if {
	"/input/args/text" in data.system.log.mask
}

test_http_status_allowed if {
	status := {"kind": "http", "attributes": {"request": {"http": {"method": "GET"}}}, "parsed_path": ["api", "status"]}
	isogate.allow with input as status
}

test_http_delete_denied if {
	delete := {
		"kind": "http",
		"attributes": {"request": {"http": {"method": "DELETE"}}},
		"parsed_path": ["api", "notes", "todo.txt"],
	}
	"the demo's API is read-only" in isogate.deny with input as delete
}
