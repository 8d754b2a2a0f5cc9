package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lectern/lectern/transcode"
)

// laneHandler stands in for transcode.Handler: it reports each chunk
// task it starts, and holds video pieces until release is closed.
type laneHandler struct {
	started chan transcode.ChunkPayload
	release chan struct{}
}

func (h *laneHandler) ProcessTranscode(context.Context, transcode.TranscodePayload, transcode.Delivery) error {
	return nil
}

func (h *laneHandler) ProcessChunk(ctx context.Context, p transcode.ChunkPayload, _ transcode.Delivery) error {
	h.started <- p
	if !p.Audio {
		select {
		case <-h.release:
		case <-ctx.Done():
		}
	}
	return nil
}

// A lesson's audio piece never waits for a transcode slot: on a worker
// with one slot, busy with a video chunk, the audio piece enqueued after
// it (with the lesson's queue, as the planner does) goes on the audio
// queue and starts at once on the worker's audio lane.
func TestAudioPiecesRunBesideTranscodes(t *testing.T) {
	for name, redisURL := range queueBackends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := openTestQueue(t, redisURL(t))
			h := &laneHandler{started: make(chan transcode.ChunkPayload, 4), release: make(chan struct{})}
			w := q.NewTranscodeWorker(WorkerOptions{Concurrency: 1, ShutdownTimeout: 5 * time.Second,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CheckInterval: 100 * time.Millisecond}, h)
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Shutdown)
			defer close(h.release)
			ctx := context.Background()
			tasks := Tasks{Queue: q}
			video := transcode.ChunkPayload{LessonID: "l1", JobID: "j1", Attempt: 1, Index: 1}
			if err := tasks.EnqueueChunk(ctx, video, 0, QueueTranscode); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, h.started, "the video piece to start"); got.Audio {
				t.Fatalf("started %+v, want the video piece", got)
			}
			audio := transcode.ChunkPayload{LessonID: "l1", JobID: "j1", Attempt: 1, Index: 0, Audio: true}
			if err := tasks.EnqueueChunk(ctx, audio, 0, QueueTranscode); err != nil {
				t.Fatal(err)
			}
			// receive waits long enough for any pause: had the audio piece
			// waited for the busy slot, nothing would start at all.
			if got := receive(t, h.started, "the audio piece to start beside the busy slot"); !got.Audio {
				t.Fatalf("started %+v, want the audio piece", got)
			}
			if _, err := q.inspector.GetTaskInfo(QueueAudio, chunkTaskID("j1", 0, 0)); err != nil {
				t.Errorf("the audio piece's task is not on %s: %v", QueueAudio, err)
			}
		})
	}
}
