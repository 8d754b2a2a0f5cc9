package transcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Layout of an encode's output directory.
const (
	// MasterPlaylist is the master playlist's name in the output directory.
	MasterPlaylist = "master.m3u8"
	mediaPlaylist  = "index.m3u8"
	initSegment    = "init.mp4"
	segmentPattern = "seg_%05d.m4s"
	audioDir       = "a"
)

// videoDir is the directory of the i-th rung: v0 is the largest.
func videoDir(i int) string { return "v" + strconv.Itoa(i) }

// Encode writes the HLS renditions of l and the master playlist into outDir
// with one ffmpeg process: the source is decoded once, resampled to the
// ladder's frame rate, split and scaled per rung; audio is encoded once into
// its own rendition. The same decode is watched for slide changes
// (Output.Scenes; see scenes.go) unless p.SkipScenes. progress, if not nil, is called with the percent done
// (0–100) about once a second, from the calling goroutine; it should return
// quickly.
//
// input must be a regular file and outDir an existing directory, both in
// the job's temporary directory; ffmpeg reads only input, through src's
// demuxer and the file protocol. A file that turns out damaged while
// encoding is a bad-input error (see IsBadInput); a relative outDir, a
// missing ffmpeg or encoder is a *SetupError; any other failure is
// transient. The deadline is the caller's (see Timeout).
func (p *Pipeline) Encode(ctx context.Context, src *Source, input, outDir string, l Ladder, progress func(percent float64)) (*Output, error) {
	if len(l.Video) == 0 && l.Audio == nil {
		return nil, setupErrorf("encode: empty ladder")
	}
	if (len(l.Video) > 0 && src.Video == nil) || (l.Audio != nil && src.Audio == nil) {
		return nil, setupErrorf("encode: ladder does not match the source")
	}
	abs, err := regularFile(input)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if outDir, err = prepareOutDir(outDir, l); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	args, err := p.encodeArgs(src, abs, outDir, l)
	if err != nil {
		return nil, err
	}
	res, err := p.run(ctx, command{
		op: "encode", bin: p.ffmpeg(), args: args, dir: outDir,
		stdout: progressReader(src.DurationMS, progress),
	})
	if err != nil {
		var re *RunError
		if errors.As(err, &re) {
			if bad := classifyInputFailure(res.stderr.String(), nil, p.Limits.withDefaults()); bad != nil {
				return nil, bad
			}
		}
		return nil, err
	}
	out, err := collectOutput(outDir, l)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := checkComplete(src, out); err != nil {
		return nil, err
	}
	if out.Scenes, err = readScenes(outDir, out.DurationMS); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	master := filepath.Join(outDir, MasterPlaylist)
	if err := os.WriteFile(master, []byte(masterPlaylist(out)), 0o644); err != nil {
		return nil, fmt.Errorf("encode: write master playlist: %w", err)
	}
	return out, nil
}

// prepareOutDir checks outDir is an absolute, existing directory (so
// ffmpeg cannot read an output path as a URL) and creates the rendition
// directories. A relative outDir, or one the worker may not write, is a
// *SetupError.
func prepareOutDir(outDir string, l Ladder) (string, error) {
	if !filepath.IsAbs(outDir) {
		return "", setupErrorf("output directory %q is not absolute", outDir)
	}
	outDir = filepath.Clean(outDir)
	dirs := []string{}
	for i := range l.Video {
		dirs = append(dirs, videoDir(i))
	}
	if l.Audio != nil {
		dirs = append(dirs, audioDir)
	}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(outDir, d), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", setupIfMissing(err)
		}
	}
	return outDir, nil
}

// encodeArgs builds ffmpeg's arguments for Encode.
func (p *Pipeline) encodeArgs(src *Source, input, outDir string, l Ladder) (args []string, err error) {
	// ffmpeg-go reports a malformed graph by panicking; our graphs are
	// fixed in shape, but a library panic must still not crash a worker.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encode: build ffmpeg arguments: %v", r)
		}
	}()
	in := p.input(src, input)
	var outs []*ffmpeg.Stream
	if len(l.Video) > 0 {
		// One decode, resampled once to a constant rate so the GOP lands on
		// the same frames in every rung, then split per rung.
		v := in.Get(strconv.Itoa(src.Video.Index)).Filter("fps", ffmpeg.Args{l.FrameRate})
		branches := []*ffmpeg.Stream{v}
		n := len(l.Video)
		if !p.SkipScenes {
			n++ // the last branch looks for slide changes (scenes.go)
		}
		if n > 1 {
			split := v.Split()
			branches = branches[:0]
			for i := range n {
				branches = append(branches, split.Get(strconv.Itoa(i)))
			}
		}
		if !p.SkipScenes {
			outs = append(outs, sceneOutput(sceneBranch(branches[n-1], filepath.Join(outDir, scenesFile)), outDir))
		}
		for i, r := range l.Video {
			scaled := branches[i].
				Filter("scale", ffmpeg.Args{strconv.Itoa(r.Width), strconv.Itoa(r.Height)}).
				// 8-bit 4:2:0 whatever the source (10-bit, 4:2:2, 4:4:4 screen
				// captures): browsers only play H.264 High or below.
				Filter("format", ffmpeg.Args{"yuv420p"}).
				// Square pixels: the size above already is the displayed one.
				Filter("setsar", ffmpeg.Args{"1"})
			outs = append(outs, ffmpeg.Output([]*ffmpeg.Stream{scaled},
				filepath.Join(outDir, videoDir(i), mediaPlaylist), videoOptions(r, l, filepath.Join(outDir, videoDir(i)))))
		}
	}
	if l.Audio != nil {
		a := in.Get(strconv.Itoa(src.Audio.Index))
		outs = append(outs, ffmpeg.Output([]*ffmpeg.Stream{a},
			filepath.Join(outDir, audioDir, mediaPlaylist), audioOptions(l.Audio, filepath.Join(outDir, audioDir))))
	}
	return ffmpeg.MergeOutputs(outs...).GlobalArgs(globalArgs()...).GetArgs(), nil
}

