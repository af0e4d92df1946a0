package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const composeFile = "../docker-compose.yml"

// projectImage is the image docker-compose.yml builds from the Dockerfile.
const projectImage = "wfbench:local"

var wantServices = []string{"api", "driver", "faktory", "nginx", "toxiproxy", "worker"}

type service struct {
	Image         string            `yaml:"image"`
	Build         any               `yaml:"build"`
	ContainerName string            `yaml:"container_name"`
	Command       []string          `yaml:"command"`
	Environment   map[string]string `yaml:"environment"`
	Ports         []any             `yaml:"ports"`
	Profiles      []string          `yaml:"profiles"`
	Volumes       []any             `yaml:"volumes"`
	Healthcheck   *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn   map[string]any `yaml:"depends_on"`
	NetworkMode string         `yaml:"network_mode"`
}

// compose runs docker-compose (or `docker compose`) on the file; no engine is needed for
// config. Variables the file interpolates are removed from the environment, so that it
// is checked with its own defaults.
func compose(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var argv []string
	if p, err := exec.LookPath("docker-compose"); err == nil {
		argv = []string{p}
	} else if p, err := exec.LookPath("docker"); err == nil && exec.Command(p, "compose", "version").Run() == nil {
		argv = []string{p, "compose"}
	} else {
		t.Skip("docker-compose is not on PATH (make test installs it: scripts/setup.sh); the compose file is not checked")
	}
	cmd := exec.Command(argv[0], append(append(argv[1:], "-f", composeFile), args...)...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "COMPOSE_") && !strings.HasPrefix(name, "WFBENCH_") && !slices.Contains(interpolated, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// interpolated are the part knobs docker-compose.yml takes from the shell.
var interpolated = []string{"API_TOKEN", "API_ENQUEUE_MODE", "FAKTORY_POOL_SIZE", "FAKTORY_MAX_BATCH_SIZE",
	"FLUSH_INTERVAL", "WORKER_POLL", "WORKER_CONCURRENCY", "WORKER_POLL_INTERVAL", "WORKER_RATE"}

func config(t *testing.T) map[string]service {
	t.Helper()
	out, stderr := compose(t, "config")
	if strings.Contains(stderr, "is not set") { // a ${VAR} without a default
		t.Errorf("docker-compose config warns:\n%s", stderr)
	}
	var doc struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("docker-compose config's output: %v\n%s", err, out)
	}
	return doc.Services
}

func TestComposeServices(t *testing.T) {
	out, _ := compose(t, "config", "--services")
	got := strings.Fields(out)
	slices.Sort(got)
	if !slices.Equal(got, wantServices) {
		t.Errorf("services: got %v, want %v", got, wantServices)
	}
}

func TestComposeFile(t *testing.T) {
	svc := config(t)
	for _, name := range wantServices {
		if _, ok := svc[name]; !ok {
			t.Fatalf("service %s missing from docker-compose config", name)
		}
	}
	// --scale worker=N needs containers compose can name and ports that do not collide.
	if w := svc["worker"]; w.ContainerName != "" || len(w.Ports) > 0 {
		t.Errorf("worker: container_name %q, ports %v: neither may be set, or --scale worker=N fails", w.ContainerName, w.Ports)
	}
	if a := svc["api"]; a.ContainerName != "" || len(a.Ports) > 0 {
		t.Errorf("api: container_name %q, ports %v: the replicas are reached through nginx", a.ContainerName, a.Ports)
	}
	for _, name := range []string{"faktory", "toxiproxy", "nginx"} {
		img := svc[name].Image
		if _, tag, ok := strings.Cut(img, ":"); !ok || tag == "latest" || !regexp.MustCompile(`^\d+\.\d+`).MatchString(tag) {
			t.Errorf("%s: image %q is not pinned to a release", name, img)
		}
	}
	for _, name := range []string{"api", "worker", "driver"} {
		if s := svc[name]; s.Image != projectImage || s.Build == nil {
			t.Errorf("%s: image %q, build %v: want the project's image built from the Dockerfile", name, s.Image, s.Build)
		}
	}
	for _, name := range []string{"faktory", "toxiproxy", "api", "nginx"} {
		if hc := svc[name].Healthcheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	d := svc["driver"]
	if !slices.Contains(d.Profiles, "driver") {
		t.Errorf("driver: profiles %v: want it under the driver profile, so that up does not run it", d.Profiles)
	}
	// The toxiproxy server dials a link's upstream itself: what a run starts on its own
	// loopback (its API, an embedded Faktory) is reachable from it only in one namespace.
	if d.NetworkMode != "service:toxiproxy" {
		t.Errorf("driver: network_mode %q, want service:toxiproxy", d.NetworkMode)
	}
	for _, want := range []string{"run", "--netem=toxiproxy-external", "--toxiproxy-url=http://127.0.0.1:8474",
		"--api-url=http://nginx:80", "--faktory-url=tcp://faktory:7419"} {
		if !slices.Contains(d.Command, want) {
			t.Errorf("driver: command %q lacks %s", d.Command, want)
		}
	}
	if !slices.ContainsFunc(d.Volumes, func(v any) bool { return strings.Contains(volumeTarget(v), "/work/wfbench-results") }) {
		t.Errorf("driver: volumes %v: want the results folder (/work/wfbench-results) mounted", d.Volumes)
	}
	for _, dep := range []string{"faktory", "toxiproxy", "nginx"} {
		if _, ok := d.DependsOn[dep]; !ok {
			t.Errorf("driver: depends_on %v lacks %s", d.DependsOn, dep)
		}
	}
	for _, name := range []string{"api", "worker"} {
		if got := svc[name].Environment["FAKTORY_URL"]; got != "tcp://faktory:7419" {
			t.Errorf("%s: FAKTORY_URL %q, want tcp://faktory:7419", name, got)
		}
	}
	if !slices.ContainsFunc(svc["nginx"].Volumes, func(v any) bool {
		return strings.HasSuffix(volumeSource(v), "deploy/nginx.conf") && volumeTarget(v) == "/etc/nginx/nginx.conf"
	}) {
		t.Errorf("nginx: volumes %v: want deploy/nginx.conf mounted as /etc/nginx/nginx.conf", svc["nginx"].Volumes)
	}
}

// volumeSource and volumeTarget read a volume in either form config prints: short
// ("src:dst[:mode]") or long ({source, target}).
func volumeSource(v any) string {
	switch v := v.(type) {
	case string:
		src, _, _ := strings.Cut(v, ":")
		return src
	case map[string]any:
		s, _ := v["source"].(string)
		return s
	}
	return ""
}

func volumeTarget(v any) string {
	switch v := v.(type) {
	case string:
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			return parts[0]
		}
		return parts[1]
	case map[string]any:
		s, _ := v["target"].(string)
		return s
	}
	return ""
}

// TestNginxKeepalive checks the reverse proxy keeps a pool of open connections to the
// API replicas: an upstream with keepalive, spoken to in HTTP/1.1 without
// "Connection: close".
func TestNginxKeepalive(t *testing.T) {
	b, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := stripComments(string(b))
	up := regexp.MustCompile(`(?s)upstream\s+(\S+)\s*\{(.*?)\}`).FindStringSubmatch(conf)
	if up == nil {
		t.Fatal("nginx.conf: no upstream block")
	}
	name, block := up[1], up[2]
	if m := regexp.MustCompile(`(?m)^\s*keepalive\s+([1-9]\d*)\s*;`).FindStringSubmatch(block); m == nil {
		t.Errorf("nginx.conf: upstream %s has no keepalive pool (keepalive N;)", name)
	}
	if !regexp.MustCompile(`(?m)^\s*server\s+api:8080\b`).MatchString(block) {
		t.Errorf("nginx.conf: upstream %s does not name the api service's port (server api:8080)", name)
	}
	for _, want := range []string{
		`proxy_pass\s+http://` + regexp.QuoteMeta(name) + `\s*;`,
		`proxy_http_version\s+1\.1\s*;`,
		`proxy_set_header\s+Connection\s+""\s*;`,
		`listen\s+80\s*;`, // the port the driver's --api-url names
	} {
		if !regexp.MustCompile(want).MatchString(conf) {
			t.Errorf("nginx.conf lacks %s", want)
		}
	}
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(s, "")
}

// TestComposeFlagsExist checks that every flag the file passes to wfbench, and every
// variable it sets for it, is one wfbench has: it builds wfbench and reads its help.
func TestComposeFlagsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wfbench")
	}
	svc := config(t)
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "wfbench")
	if out, err := exec.Command(gotool, "build", "-o", bin, "../cmd/wfbench").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/wfbench: %v\n%s", err, out)
	}
	help := map[string]string{}
	helpOf := func(sub string) string {
		if h, ok := help[sub]; ok {
			return h
		}
		out, err := exec.Command(bin, sub, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("wfbench %s --help: %v\n%s", sub, err, out)
		}
		help[sub] = string(out)
		return help[sub]
	}
	for name, s := range svc {
		if s.Image != projectImage {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("%s: no command", name)
			continue
		}
		h := helpOf(s.Command[0])
		for _, arg := range s.Command[1:] {
			if !strings.HasPrefix(arg, "--") {
				continue
			}
			flag, _, _ := strings.Cut(arg, "=")
			if !strings.Contains(h, flag+" ") {
				t.Errorf("%s: wfbench %s has no flag %s", name, s.Command[0], flag)
			}
		}
		for v := range s.Environment {
			// serve's help lists every variable it reads; run reads API_TOKEN alone.
			if !strings.Contains(h, v) {
				t.Errorf("%s: wfbench %s does not read %s", name, s.Command[0], v)
			}
		}
	}
}
