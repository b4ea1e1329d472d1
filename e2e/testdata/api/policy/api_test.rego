package isogate_test

import data.isogate

req(method, path, body) := {
	"kind": "http",
	"name": sprintf("%s %s", [method, path]),
	"attributes": {"request": {"http": {"method": method, "path": path, "query": "", "host": "127.0.0.1:1", "scheme": "http", "headers": {}}}},
	"parsed_path": split(trim_prefix(path, "/"), "/"),
	"parsed_query": {},
	"parsed_body": body,
	"window": "main",
}

test_read_notes if isogate.allow with input as req("GET", "/api/notes", null)

test_add_a_note if {
	isogate.allow with input as req("POST", "/api/notes", {"text": "hi"})
	count(isogate.deny) == 0 with input as req("POST", "/api/notes", {"text": "hi"})
}

test_no_delete if "notes cannot be deleted" in isogate.deny with input as req("DELETE", "/api/notes/1", null)

test_a_note_needs_text if "a note needs text" in isogate.deny with input as req("POST", "/api/notes", {"title": "x"})

test_nothing_outside_notes if not isogate.allow with input as req("GET", "/api/users", null)

test_head_and_moved if {
	isogate.allow with input as req("HEAD", "/api/notes", null)
	isogate.allow with input as req("PUT", "/api/moved", null)
	not isogate.allow with input as req("PUT", "/api/notes", null)
}
