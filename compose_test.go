package lectern_test

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

// composeKnownVars returns the configuration variables the lectern binary
// reads: the README's configuration table.
func composeKnownVars() []string {
	return []string{
		"LECTERN_ADDR", "LECTERN_DATA_DIR", "LECTERN_DATABASE_URL", "LECTERN_REDIS_URL",
		"LECTERN_S3_ENDPOINT", "LECTERN_S3_ACCESS_KEY", "LECTERN_S3_SECRET_KEY",
		"LECTERN_S3_BUCKET", "LECTERN_S3_REGION", "LECTERN_S3_USE_SSL", "LECTERN_SECRET",
		"LECTERN_FFMPEG", "LECTERN_FFPROBE", "LECTERN_WORKER_CONCURRENCY",
		"LECTERN_MAX_UPLOAD_BYTES", "LECTERN_ADMIN_EMAIL", "LECTERN_ADMIN_PASSWORD",
		"LECTERN_PUBLIC_URL", "LECTERN_TRUSTED_PROXIES", "LECTERN_LOG_FORMAT",
		"LECTERN_SHUTDOWN_TIMEOUT", "LECTERN_METRICS_ADDR", "LECTERN_RECONCILE_INTERVAL",
		"LECTERN_JOB_DEADLINE", "LECTERN_STALL_TIMEOUT",
	}
}

// composeRequiredEnv is what an operator must put in .env before
// `docker compose up`.
func composeRequiredEnv() map[string]string {
	return map[string]string{
		"LECTERN_SECRET":         strings.Repeat("s", 64),
		"LECTERN_ADMIN_EMAIL":    "admin@example.org",
		"LECTERN_ADMIN_PASSWORD": "correct horse battery",
	}
}

// composeEnvs are the environments the compose file is checked under: the
// required values alone (every "change me" default in use), and an operator
// who changed every default.
func composeEnvs() map[string]map[string]string {
	custom := composeRequiredEnv()
	custom["POSTGRES_PASSWORD"] = "pg-pass-4f1c"
	custom["MINIO_ROOT_USER"] = "minio-user-9a2b"
	custom["MINIO_ROOT_PASSWORD"] = "minio-pass-77d0"
	custom["LECTERN_PUBLIC_URL"] = "https://lectern.example.org"
	return map[string]map[string]string{"Defaults": composeRequiredEnv(), "Custom": custom}
}

// loadCompose loads docker-compose.yml the way `docker compose` does, with
// env as the only environment (neither the process's nor a .env file).
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"},
		cli.WithWorkingDirectory("."), cli.WithEnv(list))
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func composeService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no %q service", name)
	}
	return s
}

// composeEnv returns a service's environment with unset values as "".
func composeEnv(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		} else {
			env[k] = ""
		}
	}
	return env
}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t, composeRequiredEnv())

	t.Run("AllServicesPresent", func(t *testing.T) {
		var got []string
		for name := range p.Services {
			got = append(got, name)
		}
		slices.Sort(got)
		want := []string{"api", "minio", "minio-init", "postgres", "redis", "worker"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
	})
	t.Run("APIAndWorkerModes", func(t *testing.T) {
		for name, want := range map[string][]string{"api": {"api"}, "worker": {"worker"}} {
			s := composeService(t, p, name)
			if diff := cmp.Diff(want, []string(s.Command)); diff != "" {
				t.Errorf("%s command (-want +got):\n%s", name, diff)
			}
			if s.Build == nil && s.Image == "" {
				t.Errorf("%s has neither build nor image", name)
			}
		}
	})
	t.Run("SeveralWorkers", func(t *testing.T) {
		w := composeService(t, p, "worker")
		if n := w.GetScale(); n < 2 {
			t.Errorf("worker runs %d replicas, want at least 2 (deploy.replicas)", n)
		}
	})
	t.Run("RedisKeepsTheQueue", func(t *testing.T) {
		cmd := strings.Join(composeService(t, p, "redis").Command, " ")
		for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("redis command %q lacks %q", cmd, want)
			}
		}
	})
	t.Run("StatefulServicesHaveVolumeAndHealthcheck", func(t *testing.T) {
		for _, name := range []string{"postgres", "redis", "minio"} {
			s := composeService(t, p, name)
			if !composeHasNamedVolume(p, s) {
				t.Errorf("%s keeps its data in no named volume: %+v", name, s.Volumes)
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Errorf("%s has no healthcheck", name)
			}
		}
	})
}

func composeHasNamedVolume(p *types.Project, s types.ServiceConfig) bool {
	for _, v := range s.Volumes {
		if _, ok := p.Volumes[v.Source]; ok && v.Type == types.VolumeTypeVolume {
			return true
		}
	}
	return false
}

