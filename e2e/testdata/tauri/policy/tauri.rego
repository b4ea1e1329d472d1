package isogate

# A Tauri app's capability, carried over: a call is allowed when Tauri's
# ACL would have allowed it.
allow if {
	input.kind in {"command", "event"}
	input.tauri.permission in data.tauri.permissions
}

# Listens by event name: Tauri's core:event:allow-listen is all or nothing.
allow if {
	input.kind == "listen"
	input.tauri.permission in data.tauri.permissions
	input.name == "ping"
}

deny contains "uploads name their file" if {
	input.name == "upload"
	not input.tauri.headers["x-file-name"]
}

# A page acts on its own window only (Tauri cannot say this: its hook and
# ACL never see the window a call came from).
deny contains "a page acts on its own window only" if {
	input.tauri.plugin == "window"
	input.args.label != input.window
}
