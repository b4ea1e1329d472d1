// Package doctorapp is the page and policy `isogate doctor` runs in a real
// window to check the whole path.
package doctorapp

import (
	"embed"
	"io/fs"
)

//go:embed app policy
var files embed.FS

// App is the doctor's page.
func App() fs.FS { sub, _ := fs.Sub(files, "app"); return sub }

// Policy allows only the doctor's two commands.
func Policy() fs.FS { sub, _ := fs.Sub(files, "policy"); return sub }
