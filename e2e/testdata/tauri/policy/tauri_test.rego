package isogate_test

import data.isogate

call(name, tauri) := {"kind": "command", "name": name, "args": {}, "window": "main", "tauri": tauri}

tauri(cmd, permission) := {"cmd": cmd, "permission": permission, "headers": {}, "raw": false, "channels": [], "target": null}

test_greet if isogate.allow with input as call("greet", tauri("greet", "allow-greet"))

test_secret_not_in_the_capability if not isogate.allow with input as call("secret", tauri("secret", "allow-secret"))

test_upload_needs_a_file_name if {
	"uploads name their file" in isogate.deny with input as call("upload", tauri("upload", "allow-upload"))
}

test_only_ping_is_listened_to if {
	isogate.allow with input as {"kind": "listen", "name": "ping", "tauri": tauri("plugin:event|listen", "core:event:allow-listen")}
	not isogate.allow with input as {"kind": "listen", "name": "forbidden", "tauri": tauri("plugin:event|listen", "core:event:allow-listen")}
}