func TestComposeStartOrder(t *testing.T) {
	p := mustLoadCompose(t, composeRequiredEnv())
	want := map[string]string{
		"postgres":   types.ServiceConditionHealthy,
		"redis":      types.ServiceConditionHealthy,
		"minio":      types.ServiceConditionHealthy,
		"minio-init": types.ServiceConditionCompletedSuccessfully,
	}
	for _, name := range []string{"api", "worker"} {
		t.Run(name, func(t *testing.T) {
			deps := composeService(t, p, name).DependsOn
			for dep, cond := range want {
				if got := deps[dep].Condition; got != cond {
					t.Errorf("%s depends_on %s: condition %q, want %q", name, dep, got, cond)
				}
			}
		})
	}
	t.Run("APIHealthIsReadiness", func(t *testing.T) {
		api := composeService(t, p, "api")
		if api.HealthCheck == nil || !strings.Contains(strings.Join(api.HealthCheck.Test, " "), "/readyz") {
			t.Errorf("api healthcheck does not ask /readyz: %+v", api.HealthCheck)
		}
		published := false
		for _, port := range api.Ports {
			published = published || (port.Target == 8080 && port.Published != "")
		}
		if !published {
			t.Errorf("api does not publish port 8080: %+v", api.Ports)
		}
	})
}

func TestComposeServiceConfig(t *testing.T) {
	for envName, env := range composeEnvs() {
		t.Run(envName, func(t *testing.T) {
			p := mustLoadCompose(t, env)
			api := composeEnv(composeService(t, p, "api"))
			worker := composeEnv(composeService(t, p, "worker"))
			t.Run("APIAndWorkerAgree", func(t *testing.T) {
				for _, k := range []string{
					"LECTERN_DATABASE_URL", "LECTERN_REDIS_URL", "LECTERN_S3_ENDPOINT",
					"LECTERN_S3_ACCESS_KEY", "LECTERN_S3_SECRET_KEY", "LECTERN_S3_BUCKET",
					"LECTERN_S3_USE_SSL", "LECTERN_SECRET",
				} {
					if api[k] == "" {
						t.Errorf("api: %s is not set", k)
					}
					if api[k] != worker[k] {
						t.Errorf("%s differs: api %q, worker %q", k, api[k], worker[k])
					}
				}
			})
			t.Run("PointsAtTheStack", func(t *testing.T) {
				composeCheckDatabaseURL(t, api["LECTERN_DATABASE_URL"], composeEnv(composeService(t, p, "postgres")))
				composeCheckS3(t, api, composeService(t, p, "minio"), composeService(t, p, "minio-init"))
				if u, err := url.Parse(api["LECTERN_REDIS_URL"]); err != nil || u.Scheme != "redis" || u.Hostname() != "redis" {
					t.Errorf("LECTERN_REDIS_URL = %q, want redis://redis:…", api["LECTERN_REDIS_URL"])
				}
				if got, want := api["LECTERN_SECRET"], env["LECTERN_SECRET"]; got != want {
					t.Errorf("LECTERN_SECRET = %q, want the operator's %q", got, want)
				}
			})
			t.Run("AdminFromOperator", func(t *testing.T) {
				for _, k := range []string{"LECTERN_ADMIN_EMAIL", "LECTERN_ADMIN_PASSWORD"} {
					if api[k] != env[k] {
						t.Errorf("api %s = %q, want the operator's %q", k, api[k], env[k])
					}
				}
			})
		})
	}
}

// composeCheckDatabaseURL checks that the URL Lectern is given reaches the
// postgres service with the user, password and database it creates.
func composeCheckDatabaseURL(t *testing.T, raw string, pg map[string]string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("LECTERN_DATABASE_URL %q: %v", raw, err)
	}
	pass, _ := u.User.Password()
	got := []string{u.Scheme, u.Hostname(), u.User.Username(), pass, strings.TrimPrefix(u.Path, "/")}
	want := []string{"postgres", "postgres", pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LECTERN_DATABASE_URL vs postgres service [scheme host user password db] (-want +got):\n%s", diff)
	}
}

