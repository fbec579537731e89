// Package widgetui holds the browser side of the widget: the script a site loads from
// /api.js and the files it pulls in, embedded in the binary so that the widget needs no CDN.
// The web package serves them; nothing here runs on the server.
package widgetui

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assets embed.FS

// FS holds the widget's files at its root: api.js and what it loads.
var FS, _ = fs.Sub(assets, "assets")
