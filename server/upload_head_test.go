package server_test

// Both upload routes judge a file by its first bytes and refuse, before
// the rest is sent, what is plainly not a recording.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lectern/lectern"
	"github.com/lectern/lectern/db"
	"github.com/lectern/lectern/internal/testenv"
	"github.com/lectern/lectern/server"
	"github.com/lectern/lectern/transcode"
)

const pleaseUpload = "Please upload MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV or Ogg video, or MP3, M4A, WAV, FLAC, AAC or Ogg audio"

// notRecording is a file a teacher might pick by mistake.
type notRecording struct {
	name    string
	head    []byte // the file's first bytes, all the routes look at
	message string // the reason the teacher reads
}

func notRecordings(t *testing.T) []notRecording {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(3, 3, color.White)
	var pngFile bytes.Buffer
	if err := png.Encode(&pngFile, img); err != nil {
		t.Fatal(err)
	}
	var zipFile bytes.Buffer
	zw := zip.NewWriter(&zipFile)
	if w, err := zw.Create("week3/notes.txt"); err != nil {
		t.Fatal(err)
	} else if _, err := io.WriteString(w, "limits and continuity\n"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return []notRecording{
		{"Text", []byte(strings.Repeat("Week 3: limits and continuity, with worked examples.\n", 100)),
			"Unsupported file type (text). " + pleaseUpload},
		{"PNG", pngFile.Bytes(), "Unsupported file type (PNG image). " + pleaseUpload},
		{"ZIP", zipFile.Bytes(), "Unsupported file type (ZIP archive). " + pleaseUpload},
		{"PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"),
			"Unsupported file type (PDF document). " + pleaseUpload},
	}
}

// restOfFile stands for the bulk of a large file after its head: size
// zero bytes, made as the client sends them and counted.
type restOfFile struct {
	size int64
	sent atomic.Int64
}

func (r *restOfFile) Read(p []byte) (int, error) {
	left := r.size - r.sent.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	clear(p)
	r.sent.Add(int64(len(p)))
	return len(p), nil
}

