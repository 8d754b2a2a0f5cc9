package lectern_test

import (
	"testing"

	"github.com/lectern/lectern"
)

func TestJoinCodeForms(t *testing.T) {
	for _, tc := range []struct{ typed, norm, pretty string }{
		{"ABCDEFGH", "ABCDEFGH", "ABCD-EFGH"},
		{"abcd-efgh", "ABCDEFGH", "ABCD-EFGH"},
		{"  AbCd EfGh\n", "ABCDEFGH", "ABCD-EFGH"},
		{"abcd\u2013efgh", "ABCDEFGH", "ABCD-EFGH"}, // an en dash, as word processors make them
		{"-", "", ""},
		{"ABC", "ABC", "ABC"},
		{"äbcd-éfgh", "ÄBCDÉFGH", "ÄBCD-ÉFGH"},
		{"ÄBC-DÉFG", "ÄBCDÉFG", "ÄBCDÉFG"}, // odd length: left in one piece
	} {
		if got := lectern.NormalizeJoinCode(tc.typed); got != tc.norm {
			t.Errorf("NormalizeJoinCode(%q) = %q, want %q", tc.typed, got, tc.norm)
		}
		if got := lectern.FormatJoinCode(tc.typed); got != tc.pretty {
			t.Errorf("FormatJoinCode(%q) = %q, want %q", tc.typed, got, tc.pretty)
		}
	}
}
