package localplane

import (
	"crypto/rand"
	"encoding/base64"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n random characters of [a-z0-9], the form of Plane's
// backend ids, error ids and random key names.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	for i := range b {
		// 252 = 7*36 would make this exactly uniform; the tiny bias of a plain
		// modulo does not matter for ids.
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// randomToken returns 32 random bytes as 43 characters of unpadded base64url,
// the form of Plane's connection tokens and secrets.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