// composeCheckS3 checks that Lectern's S3 settings reach the minio service
// with its root credentials, and that minio-init creates Lectern's bucket.
func composeCheckS3(t *testing.T, lectern map[string]string, minio, initSvc types.ServiceConfig) {
	t.Helper()
	m := composeEnv(minio)
	got := []string{lectern["LECTERN_S3_ENDPOINT"], lectern["LECTERN_S3_ACCESS_KEY"], lectern["LECTERN_S3_SECRET_KEY"]}
	want := []string{"minio:9000", m["MINIO_ROOT_USER"], m["MINIO_ROOT_PASSWORD"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LECTERN_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY vs minio service (-want +got):\n%s", diff)
	}
	i := composeEnv(initSvc)
	if i["MINIO_ROOT_USER"] != m["MINIO_ROOT_USER"] || i["MINIO_ROOT_PASSWORD"] != m["MINIO_ROOT_PASSWORD"] {
		t.Errorf("minio-init credentials differ from minio's")
	}
	if bucket := lectern["LECTERN_S3_BUCKET"]; i["BUCKET"] != bucket {
		t.Errorf("minio-init creates bucket %q, Lectern uses %q", i["BUCKET"], bucket)
	}
	if script := strings.Join(initSvc.Command, " "); !strings.Contains(script, "mc mb") || !strings.Contains(script, "$BUCKET") {
		t.Errorf("minio-init does not create $BUCKET: %q", script)
	}
}

func TestComposeRequiresSecrets(t *testing.T) {
	for name := range composeRequiredEnv() {
		t.Run(name, func(t *testing.T) {
			env := composeRequiredEnv()
			delete(env, name)
			_, err := loadCompose(t, env)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("loading without %s: error %v, want one naming %s", name, err, name)
			}
		})
	}
}

func TestComposeUsesOnlyKnownVariables(t *testing.T) {
	known := composeKnownVars()
	p := mustLoadCompose(t, composeRequiredEnv())
	for name, s := range p.Services {
		for k := range s.Environment {
			if strings.HasPrefix(k, "LECTERN_") && !slices.Contains(known, k) {
				t.Errorf("service %s sets %s, which lectern does not read", name, k)
			}
		}
	}
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`\$\{(LECTERN_[A-Z0-9_]+)`).FindAllStringSubmatch(string(raw), -1)
	if len(refs) == 0 {
		t.Fatal("docker-compose.yml interpolates no LECTERN_ variable; the pattern is stale")
	}
	for _, m := range refs {
		if !slices.Contains(known, m[1]) {
			t.Errorf("docker-compose.yml interpolates ${%s}, which lectern does not read", m[1])
		}
	}
}

// readmeTestCommand is the command the README gives for the tests.
const readmeTestCommand = "go test -timeout 30m ./..."

func TestREADMEDocumentsConfiguration(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, v := range composeKnownVars() {
		if !strings.Contains(readme, "| "+v) && !strings.Contains(readme, "/ "+v+" |") {
			t.Errorf("README.md's configuration table lacks %s", v)
		}
	}
	lines := strings.Split(readme, "\n")
	for _, cmd := range []string{"go run ./cmd/lectern serve", readmeTestCommand} {
		if !strings.Contains(readme, "`"+cmd+"`") && !slices.Contains(lines, cmd) {
			t.Errorf("README.md does not give the command `%s`", cmd)
		}
	}
	// CI runs the README's test command, not one of its own.
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(ci), "\n"), readmeTestCommand) {
		t.Errorf(".ci/run does not run the README's test command %q", readmeTestCommand)
	}
}

// dockerInstruction is one Dockerfile instruction, continuation lines joined.
type dockerInstruction struct {
	Cmd  string // upper case: FROM, RUN, USER, …
	Args string
}

// dockerRuntimeStage parses the Dockerfile and returns the instructions of
// its last stage: the image that is shipped.
func dockerRuntimeStage(t *testing.T) []dockerInstruction {
	t.Helper()
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var all []dockerInstruction
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
		if strings.HasSuffix(trimmed, "\\") {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		all = append(all, dockerInstruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Cmd == "FROM" {
			return all[i:]
		}
	}
	t.Fatal("Dockerfile has no FROM")
	return nil
}

func TestDockerfile(t *testing.T) {
	stage := dockerRuntimeStage(t)
	find := func(cmd string) []string {
		var args []string
		for _, i := range stage {
			if i.Cmd == cmd {
				args = append(args, i.Args)
			}
		}
		return args
	}
	t.Run("RuntimeInstallsFFmpeg", func(t *testing.T) {
		ok := slices.ContainsFunc(find("RUN"), func(run string) bool {
			return strings.Contains(run, "apt-get install") && slices.Contains(strings.Fields(run), "ffmpeg")
		})
		if !ok {
			t.Errorf("the runtime stage installs no ffmpeg: %q", find("RUN"))
		}
	})
	t.Run("RunsAsNonRoot", func(t *testing.T) {
		users := find("USER")
		if len(users) == 0 {
			t.Fatal("the runtime stage sets no USER: it would run as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1], ":")
		if user == "root" || user == "0" {
			t.Errorf("the runtime stage runs as %q", users[len(users)-1])
		}
	})
	t.Run("ComposeCommandsReachTheBinary", func(t *testing.T) {
		got := []string{strings.Join(find("ENTRYPOINT"), ";"), strings.Join(find("CMD"), ";")}
		want := []string{`["lectern"]`, `["serve"]`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ENTRYPOINT, CMD (-want +got):\n%s", diff)
		}
	})
}
