package lectern_test

import (
	"testing"

	"github.com/lectern/lectern"
)

func TestEncodingProgressExtent(t *testing.T) {
	tests := []struct {
		name           string
		p              lectern.EncodingProgress
		duration       int64
		ready, encoded int64
	}{
		{"OpeningChunkOnly", lectern.EncodingProgress{ReadySegs: 8, DoneSegs: 8, TotalSegs: 675}, 2_700_000, 32_000, 32_000},
		{"LaterChunkDoneFirst", lectern.EncodingProgress{ReadySegs: 8, DoneSegs: 16, TotalSegs: 675}, 2_700_000, 32_000, 64_000},
		// 10.5 s in 3 segments of 4 s: counted as 3.5 s each, never more than is stored.
		{"ShortLastSegment", lectern.EncodingProgress{ReadySegs: 2, DoneSegs: 2, TotalSegs: 3}, 10_500, 7_000, 7_000},
		{"AllStored", lectern.EncodingProgress{ReadySegs: 3, DoneSegs: 3, TotalSegs: 3}, 10_500, 10_500, 10_500},
		{"NoPlan", lectern.EncodingProgress{}, 10_500, 0, 0},
		{"OutOfRange", lectern.EncodingProgress{ReadySegs: -1, DoneSegs: 9, TotalSegs: 3}, 12_000, 0, 12_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, encoded := tt.p.Extent(tt.duration)
			if ready != tt.ready || encoded != tt.encoded {
				t.Errorf("Extent(%d) = %d, %d; want %d, %d", tt.duration, ready, encoded, tt.ready, tt.encoded)
			}
		})
	}
}