// send is client.do with a body of known size, streamed as it is read.
func (c *client) send(t *testing.T, method, path string, body io.Reader, size int64, headers ...string) *response {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// lessonState is what a refused upload must leave as it was.
type lessonState struct {
	Status       lectern.LessonStatus
	Attempt      int
	SourceKey    string
	OutputPrefix string
	Stored       []string
	Jobs         int
}

func stateOf(t *testing.T, fx *fixture, lessonID string) lessonState {
	t.Helper()
	ctx := context.Background()
	l, err := fx.DB.FindLessonByID(ctx, lessonID)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := fx.DB.FindJobs(ctx, db.JobFilter{LessonID: &lessonID})
	if err != nil {
		t.Fatal(err)
	}
	return lessonState{Status: l.Status, Attempt: l.Attempt, SourceKey: l.SourceKey, OutputPrefix: l.OutputPrefix,
		Stored: fx.storedKeys(t, lessonID), Jobs: len(jobs)}
}

func wantMessage(t *testing.T, r *response, want string) {
	t.Helper()
	if got := r.wantError(http.StatusBadRequest, lectern.EINVALID); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestUploadSourceRefusesWhatIsNotARecording(t *testing.T) {
	const rest = 256 << 20 // what would follow the head
	forEachDB(t, func(t *testing.T, fx *fixture) {
		q := newTestQueue(t, fx)
		ts := newServer(t, fx, func(o *server.Options) { o.Jobs = q.Jobs })
		teacher, lessonID := newLessonFor(t, ts)
		path := "/api/v1/lessons/" + lessonID + "/source"
		// The lesson already has a recording; a refused upload must keep it.
		teacher.do(t, "PUT", path, fakeRecording("the first take")).want(http.StatusAccepted)
		before, tasks := stateOf(t, fx, lessonID), q.taskIDs(t)
		unchanged := func(t *testing.T) {
			t.Helper()
			if diff := cmp.Diff(before, stateOf(t, fx, lessonID)); diff != "" {
				t.Errorf("a refused upload changed the lesson (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(tasks, q.taskIDs(t)); diff != "" {
				t.Errorf("a refused upload queued a task (-before +after):\n%s", diff)
			}
		}

		for _, tt := range notRecordings(t) {
			t.Run(tt.name, func(t *testing.T) {
				body := &restOfFile{size: rest}
				r := teacher.send(t, "PUT", path, io.MultiReader(bytes.NewReader(tt.head), body), int64(len(tt.head))+rest)
				wantMessage(t, r, tt.message)
				if sent := body.sent.Load(); sent > rest/4 {
					t.Errorf("the client sent %d MiB of the rest before the answer, want it stopped early", sent>>20)
				}
				unchanged(t)
			})
		}
		t.Run("Empty", func(t *testing.T) {
			wantMessage(t, teacher.do(t, "PUT", path, ""), "The file is empty")
			wantMessage(t, teacher.do(t, "PUT", path, unsized{strings.NewReader("")}), "The file is empty")
			unchanged(t)
		})
	})
}

// tusHeaders are the headers of a tus PATCH at offset.
func tusHeaders(offset int64) []string {
	return []string{"Tus-Resumable", "1.0.0", "Upload-Offset", strconv.FormatInt(offset, 10),
		"Content-Type", "application/offset+octet-stream"}
}

func TestTusRefusesWhatIsNotARecording(t *testing.T) {
	const (
		declared = 1 << 30  // the file the client announces
		chunk    = 64 << 20 // the first PATCH's body
	)
	tusStores(t, 0, func(t *testing.T, ts *tusServer) {
		teacher, lessonID := newLessonFor(t, ts.testServer)
		teacher.do(t, "PUT", "/api/v1/lessons/"+lessonID+"/source", fakeRecording("the first take")).want(http.StatusAccepted)
		before := stateOf(t, ts.fixture, lessonID)
		c := tusClient{teacher}
		leavesNothing := func(t *testing.T) {
			t.Helper()
			if diff := cmp.Diff(before, stateOf(t, ts.fixture, lessonID)); diff != "" {
				t.Errorf("a refused upload changed the lesson (-before +after):\n%s", diff)
			}
			if left := ts.partials(t); len(left) > 0 {
				t.Errorf("a refused upload left %v", left)
			}
		}

		for _, tt := range notRecordings(t) {
			t.Run(tt.name, func(t *testing.T) {
				resp, url := c.create(t, lessonID, declared)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("create: %s", resp.Status)
				}
				rest := &restOfFile{size: chunk - int64(len(tt.head))}
				r := teacher.send(t, "PATCH", url, io.MultiReader(bytes.NewReader(tt.head), rest), chunk, tusHeaders(0)...)
				wantMessage(t, r, tt.message)
				if sent := rest.sent.Load(); sent > chunk/4 {
					t.Errorf("the client sent %d MiB of the first PATCH before the answer, want it stopped early", sent>>20)
				}
				// The upload is gone: there is nothing to send the rest to.
				if resp, _ := c.req(t, "HEAD", url, nil); resp.StatusCode != http.StatusNotFound {
					t.Errorf("HEAD of a refused upload: %s, want 404", resp.Status)
				}
				leavesNothing(t)
			})
		}
		t.Run("WholeSmallTextFile", func(t *testing.T) {
			note := "Bring a calculator on Monday.\n"
			_, url := c.create(t, lessonID, int64(len(note)))
			wantMessage(t, teacher.send(t, "PATCH", url, strings.NewReader(note), int64(len(note)), tusHeaders(0)...),
				"Unsupported file type (text). "+pleaseUpload)
			leavesNothing(t)
		})
		t.Run("TextInTheCreationRequest", func(t *testing.T) {
			meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lessonID))
			note := strings.Repeat("Bring a calculator on Monday.\n", 200)
			r := teacher.send(t, "POST", "/api/v1/uploads", strings.NewReader(note), int64(len(note)), "Tus-Resumable", "1.0.0",
				"Upload-Length", strconv.Itoa(declared), "Upload-Metadata", meta, "Content-Type", "application/offset+octet-stream")
			wantMessage(t, r, "Unsupported file type (text). "+pleaseUpload)
			leavesNothing(t)
		})
		t.Run("EmptyAtCreation", func(t *testing.T) {
			meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lessonID))
			r := teacher.send(t, "POST", "/api/v1/uploads", nil, 0, "Tus-Resumable", "1.0.0", "Upload-Length", "0", "Upload-Metadata", meta)
			wantMessage(t, r, "The file is empty")
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("an empty upload was created at %s", loc)
			}
			leavesNothing(t)
		})
		t.Run("EmptyOnceItsLengthIsDeclared", func(t *testing.T) {
			meta := "lesson_id " + base64.StdEncoding.EncodeToString([]byte(lessonID))
			r := teacher.send(t, "POST", "/api/v1/uploads", nil, 0, "Tus-Resumable", "1.0.0", "Upload-Defer-Length", "1", "Upload-Metadata", meta)
			url := r.want(http.StatusCreated).Header.Get("Location")
			wantMessage(t, teacher.send(t, "PATCH", url, nil, 0, append(tusHeaders(0), "Upload-Length", "0")...), "The file is empty")
			leavesNothing(t)
		})
	})
}

