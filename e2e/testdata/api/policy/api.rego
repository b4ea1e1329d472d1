package isogate

http := input.attributes.request.http

# The notes API: read and add notes; deleting is never allowed.
allow if {
	input.kind == "http"
	http.method in {"GET", "POST"}
	input.parsed_path[0] == "api"
	input.parsed_path[1] == "notes"
}

# A HEAD of the notes, and /api/moved, which answers 303 to the notes
# (the redirect tests).
allow if {
	input.kind == "http"
	http.method == "HEAD"
	input.parsed_path == ["api", "notes"]
}

allow if {
	input.kind == "http"
	http.method in {"HEAD", "PUT"}
	input.parsed_path == ["api", "moved"]
}

deny contains "notes cannot be deleted" if {
	input.kind == "http"
	http.method == "DELETE"
}

deny contains "a note needs text" if {
	input.kind == "http"
	http.method == "POST"
	not input.parsed_body.text
}
