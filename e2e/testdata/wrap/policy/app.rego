package isogate

allow if {
	input.kind == "command"
	input.name in {"app.echo", "app.fail", "app.sleep", "app.crash", "app.emit"}
}

allow if {
	input.kind == "listen"
	input.name == "app.news"
}

deny contains "app.secret is never allowed" if input.name == "app.secret"
