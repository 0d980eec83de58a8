package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// assets are the embedded static files, served under /static/ by a name
// that carries a hash of the content ("site.3fa2c81b.css"), so they can be
// cached for a year and a new build changes the URL.
type assets struct {
	byName   map[string]string // "site.css" → "site.3fa2c81b.css"
	byHashed map[string]*asset
}

type asset struct {
	body  []byte
	ctype string
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byName: map[string]string{}, byHashed: map[string]*asset{}}
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		b, err := fs.ReadFile(fsys, "static/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: static asset %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.byName[name] = hashed
		a.byHashed[hashed] = &asset{body: b, ctype: ctype}
	}
	if _, ok := a.byName["site.css"]; !ok {
		return nil, fmt.Errorf("web: static asset site.css: missing")
	}
	return a, nil
}

// url returns the cache-busting URL of a static file; templates call it as
// {{asset "site.css"}}. An unknown name is a template execution error.
func (a *assets) url(name string) (string, error) {
	h, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("unknown static asset %q", name)
	}
	return "/static/" + h, nil
}

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, ok := a.byHashed[name]
	cache := "public, max-age=31536000, immutable"
	if !ok {
		// the plain name works too, with a short cache, for hand-written links
		if h, plain := a.byName[name]; plain {
			f, cache = a.byHashed[h], "public, max-age=300"
		}
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
