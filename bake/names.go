package bake

import "strings"

// ShortID is the first 12 hex digits of an image or container ID, as the
// docker CLI shows it.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// SafeName replaces every character but letters, digits, - _ and . with
// -, for names made from user input (container names, script files).
func SafeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