// input is the source as ffmpeg opens it, with extra input options.
func (p *Pipeline) input(src *Source, abs string, extra ...ffmpeg.KwArgs) *ffmpeg.Stream {
	lim := p.Limits.withDefaults()
	return ffmpeg.Input("file:"+abs, append([]ffmpeg.KwArgs{{
		// The demuxer ffprobe detected and the allowlist accepted, never a
		// fresh guess.
		"f": src.Format,
		// Local files only: nothing inside the file can reach the network.
		"protocol_whitelist": "file",
		// The same demuxers as the probe: should -f ever name a playlist
		// format, it is refused rather than followed.
		"format_whitelist": formatWhitelist,
		"max_streams":      strconv.Itoa(lim.MaxStreams),
		"probesize":        strconv.FormatInt(lim.ProbeSize, 10),
		"analyzeduration":  analyzeDurationUS,
	}}, extra...)...)
}

// globalArgs apply to the whole ffmpeg run.
func globalArgs() []string {
	return []string{
		"-hide_banner", "-nostdin",
		"-loglevel", "warning",
		// Machine-readable progress on stdout, once a second, instead of
		// the human status line on stderr.
		"-nostats", "-progress", "pipe:1", "-stats_period", "1",
		"-y",
	}
}

// videoOptions are the per-output options of one rung.
func videoOptions(r Rung, l Ladder, dir string) ffmpeg.KwArgs {
	o := ffmpeg.KwArgs{
		"c:v":    "libx264",
		"preset": "veryfast",
		// Capped CRF: quality-targeted, so a still slide costs little, with
		// a VBV cap so that motion never exceeds the rung's maxrate.
		"crf":     strconv.Itoa(l.CRF),
		"maxrate": strconv.Itoa(r.MaxrateKbps) + "k",
		"bufsize": strconv.Itoa(r.BufsizeKbps) + "k",
		// Fixed GOP with scene-cut detection off: keyframes every
		// GOPSeconds at the same instants in every rung.
		"g":            strconv.Itoa(l.GOP),
		"keyint_min":   strconv.Itoa(l.GOP),
		"sc_threshold": "0",
	}
	for k, v := range hlsOptions(dir) {
		o[k] = v
	}
	return o
}

// audioOptions are the options of the audio rendition.
func audioOptions(a *AudioRendition, dir string) ffmpeg.KwArgs {
	o := ffmpeg.KwArgs{
		"c:a": "aac",
		"b:a": strconv.Itoa(a.BitrateKbps) + "k",
		"ac":  strconv.Itoa(a.Channels),
		"ar":  strconv.Itoa(a.SampleRate),
	}
	for k, v := range hlsOptions(dir) {
		o[k] = v
	}
	return o
}

// hlsOptions are the muxer options every rendition shares.
func hlsOptions(dir string) ffmpeg.KwArgs {
	return ffmpeg.KwArgs{
		// Drop the source's metadata and chapters: phone recordings carry
		// GPS locations and device names students need not see. The
		// chapters reach the lesson through the probe instead (cleaned,
		// see lectern.ImportedChapters), and the player reads them there.
		"map_metadata": "-1",
		"map_chapters": "-1",
		"format":       "hls",
		"hls_time":     strconv.Itoa(SegmentSeconds),
		// Writes EXT-X-PLAYLIST-TYPE:VOD and keeps every segment listed.
		"hls_playlist_type": "vod",
		// fMP4 segments (HLS v7): one init segment, then small fragments.
		"hls_segment_type":       "fmp4",
		"hls_flags":              "independent_segments",
		"hls_fmp4_init_filename": initSegment,
		"hls_segment_filename":   filepath.Join(dir, segmentPattern),
	}
}
