package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
)

func TestLeafFormat(t *testing.T) {
	var c [32]byte
	for i := range c {
		c[i] = byte(i)
	}
	e := ledger.Entry{Index: 7, Kind: "record", ObjectID: 42, Op: "create", Content: c,
		At: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("CST", 8*3600))}
	want := "ecredit-leaf/1\nrecord\n42\ncreate\n1767294245000006\n" +
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	got := string(ledger.Leaf(e))
	if got != want {
		t.Fatalf("Leaf =\n%q\nwant\n%q", got, want)
	}
	// RFC 6962 leaf hash: SHA-256 over 0x00 followed by the leaf.
	h := sha256.Sum256(append([]byte{0}, want...))
	if tlog.RecordHash([]byte(got)) != tlog.Hash(h) {
		t.Fatal("record hash is not RFC 6962")
	}
	back, err := ledger.ParseLeaf([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	e.Index = 0
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if back != e {
		t.Fatalf("ParseLeaf = %+v, want %+v", back, e)
	}
}

func TestParseLeafErrors(t *testing.T) {
	good := string(ledger.Leaf(testEntry(1)))
	lines := strings.Split(good, "\n")
	replace := func(i int, s string) string {
		l := append([]string(nil), lines...)
		l[i] = s
		return strings.Join(l, "\n")
	}
	cases := map[string]string{
		"no newline":    strings.TrimSuffix(good, "\n"),
		"version":       replace(0, "ecredit-leaf/2"),
		"kind":          replace(1, "Record"),
		"object":        replace(2, "0042"),
		"object zero":   replace(2, "0"),
		"op":            replace(3, "cre ate"),
		"time":          replace(4, "x"),
		"zero time":     replace(4, "0"),
		"content short": replace(5, "abcd"),
		"content upper": replace(5, strings.ToUpper(lines[5])),
		"extra line":    good + "x\n",
	}
	for name, leaf := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ledger.ParseLeaf([]byte(leaf)); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "leaf" {
				t.Fatalf("ParseLeaf(%q) = %v, want invalid leaf", leaf, err)
			}
		})
	}
}

func TestEntryValidate(t *testing.T) {
	ok := testEntry(0)
	cases := []struct {
		name  string
		edit  func(e *ledger.Entry)
		field string
	}{
		{"ok", func(e *ledger.Entry) {}, ""},
		{"empty kind", func(e *ledger.Entry) { e.Kind = "" }, "kind"},
		{"kind with newline", func(e *ledger.Entry) { e.Kind = "rec\nord" }, "kind"},
		{"kind too long", func(e *ledger.Entry) { e.Kind = strings.Repeat("a", 33) }, "kind"},
		{"object", func(e *ledger.Entry) { e.ObjectID = 0 }, "object_id"},
		{"op", func(e *ledger.Entry) { e.Op = "Create" }, "op"},
		{"time", func(e *ledger.Entry) { e.At = time.Time{} }, "at"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ok
			c.edit(&e)
			err := e.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != c.field {
				t.Fatalf("Validate = %v, want invalid %s", err, c.field)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	type rec struct {
		Name  string  `json:"name"`
		Count int     `json:"count"`
		Rate  float64 `json:"rate"`
		Tags  []string
	}
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"sorted keys and no space", []byte(` { "b" : 1 , "a" : [ true , false , null ] } `), `{"a":[true,false,null],"b":1}`},
		{"nested", []byte(`{"z":{"y":2,"x":{"b":[],"a":{}}},"a":""}`), `{"a":"","z":{"x":{"a":{},"b":[]},"y":2}}`},
		{"numbers as written", []byte(`[1.0,1e3,-0,0.10,12345678901234567890]`), `[1.0,1e3,-0,0.10,12345678901234567890]`},
		{"utf8 unescaped", []byte(`{"名称":"京东\u4eac<&>"}`), `{"名称":"京东京<&>"}`},
		{"escapes", []byte(`"a\"b\\c\/d\n\t\u0001\u001f"`), `"a\"b\\c/d\n\t\u0001\u001f"`},
		{"key order by code point", []byte(`{"b":1,"B":2,"中":3,"a":4}`), `{"B":2,"a":4,"b":1,"中":3}`},
		{"struct", rec{Name: "承德<店>", Count: 3, Rate: 0.5, Tags: []string{"x"}}, `{"Tags":["x"],"count":3,"name":"承德<店>","rate":0.5}`},
		{"map", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"go string", "hi", `"hi"`},
		{"raw message", json.RawMessage(`{"x" :1}`), `{"x":1}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ledger.Canonical(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("Canonical = %s, want %s", got, c.want)
			}
			h, err := ledger.HashContent(c.in)
			if err != nil || h != ledger.ContentHash(got) || h != sha256.Sum256([]byte(c.want)) {
				t.Fatalf("HashContent = %x, %v", h, err)
			}
		})
	}
	bad := map[string]any{
		"duplicate key": []byte(`{"a":1,"a":2}`),
		"invalid utf8":  []byte("\"\xff\""),
		"trailing":      []byte(`{} {}`),
		"truncated":     []byte(`{"a":`),
		"empty":         []byte(``),
		"not json":      []byte(`{a:1}`),
		"unmarshalable": func() {},
	}
	for name, in := range bad {
		t.Run("bad "+name, func(t *testing.T) {
			if _, err := ledger.Canonical(in); !errs.Is(err, errs.Invalid) {
				t.Fatalf("Canonical = %v, want invalid", err)
			}
		})
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,2,{"d":null,"c":"x"}]}`, `"\u0000\n京"`, `[1.5e10,-0,true]`, `{"":{}}`, `{"a":1,"a":1}`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ledger.Canonical(in)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("Canonical(%q) = %q is not JSON", in, c)
		}
		c2, err := ledger.Canonical(c)
		if err != nil || string(c2) != string(c) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, c, c2, err)
		}
		var a, b any
		da := json.NewDecoder(strings.NewReader(string(in)))
		da.UseNumber()
		db := json.NewDecoder(strings.NewReader(string(c)))
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil {
			t.Fatalf("decode failed for %q / %q", in, c)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("meaning changed: %q -> %q", in, c)
		}
	})
}

