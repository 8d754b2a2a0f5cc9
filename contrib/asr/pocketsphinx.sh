#!/bin/sh
# pocketsphinx.sh AUDIO OUTPUT [LANG]: automatic captions with CMU
# PocketSphinx, for LECTERN_ASR_COMMAND:
#
#   LECTERN_ASR_COMMAND='/path/to/contrib/asr/pocketsphinx.sh {audio} {output} {lang}'
#
# Debian and Ubuntu: apt-get install pocketsphinx pocketsphinx-en-us.
# It runs pocketsphinx_continuous on AUDIO (the 16 kHz mono WAV Lectern
# makes), which prints each utterance's words with their start and end
# times, and writes them to OUTPUT as WebVTT cues of a few words: a cue
# ends at a pause in the speech (PAUSE seconds or more), after MAXWORDS
# words or after MAXSECONDS seconds, whichever comes first, so that a cue
# is on screen while its words are spoken. Only the US English model is
# packaged: LANG must be en (or en-US). Lectern runs it with a minimal
# environment (PATH, HOME, TMPDIR, LANG=C) and, where bubblewrap works,
# without network and with read access to /usr and its own files only.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 AUDIO OUTPUT [LANG]" >&2
	exit 2
fi
audio=$1
out=$2
lang=${3:-en}
case $lang in
en | en-US) ;;
*)
	echo "pocketsphinx.sh: only the US English model (en) is installed, not $lang" >&2
	exit 2
	;;
esac

# Where Debian's pocketsphinx-en-us puts the model.
model=/usr/share/pocketsphinx/model/en-us
for f in "$model/en-us" "$model/en-us.lm.bin" "$model/cmudict-en-us.dict"; do
	if [ ! -e "$f" ]; then
		echo "pocketsphinx.sh: the US English model is missing ($f): apt-get install pocketsphinx-en-us" >&2
		exit 3
	fi
done

words=$out.words
trap 'rm -f "$words" "$out.tmp"' EXIT
pocketsphinx_continuous -infile "$audio" -time yes -logfn /dev/null \
	-hmm "$model/en-us" -lm "$model/en-us.lm.bin" -dict "$model/cmudict-en-us.dict" >"$words"

# Each word line reads "word start end confidence"; the utterance's text
# line before them has no times. <s>, </s>, <sil> and [NOISE]-like
# fillers are not words; "word(2)" is the dictionary's second
# pronunciation of word.
awk -v PAUSE=0.3 -v MAXWORDS=7 -v MAXSECONDS=3.5 '
function stamp(t,   ms, h, m, s) {
	ms = int(t * 1000 + 0.5)
	h = int(ms / 3600000); ms -= h * 3600000
	m = int(ms / 60000); ms -= m * 60000
	s = int(ms / 1000); ms -= s * 1000
	return sprintf("%02d:%02d:%02d.%03d", h, m, s, ms)
}
function flush() {
	if (n > 0) printf "%s --> %s\n%s\n\n", stamp(start), stamp(end), text
	n = 0; text = ""
}
BEGIN { print "WEBVTT"; print ""; n = 0 }
NF == 4 && $2 ~ /^[0-9]+(\.[0-9]+)?$/ && $3 ~ /^[0-9]+(\.[0-9]+)?$/ {
	w = $1
	if (w == "</s>") { flush(); next }
	if (w ~ /^</ || w ~ /^\[/ || w ~ /^\+\+/) next
	sub(/\([0-9]+\)$/, "", w)
	if (n > 0 && ($2 - end >= PAUSE || n >= MAXWORDS || $3 - start > MAXSECONDS)) flush()
	if (n == 0) { start = $2; text = w } else text = text " " w
	end = $3; n++
}
END { flush() }
' "$words" >"$out.tmp"
mv "$out.tmp" "$out"
