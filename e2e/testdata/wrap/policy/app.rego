package isogate

allow if {
	input.kind == "command"
	input.name in {"app.echo", "app.fail", "app.sleep", "app.crash", "app.emit", "app.save", "app.towindow", "app.mainonly"}
}

deny contains "app.mainonly is for the main window" if {
	input.name == "app.mainonly"
	input.window != "main"
}

allow if {
	input.kind == "listen"
	input.name in {"app.news", "app.saved"}
}

deny contains "app.secret is never allowed" if input.name == "app.secret"
