# The reference policy for benchmarks and the differential test: a dozen
# commands, data lookups and deny reasons, as a real app's policy would have.
package isogate

reader_commands := {"docs.list", "docs.read", "docs.search", "user.me", "settings.get"}

writer_commands := {"docs.write", "docs.rename", "docs.delete", "settings.set", "share.create"}

admin_commands := {"admin.users", "admin.audit"}

role := data.users[input.args.user].role

allow if {
	input.kind == "command"
	input.name in reader_commands
}

allow if {
	input.kind == "command"
	input.name in writer_commands
	role in {"editor", "admin"}
}

allow if {
	input.kind == "command"
	input.name in admin_commands
	role == "admin"
}

allow if {
	input.kind == "listen"
	input.name in {"docs.changed", "share.accepted"}
}

deny contains sprintf("path %q leaves the workspace", [input.args.path]) if {
	input.name in {"docs.read", "docs.write", "docs.rename", "docs.delete"}
	not startswith(input.args.path, "workspace/")
}

deny contains sprintf("path %q is traversal", [input.args.path]) if {
	contains(input.args.path, "..")
}

deny contains "documents over the size limit" if {
	input.name == "docs.write"
	count(input.args.text) > data.limits.max_text
}

deny contains sprintf("user %q is suspended", [input.args.user]) if {
	data.users[input.args.user].suspended
}

deny contains "sharing outside the organisation" if {
	input.name == "share.create"
	not endswith(input.args.with, data.org_domain)
}

deny contains "search queries are limited" if {
	input.name == "docs.search"
	count(input.args.q) > 200
}

deny contains sprintf("setting %q is read-only", [input.args.key]) if {
	input.name == "settings.set"
	input.args.key in data.readonly_settings
}
