package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"ecredit/errs"
)

// Key file names in the data directory.
const (
	KeyFile = "ledger.key" // the note signer key (secret, mode 0600)
	PubFile = "ledger.pub" // the note verifier key (public)
)

// KeyFileEnv names an environment variable that, when set, is the path of
// the signer key file instead of DATA/ledger.key. That file is never created
// by ecredit.
const KeyFileEnv = "ECREDIT_LEDGER_KEY_FILE"

// Keys is the log's signing key pair.
type Keys struct {
	Signer    note.Signer
	Verifier  note.Verifier
	PublicKey string // the verifier key in note format: name+hash+base64
}

// LoadOrCreateKey returns the signer and verifier of the log named name
// (its checkpoint origin). See LoadKeys.
func LoadOrCreateKey(dataDir, name string) (note.Signer, note.Verifier, error) {
	k, err := LoadKeys(dataDir, name, true)
	if err != nil {
		return nil, nil, err
	}
	return k.Signer, k.Verifier, nil
}

// LoadKeys reads the Ed25519 signer key from $ECREDIT_LEDGER_KEY_FILE or
// dataDir/ledger.key. When the data-directory file is missing and create is
// true, a fresh key named name is generated (note.GenerateKey) and written
// with mode 0600. The public verifier key is (re)written to
// dataDir/ledger.pub so that anyone can verify checkpoints. A key whose
// name is not name is refused: the name is the log's identity.
func LoadKeys(dataDir, name string, create bool) (*Keys, error) {
	path := os.Getenv(KeyFileEnv)
	fromEnv := path != ""
	if !fromEnv {
		if dataDir == "" {
			return nil, errors.New("ledger: no signing key: set " + KeyFileEnv + " or a data directory")
		}
		path = filepath.Join(dataDir, KeyFile)
	}
	b, err := os.ReadFile(path)
	var skey string
	switch {
	case err == nil:
		skey = strings.TrimSpace(string(b))
	case errors.Is(err, os.ErrNotExist) && create && !fromEnv:
		s, _, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, fmt.Errorf("ledger: generate key: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		// O_EXCL: two processes starting together must not both write.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadKeys(dataDir, name, false)
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: write key: %w", err)
		}
		_, err = f.WriteString(s + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("ledger: write key: %w", err)
		}
		skey = s
	default:
		return nil, fmt.Errorf("ledger: read signing key: %w", err)
	}
	k, err := parseSignerKey(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: signing key in %s: %w", path, err)
	}
	if name != "" && k.Signer.Name() != name {
		return nil, fmt.Errorf("ledger: signing key in %s is named %q, but the log is %q", path, k.Signer.Name(), name)
	}
	if dataDir != "" {
		pub := filepath.Join(dataDir, PubFile)
		if old, err := os.ReadFile(pub); err != nil || strings.TrimSpace(string(old)) != k.PublicKey {
			if err := os.WriteFile(pub, []byte(k.PublicKey+"\n"), 0o644); err != nil {
				return nil, fmt.Errorf("ledger: write public key: %w", err)
			}
		}
	}
	return k, nil
}

// parseSignerKey builds the key pair from a note signer key
// "PRIVATE+KEY+name+hash+base64(alg‖seed)".
func parseSignerKey(skey string) (*Keys, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(skey, "+", 5) // PRIVATE, KEY, name, hash, key (base64 may hold '+')
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Keys{Signer: s, Verifier: v, PublicKey: vkey}, nil
}

// LoadVerifier returns the verifier for checking checkpoints without the
// secret key: from dataDir/ledger.pub, else derived from the signer key
// ($ECREDIT_LEDGER_KEY_FILE or dataDir/ledger.key). It never creates a key;
// with neither file it returns an error wrapping os.ErrNotExist.
func LoadVerifier(dataDir string) (note.Verifier, string, error) {
	if dataDir != "" {
		b, err := os.ReadFile(filepath.Join(dataDir, PubFile))
		if err == nil {
			vkey := strings.TrimSpace(string(b))
			v, err := note.NewVerifier(vkey)
			if err != nil {
				return nil, "", fmt.Errorf("ledger: public key in %s: %w", filepath.Join(dataDir, PubFile), err)
			}
			return v, vkey, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("ledger: read public key: %w", err)
		}
	}
	if os.Getenv(KeyFileEnv) == "" && dataDir == "" {
		return nil, "", fmt.Errorf("ledger: no public key: %w", os.ErrNotExist)
	}
	k, err := LoadKeys(dataDir, "", false)
	if err != nil {
		return nil, "", err
	}
	return k.Verifier, k.PublicKey, nil
}

// OpenLog returns the Log over st with the signing key of dataDir (see
// LoadKeys; origin "" means DefaultOrigin). A missing key is generated only
// while the store holds no checkpoint: once checkpoints have been
// published, a silently replaced key would make every one of them
// unverifiable, so the original key file must be restored instead.
func OpenLog(ctx context.Context, st Store, dataDir, origin string) (*Log, *Keys, error) {
	if origin == "" {
		origin = DefaultOrigin
	}
	_, err := st.LatestCheckpoint(ctx)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, nil, err
	}
	create := err != nil
	k, err := LoadKeys(dataDir, origin, create)
	if err != nil {
		msg := "无法读取账本签名密钥：" + err.Error()
		if !create && errors.Is(err, os.ErrNotExist) {
			msg = "账本已有签名检查点，但找不到签名密钥 " + KeyFile + "；请恢复原密钥文件或设置 " + KeyFileEnv + " (the ledger has signed checkpoints but its signing key is missing)"
		}
		return nil, nil, &errs.Error{Code: errs.Invalid, Op: "ledger.OpenLog", Field: "ledger_key", Message: msg, Err: err}
	}
	return &Log{Store: st, Signer: k.Signer, Verifier: k.Verifier, Origin: origin}, k, nil
}
