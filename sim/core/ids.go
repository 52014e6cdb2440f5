package core

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID is an AWS-style resource id: prefix, a dash and 17 hex digits
// (i-0123456789abcdef0, ami-..., sg-..., lt-...).
func NewID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

// NewHex is n random hex digits (for ids without the usual form, such as
// Route53's or an ALB's DNS name suffix).
func NewHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)[:n]
}
