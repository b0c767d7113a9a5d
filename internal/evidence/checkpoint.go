package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// KeyFileName is the signing key's file name in an evidence directory.
const KeyFileName = "ledger.key"

// DefaultKeyName names generated keys; it is also the checkpoints' origin line.
const DefaultKeyName = "isms-operator/evidence"

const maxKeyFileBytes = 4096

// Checkpoint is a parsed C2SP tlog-checkpoint: origin, tree size and root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// checkpointBody formats the note text of a checkpoint.
func checkpointBody(origin string, size uint64, root []byte) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root))
}

// SignCheckpoint returns the signed note of a checkpoint; its origin is the signer's name.
func SignCheckpoint(signer note.Signer, size uint64, root []byte) ([]byte, error) {
	return note.Sign(&note.Note{Text: checkpointBody(signer.Name(), size, root)}, signer)
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier and parses it. It fails
// for a note not signed by that key, and for a body that is not a checkpoint of that origin.
func OpenCheckpoint(signed []byte, verifier note.Verifier) (Checkpoint, error) {
	var cp Checkpoint
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return cp, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return cp, errors.New("checkpoint body has fewer than 3 lines")
	}
	cp.Origin = lines[0]
	if cp.Origin != verifier.Name() {
		return cp, fmt.Errorf("checkpoint origin %q is not the key's name %q", truncate(cp.Origin, 100), verifier.Name())
	}
	if cp.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil || strconv.FormatUint(cp.Size, 10) != lines[1] {
		return cp, fmt.Errorf("checkpoint size %q is not a decimal number", truncate(lines[1], 40))
	}
	if cp.Root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(cp.Root) != 32 {
		return cp, errors.New("checkpoint root is not a base64 SHA-256 hash")
	}
	return cp, nil
}

// Keys are a ledger's signer and the text of its public verifier key (to publish, and to
// give to `evidence verify`).
type Keys struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the note verifier key text ("<name>+<hash>+<base64 key>").
	VerifierKey string
}

// LoadOrCreateKeys reads the signing key of an evidence directory, generating one (mode
// 0600) under name when the file does not exist.
func LoadOrCreateKeys(dir, name string) (Keys, error) {
	path := filepath.Join(dir, KeyFileName)
	text, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		text, err = createKeyFile(path, name)
	}
	if err != nil {
		return Keys{}, err
	}
	return KeysFromPrivate(text)
}

// KeysFromPrivate parses a note private key ("PRIVATE+KEY+<name>+<hash>+<key>").
func KeysFromPrivate(private string) (Keys, error) {
	signer, err := note.NewSigner(strings.TrimSpace(private))
	if err != nil {
		return Keys{}, fmt.Errorf("parsing signing key: %w", err)
	}
	vkey, err := verifierKeyOf(strings.TrimSpace(private))
	if err != nil {
		return Keys{}, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return Keys{}, fmt.Errorf("deriving verifier key: %w", err)
	}
	return Keys{Signer: signer, Verifier: verifier, VerifierKey: vkey}, nil
}

// verifierKeyOf derives the public verifier key text from a private key text: note has no
// function for it, so the ed25519 public key is recomputed from the private seed, and the
// name and key hash are those of the private key (note.NewSigner checked them).
func verifierKeyOf(private string) (string, error) {
	parts := strings.SplitN(private, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("signing key is not a note private key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return "", errors.New("signing key is not an ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return parts[2] + "+" + parts[3] + "+" + base64.StdEncoding.EncodeToString(append([]byte{algEd25519}, pub...)), nil
}

// algEd25519 is note's algorithm byte for ed25519 keys.
const algEd25519 = 1

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading signing key: %w", err)
	}
	if len(b) > maxKeyFileBytes {
		return "", fmt.Errorf("signing key file %s is larger than %d bytes", path, maxKeyFileBytes)
	}
	return string(bytes.TrimSpace(b)), nil
}

// createKeyFile generates a key and writes it without replacing a file another process made.
func createKeyFile(path, name string) (string, error) {
	private, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("generating signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating signing key file: %w", err)
	}
	if _, err := f.WriteString(private + "\n"); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("writing signing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("writing signing key file: %w", err)
	}
	return private, f.Close()
}
