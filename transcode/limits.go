package transcode

import (
	"context"
	"math"
	"runtime"
	"strconv"
	"time"
)

// Resources bounds each ffmpeg and ffprobe process the pipeline starts
// (their resource limits, set before the program runs), so that one hostile
// or broken recording cannot take the worker's machine down with it. A zero
// field takes its default from DefaultResources.
type Resources struct {
	// ProbeMemory is the address space ffprobe may map (RLIMIT_AS).
	// Identifying a file decodes a frame or two, so a file whose headers
	// promise an enormous picture fails to allocate it, and the probe
	// still reports the size, which Probe then refuses.
	ProbeMemory int64
	// FFmpegMemory is the address space of each ffmpeg run: the encode,
	// the poster and the thumbnails. It must hold one decode of the
	// largest accepted source, every rung's encoder and a stack per thread.
	FFmpegMemory int64
	// MaxFileSize is the largest file one process may write (RLIMIT_FSIZE).
	MaxFileSize int64
	// MaxOpenFiles bounds the files one process may hold open (RLIMIT_NOFILE).
	MaxOpenFiles int
}

// DefaultResources returns the limits used for zero fields of Resources:
// 512 MiB for ffprobe; for ffmpeg 3 GiB plus 256 MiB per CPU (encoders
// start threads per CPU, each with its own stack; a 1080p source through
// the four-rung ladder peaked at 1.3 GB of address space on 2 CPUs);
// files of at most 1 GiB (a segment is a few megabytes); 256 open files.
func DefaultResources() Resources {
	return Resources{
		ProbeMemory:  512 << 20,
		FFmpegMemory: 3<<30 + int64(runtime.NumCPU())*256<<20,
		MaxFileSize:  1 << 30,
		MaxOpenFiles: 256,
	}
}

func (r Resources) withDefaults() Resources {
	d := DefaultResources()
	if r.ProbeMemory <= 0 {
		r.ProbeMemory = d.ProbeMemory
	}
	if r.FFmpegMemory <= 0 {
		r.FFmpegMemory = d.FFmpegMemory
	}
	if r.MaxFileSize <= 0 {
		r.MaxFileSize = d.MaxFileSize
	}
	if r.MaxOpenFiles <= 0 {
		r.MaxOpenFiles = d.MaxOpenFiles
	}
	return r
}

// rlimit is one resource limit of a child process, named as util-linux's
// prlimit names it ("as", "cpu", …).
type rlimit struct {
	name       string
	soft, hard uint64
}

// cpuSlack is added to a run's CPU-time limit, so that the wall-clock
// deadline always fires first; the CPU limit is the backstop.
const cpuSlack = 60

// rlimits are the limits of a process that may use memory bytes of
// address space and must end by ctx's deadline, if it has one: its CPU
// time is then at most that long on every CPU. Core dumps are off: a
// crashing ffmpeg must not fill the work disk.
func (r Resources) rlimits(ctx context.Context, memory int64) []rlimit {
	r = r.withDefaults()
	ls := []rlimit{
		{"as", uint64(memory), uint64(memory)},
		{"fsize", uint64(r.MaxFileSize), uint64(r.MaxFileSize)},
		{"nofile", uint64(r.MaxOpenFiles), uint64(r.MaxOpenFiles)},
		{"core", 0, 0},
	}
	if deadline, ok := ctx.Deadline(); ok {
		secs := math.Ceil(max(time.Until(deadline), 0).Seconds()*float64(runtime.NumCPU())) + cpuSlack
		ls = append(ls, rlimit{"cpu", uint64(secs), uint64(secs) + 10})
	}
	return ls
}

// prlimitArgs are the arguments of util-linux's prlimit that run a
// command under ls: prlimit sets them on itself, then becomes the command,
// so the limits hold from the command's first instruction.
func prlimitArgs(ls []rlimit) []string {
	args := make([]string, 0, len(ls)+1)
	for _, l := range ls {
		args = append(args, "--"+l.name+"="+strconv.FormatUint(l.soft, 10)+":"+strconv.FormatUint(l.hard, 10))
	}
	return append(args, "--")
}
