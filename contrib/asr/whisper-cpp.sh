#!/bin/sh
# whisper-cpp.sh WHISPER MODEL AUDIO OUTPUT [LANG]: automatic captions with
# whisper.cpp (https://github.com/ggml-org/whisper.cpp), for
# LECTERN_ASR_COMMAND:
#
#   LECTERN_ASR_COMMAND='/opt/lectern/contrib/asr/whisper-cpp.sh /usr/local/bin/whisper-cli /opt/whisper/ggml-base.bin {audio} {output} {lang}'
#
# WHISPER is whisper.cpp's command-line program (whisper-cli; "main" in
# releases before 1.7), MODEL a ggml model file (ggml-base.bin,
# ggml-small.en.bin, …). Give both as absolute paths: Lectern lets the
# recognizer read the absolute paths of its command line, /usr and
# nothing else of the host when it runs it under bubblewrap (see
# docs/operations.md, "Automatic captions"). whisper.cpp reads the 16 kHz
# mono WAV Lectern makes as it is, and writes WebVTT itself (-ovtt).
# LANG is a BCP 47 tag; whisper.cpp takes the language alone (pt-BR: pt).
set -eu

if [ $# -lt 4 ]; then
	echo "usage: $0 WHISPER MODEL AUDIO OUTPUT [LANG]" >&2
	exit 2
fi
whisper=$1
model=$2
audio=$3
out=$4
lang=${5:-en}
lang=${lang%%-*}

if [ ! -r "$model" ]; then
	echo "whisper-cpp.sh: cannot read the model $model" >&2
	exit 3
fi
# -of names the output without its extension; -ovtt adds .vtt. -np
# keeps the log to errors.
"$whisper" -m "$model" -f "$audio" -l "$lang" -ovtt -of "$out.whisper" -np
mv "$out.whisper.vtt" "$out"