// Real recordings go through both routes and are transcoded, as before
// the head check.
func TestRealRecordingsStillUploadAndTranscode(t *testing.T) {
	ffmpeg, ffprobe := testenv.FFmpeg(t)
	dir := t.TempDir()
	clip := func(name string, codecs ...string) string {
		path := filepath.Join(dir, name)
		args := append([]string{"-hide_banner", "-nostdin", "-v", "error",
			"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
			"-f", "lavfi", "-i", "sine=frequency=440:duration=1"}, codecs...)
		if out, err := exec.Command(ffmpeg, append(args, "-y", path)...).CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", name, err, out)
		}
		return path
	}
	mp4 := clip("lesson.mp4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	webm := clip("lesson.webm", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus")

	tusStores(t, 0, func(t *testing.T, ts *tusServer) {
		worker := &transcode.Handler{DB: ts.DB, Storage: ts.Store, TempDir: t.TempDir(), Host: "test-worker",
			Pipeline: &transcode.Pipeline{FFmpeg: ffmpeg, FFprobe: ffprobe}}
		put := func(t *testing.T, c *client, lessonID string, data []byte) {
			c.do(t, "PUT", "/api/v1/lessons/"+lessonID+"/source", data, "Content-Type", "video/mp4").want(http.StatusAccepted)
		}
		resumable := func(t *testing.T, c *client, lessonID string, data []byte) {
			tc := tusClient{c}
			_, url := tc.create(t, lessonID, int64(len(data)))
			if resp, err := tc.patch(t, url, 0, bytes.NewReader(data)); err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH: %v %v", resp, err)
			}
		}
		for _, tt := range []struct {
			name   string
			path   string
			upload func(t *testing.T, c *client, lessonID string, data []byte)
		}{
			{"MP4OverPUT", mp4, put},
			{"WebMOverPUT", webm, put},
			{"MP4OverTus", mp4, resumable},
			{"WebMOverTus", webm, resumable},
		} {
			t.Run(tt.name, func(t *testing.T) {
				teacher, lessonID := newLessonFor(t, ts.testServer)
				data, err := os.ReadFile(tt.path)
				if err != nil {
					t.Fatal(err)
				}
				tt.upload(t, teacher, lessonID, data)
				if !bytes.Equal(sourceOf(t, ts.testServer, lessonID), data) {
					t.Fatalf("stored source differs from the file")
				}
				jobs, err := ts.DB.FindJobs(context.Background(), db.JobFilter{LessonID: &lessonID})
				if err != nil || len(jobs) != 1 {
					t.Fatalf("jobs = %v, %v; want one", jobs, err)
				}
				p := transcode.TranscodePayload{LessonID: lessonID, JobID: jobs[0].ID, Attempt: jobs[0].Attempt}
				if err := worker.ProcessTranscode(context.Background(), p, transcode.Delivery{}); err != nil {
					t.Fatalf("transcode: %v", err)
				}
				var l struct {
					Status     string
					DurationMS int64 `json:"duration_ms"`
					Renditions []any
				}
				teacher.do(t, "GET", "/api/v1/lessons/"+lessonID, nil).want(http.StatusOK).decode(&l)
				if l.Status != "ready" || l.DurationMS < 900 || l.DurationMS > 1100 || len(l.Renditions) == 0 {
					t.Errorf("lesson after the transcode = %+v, want ready, ≈1 s, with renditions", l)
				}
			})
		}
	})
}
