// Package clip shortens untrusted text for error messages: a malformed
// input may hold a field of hundreds of megabytes, and an error should
// quote a few dozen characters of it, not all of it.
package clip

import (
	"strconv"
	"unicode/utf8"
)

// Max is the number of bytes of a text Quote shows at most.
const Max = 40

// Quote returns s quoted as %q does when it is at most Max bytes long;
// a longer s is cut to its first Max bytes (at a character boundary) and
// followed by "…" and its length, as in "abc…"… (1048576 bytes).
func Quote(s string) string {
	if len(s) <= Max {
		return strconv.Quote(s)
	}
	cut := Max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
