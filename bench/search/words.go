package main

import (
	"math/rand/v2"
	"strings"
)

// commonWords are the words of spoken lectures, most frequent first: the
// head of the vocabulary, where the Zipf distribution puts most of the
// text. The tail (rare, subject-specific words) is made up by
// syntheticWord.
var commonWords = strings.Fields(`
the and to of a that is in it you so we this is what be on for have not
with are as do if can at but they there just or all about like one here
now then will going get know think right well see because how when more
very which would our some time way look also into these other only first
two make let say work really need same different because point example
case thing value number problem question answer equation energy system
function model data process structure force water light temperature
pressure signal network matrix vector cell membrane protein reaction
theory result change level rate state field wave particle mass charge
current voltage circuit power heat gas liquid solid density volume area
length speed acceleration momentum angle circle line curve graph slope
integral derivative limit series sum product factor term variable
constant parameter sample mean variance error test hypothesis evidence
argument claim source text author period century war trade market price
cost demand supply growth policy law court right language word sentence
meaning sound letter symbol code program loop array list tree node edge
path table query index key memory disk file process thread lock network
packet layer protocol server client request response design pattern
object class method interface type record event order group set map
`)

// collocations are word pairs that lectures say together; sentences carry
// them now and then, so that phrase searches have something to find.
var collocations = []string{
	"cell membrane", "energy level", "in other words", "for example", "free energy",
	"boundary condition", "standard deviation", "time complexity", "supply chain",
	"primary source", "electric field", "chemical reaction", "linear algebra",
}

// vocabulary is the word list, most frequent first: the common words,
// then made-up ones up to size.
func vocabulary(size int, r *rand.Rand) []string {
	seen := map[string]bool{}
	var words []string
	for _, w := range commonWords {
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	for len(words) < size {
		w := syntheticWord(r)
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

var (
	onsets = strings.Fields("b c d f g h k l m n p r s t v z br cl dr fl gr pl st tr ch sh th ph")
	nuclei = strings.Fields("a e i o u ai ea io ou y")
	codas  = strings.Fields("n r s l m t x nd st rm ct ph ne se te")
)

// syntheticWord makes a pronounceable word of two to four syllables.
func syntheticWord(r *rand.Rand) string {
	var b strings.Builder
	for range 2 + r.IntN(3) {
		b.WriteString(onsets[r.IntN(len(onsets))])
		b.WriteString(nuclei[r.IntN(len(nuclei))])
	}
	b.WriteString(codas[r.IntN(len(codas))])
	return b.String()
}

// speaker makes caption text: sentences of words drawn from the
// vocabulary with a Zipf distribution (the rank-k word about 1/k as
// frequent as the first), now and then with a collocation in them.
type speaker struct {
	r     *rand.Rand
	words []string
	zipf  *rand.Zipf
}

func newSpeaker(seed uint64, words []string) *speaker {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &speaker{r: r, words: words, zipf: rand.NewZipf(r, 1.07, 2, uint64(len(words)-1))}
}

// cue returns a caption cue's text: 5 to 14 words, capitalised, with a
// full stop, a comma now and then.
func (s *speaker) cue() string {
	n := 5 + s.r.IntN(10)
	parts := make([]string, 0, n+2)
	for i := 0; i < n; i++ {
		if s.r.IntN(25) == 0 {
			parts = append(parts, collocations[s.r.IntN(len(collocations))])
			continue
		}
		w := s.words[s.zipf.Uint64()]
		if s.r.IntN(12) == 0 {
			w += ","
		}
		parts = append(parts, w)
	}
	text := strings.Join(parts, " ")
	return strings.ToUpper(text[:1]) + strings.TrimSuffix(text[1:], ",") + "."
}