func testKeys(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	t.Setenv(ledger.KeyFileEnv, "")
	s, v, err := ledger.LoadOrCreateKey(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestProofs(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, v := testKeys(t, ledger.DefaultOrigin)
	l := &ledger.Log{Store: st, Signer: s, Verifier: v, Origin: ledger.DefaultOrigin}

	var leaves [][]byte
	roots := map[int64]tlog.Hash{}
	const n = 130
	for i := range n {
		e := st.append(testEntry(i))
		leaves = append(leaves, ledger.Leaf(e))
		signed, tree, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tree.N != int64(i+1) {
			t.Fatalf("checkpoint size %d, want %d", tree.N, i+1)
		}
		got, err := ledger.VerifyCheckpoint(v, signed)
		if err != nil || got != tree {
			t.Fatalf("VerifyCheckpoint = %v, %v", got, err)
		}
		roots[tree.N] = tree.Hash
	}
	for _, size := range []int64{1, 2, 3, 7, 8, 9, 64, 65, 100, n} {
		for idx := int64(0); idx < size; idx++ {
			p, root, err := l.ProveInclusion(ctx, idx, size)
			if err != nil {
				t.Fatal(err)
			}
			if root != roots[size] {
				t.Fatalf("root at %d differs from checkpoint", size)
			}
			if err := ledger.CheckInclusion(p, size, root, leaves[idx], idx); err != nil {
				t.Fatalf("inclusion %d in %d: %v", idx, size, err)
			}
			// The proof of one entry does not prove another leaf.
			other := leaves[(idx+1)%int64(len(leaves))]
			if err := ledger.CheckInclusion(p, size, root, other, idx); !errs.Is(err, errs.Invalid) {
				t.Fatalf("wrong leaf accepted at %d/%d", idx, size)
			}
		}
		for _, old := range []int64{0, 1, size / 2, size - 1, size} {
			p, err := l.ProveConsistency(ctx, old, size)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot := roots[old]
			if old == 0 {
				oldRoot, _ = tlog.TreeHash(0, nil)
			}
			if err := ledger.CheckConsistency(p, old, oldRoot, size, roots[size]); err != nil {
				t.Fatalf("consistency %d→%d: %v", old, size, err)
			}
			if old > 0 && old < size {
				if err := ledger.CheckConsistency(p, old, roots[size], size, roots[size]); !errs.Is(err, errs.Invalid) {
					t.Fatalf("bad consistency %d→%d accepted", old, size)
				}
			}
		}
	}

	// Range errors name the field.
	for _, c := range []struct {
		index, size int64
		field       string
	}{{0, n + 1, "size"}, {5, 5, "index"}, {-1, 5, "index"}, {0, -1, "size"}} {
		if _, _, err := l.ProveInclusion(ctx, c.index, c.size); errs.FieldOf(err) != c.field {
			t.Errorf("ProveInclusion(%d, %d) = %v, want field %s", c.index, c.size, err, c.field)
		}
	}
	if _, err := l.ProveConsistency(ctx, 10, 5); errs.FieldOf(err) != "old" {
		t.Errorf("ProveConsistency(10, 5) = %v", err)
	}

	// JSON proofs round-trip and check, including the checkpoint.
	ip, err := l.Inclusion(ctx, 17, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ip)
	var back ledger.InclusionProof
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Checkpoint == "" || back.Size != n {
		t.Fatalf("inclusion proof lacks the checkpoint: %+v", back)
	}
	if err := back.Check(v); err != nil {
		t.Fatal(err)
	}
	back.Leaf = strings.Replace(back.Leaf, "\n", "\n\n", 1)
	if err := back.Check(v); err == nil {
		t.Fatal("edited leaf accepted")
	}
	cp, err := l.Consistency(ctx, 40, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Check(); err != nil || cp.New != n || cp.OldRoot != roots[40] {
		t.Fatalf("consistency %+v: %v", cp, err)
	}
}

func TestCheckpointKeys(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, v := testKeys(t, ledger.DefaultOrigin)
	l := &ledger.Log{Store: st, Signer: s, Verifier: v, Origin: ledger.DefaultOrigin}

	empty, tree, err := l.Checkpoint(ctx)
	if err != nil || tree.N != 0 {
		t.Fatalf("empty checkpoint: %v %v", tree, err)
	}
	if !strings.HasPrefix(string(empty), ledger.DefaultOrigin+"\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— "+ledger.DefaultOrigin+" ") {
		t.Fatalf("checkpoint not in C2SP form:\n%s", empty)
	}
	st.append(testEntry(0))
	a, _, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := l.Checkpoint(ctx)
	if err != nil || string(a) != string(b) {
		t.Fatalf("second checkpoint at the same size differs: %v", err)
	}
	if len(st.cps) != 2 {
		t.Fatalf("stored %d checkpoints, want 2", len(st.cps))
	}

	// Another key, or a key of another name, does not verify.
	_, other := testKeys(t, ledger.DefaultOrigin)
	if _, err := ledger.VerifyCheckpoint(other, a); !errs.Is(err, errs.Invalid) {
		t.Fatalf("foreign key accepted: %v", err)
	}
	s2, v2 := testKeys(t, "other.example/log")
	signed, err := note.Sign(&note.Note{Text: string(ledger.FormatCheckpoint(ledger.DefaultOrigin, tree))}, s2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyCheckpoint(v2, signed); !errs.Is(err, errs.Invalid) {
		t.Fatalf("origin mismatch accepted: %v", err)
	}
	l2 := &ledger.Log{Store: st, Signer: s2, Verifier: v2, Origin: ledger.DefaultOrigin}
	if _, _, err := l2.Checkpoint(ctx); err == nil {
		t.Fatal("signer named differently from the origin accepted")
	}
	// A stored checkpoint that no longer verifies is an error, not served.
	l3 := &ledger.Log{Store: st, Signer: s, Verifier: other, Origin: ledger.DefaultOrigin}
	if _, _, err := l3.Latest(ctx); !errs.Is(err, errs.Internal) {
		t.Fatalf("Latest with the wrong verifier = %v", err)
	}
}

func TestParseCheckpoint(t *testing.T) {
	h := tlog.RecordHash([]byte("x"))
	text := ledger.FormatCheckpoint("o/x", tlog.Tree{N: 12, Hash: h})
	o, tr, err := ledger.ParseCheckpoint(append(text, "ext line\n"...))
	if err != nil || o != "o/x" || tr.N != 12 || tr.Hash != h {
		t.Fatalf("ParseCheckpoint = %q %v %v", o, tr, err)
	}
	for _, bad := range []string{"", "o\n12\n", "o\n012\n" + h.String() + "\n", "o\n-1\n" + h.String() + "\n", "o\n1\nxx\n", "\n1\n" + h.String() + "\n", "o\n1\n" + h.String()} {
		if _, _, err := ledger.ParseCheckpoint([]byte(bad)); !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseCheckpoint(%q) accepted", bad)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	t.Setenv(ledger.KeyFileEnv, "")
	dir := t.TempDir()
	k1, err := ledger.LoadKeys(dir, ledger.DefaultOrigin, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ledger.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, ledger.PubFile))
	if err != nil || strings.TrimSpace(string(pub)) != k1.PublicKey || strings.Contains(string(pub), "PRIVATE") {
		t.Fatalf("public key file %q: %v", pub, err)
	}
	k2, err := ledger.LoadKeys(dir, ledger.DefaultOrigin, true)
	if err != nil || k2.PublicKey != k1.PublicKey {
		t.Fatalf("reload gave another key: %v", err)
	}
	msg := []byte("hello\n")
	sig, _ := k2.Signer.Sign(msg)
	if !k1.Verifier.Verify(msg, sig) {
		t.Fatal("reloaded signer does not match the verifier")
	}
	v, vkey, err := ledger.LoadVerifier(dir)
	if err != nil || vkey != k1.PublicKey || !v.Verify(msg, sig) {
		t.Fatalf("LoadVerifier: %v", err)
	}
	if _, err := ledger.LoadKeys(dir, "another.example/log", true); err == nil {
		t.Fatal("key of another name accepted")
	}
	if _, _, err := ledger.LoadVerifier(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadVerifier in an empty directory = %v", err)
	}
	if _, err := ledger.LoadKeys(t.TempDir(), ledger.DefaultOrigin, false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadKeys without create = %v", err)
	}

	// The environment names the key file; it is read, never created.
	t.Setenv(ledger.KeyFileEnv, filepath.Join(dir, ledger.KeyFile))
	other := t.TempDir()
	k3, err := ledger.LoadKeys(other, ledger.DefaultOrigin, true)
	if err != nil || k3.PublicKey != k1.PublicKey {
		t.Fatalf("env key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, ledger.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a key was written to the data directory although the env names one")
	}
	t.Setenv(ledger.KeyFileEnv, filepath.Join(other, "missing.key"))
	if _, err := ledger.LoadKeys(other, ledger.DefaultOrigin, true); err == nil {
		t.Fatal("missing env key file created or ignored")
	}
	os.WriteFile(filepath.Join(other, "bad.key"), []byte("PRIVATE+KEY+x+00000000+AAAA\n"), 0o600)
	t.Setenv(ledger.KeyFileEnv, filepath.Join(other, "bad.key"))
	if _, err := ledger.LoadKeys(other, "", false); err == nil {
		t.Fatal("malformed key accepted")
	}
}

func TestOpenLog(t *testing.T) {
	t.Setenv(ledger.KeyFileEnv, "")
	ctx := context.Background()
	st := newMemStore()
	dir := t.TempDir()
	l, k, err := ledger.OpenLog(ctx, st, dir, "")
	if err != nil || l.Origin != ledger.DefaultOrigin || k.Signer.Name() != ledger.DefaultOrigin {
		t.Fatalf("OpenLog on a new store: %v", err)
	}
	st.append(testEntry(0))
	if _, _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// Same directory: the same key.
	l2, _, err := ledger.OpenLog(ctx, st, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l2.Latest(ctx); err != nil {
		t.Fatalf("reopened log cannot verify its checkpoint: %v", err)
	}
	// Checkpoints exist, the key is gone: no new key is made up.
	empty := t.TempDir()
	if _, _, err := ledger.OpenLog(ctx, st, empty, ""); errs.FieldOf(err) != "ledger_key" {
		t.Fatalf("OpenLog without the key = %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, ledger.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a fresh key was generated for a log with checkpoints")
	}
}
