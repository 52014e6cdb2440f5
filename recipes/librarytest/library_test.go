package librarytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/bakehq/bake/bake"
	dockerbuilder "github.com/bakehq/bake/builders/docker"
	dockercomm "github.com/bakehq/bake/communicators/docker"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/provisioners/recipe"
	"github.com/bakehq/bake/recipes"
)

const baseImage = "localbase/debian:bookworm"

// testLabel marks every container and image these tests make.
const testLabel = "bake.test"

// libraryCase bakes one built-in recipe and proves its service works.
type libraryCase struct {
	recipe   string
	params   string            // the HCL object given as params
	files    map[string]string // files of the bake directory (the node app)
	services bool              // the image runs bake-services
	ports    []string          // container ports published on 127.0.0.1
	check    func(t *testing.T, ctx context.Context, h *harness, ports map[string]string)
}

var libraryCases = []libraryCase{
	{recipe: "nginx", services: true, ports: []string{"80"},
		check: func(t *testing.T, ctx context.Context, h *harness, ports map[string]string) {
			h.httpGet(t, ctx, "http://127.0.0.1:"+ports["80"]+"/", "nginx, baked by bake")
			h.stopsOnTerm(t, ctx)
		}},
	{recipe: "tomcat", services: true, ports: []string{"8080"},
		check: func(t *testing.T, ctx context.Context, h *harness, ports map[string]string) {
			h.httpGet(t, ctx, "http://127.0.0.1:"+ports["8080"]+"/", "tomcat, baked by bake")
		}},
	{recipe: "haproxy", services: true, ports: []string{"80"}, params: `{ backends = ["127.0.0.1:9000"] }`,
		check: func(t *testing.T, ctx context.Context, h *harness, ports map[string]string) {
			// The backend: a second haproxy in the same container that
			// answers every request itself.
			backend := `printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\nfrontend b\n  bind 127.0.0.1:9000\n  http-request return status 200 content-type text/plain string backend-ok\n' >/tmp/backend.cfg
exec haproxy -db -f /tmp/backend.cfg </dev/null >/tmp/backend.log 2>&1`
			h.execDetached(t, ctx, backend)
			h.httpGet(t, ctx, "http://127.0.0.1:"+ports["80"]+"/", "backend-ok")
		}},
	{recipe: "memcached", services: true,
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			h.execUntil(t, ctx, `exec 3<>/dev/tcp/127.0.0.1/11211 && printf 'stats\r\nquit\r\n' >&3 && timeout 5 cat <&3`, "STAT pid", "bash")
		}},
	{recipe: "redis", services: true,
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			h.execUntil(t, ctx, "redis-cli ping", "PONG", "")
		}},
	{recipe: "mariadb", services: true,
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			h.execUntil(t, ctx, "mariadb -N -e 'SELECT 1'", "1", "")
		}},
	{recipe: "nodejs", services: true, ports: []string{"3000"}, params: `{ app_source = "app", port = 3000 }`,
		files: map[string]string{"app/server.js": `require("http").createServer((req, res) => res.end("node app on port " + process.env.PORT + "\n")).listen(process.env.PORT);` + "\n"},
		check: func(t *testing.T, ctx context.Context, h *harness, ports map[string]string) {
			h.httpGet(t, ctx, "http://127.0.0.1:"+ports["3000"]+"/", "node app on port 3000")
		}},
	{recipe: "php-fpm", services: true, ports: []string{"80"},
		check: func(t *testing.T, ctx context.Context, h *harness, ports map[string]string) {
			h.httpGet(t, ctx, "http://127.0.0.1:"+ports["80"]+"/index.php", "php-fpm 8.2")
		}},
	{recipe: "java",
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			h.execUntil(t, ctx, "java -version 2>&1", "openjdk version", "")
		}},
	{recipe: "base", params: `{ timezone = "Europe/Berlin", admins = ["alice"], admin_keys = { alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBakeTestKeyOnlyForTestsXXXXXXXXXXXXXXXXXXXX alice@test" } }`,
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			h.execUntil(t, ctx, "cat /etc/timezone; date +%Z", "Europe/Berlin", "")
			h.execUntil(t, ctx, "id -nG alice", "sudo", "")
			h.execUntil(t, ctx, "stat -c '%a %U' /home/alice/.ssh/authorized_keys", "600 alice", "")
			h.execUntil(t, ctx, "mkdir -p /run/sshd && ssh-keygen -A >/dev/null && sshd -t && sshd -T | grep -x 'passwordauthentication no'", "passwordauthentication no", "")
			h.execUntil(t, ctx, "sshd -T | grep -x 'permitrootlogin no'", "permitrootlogin no", "")
		}},
	{recipe: "security-patches",
		check: func(t *testing.T, ctx context.Context, h *harness, _ map[string]string) {
			if _, ok := h.first.Facts["packages_upgraded"]; !ok {
				t.Errorf("the first apply reported no packages_upgraded fact; facts: %v", h.first.Facts)
			}
			if got := h.second.Facts["packages_upgraded"]; got != "0" {
				t.Errorf("applying again: packages_upgraded = %q, want 0", got)
			}
		}},
}

// TestLibraryBakes bakes an image with each built-in recipe through the
// docker builder, starts a container from it, applies the recipe again
// there (it must change nothing) and proves the service answers.
func TestLibraryBakes(t *testing.T) {
	if testing.Short() {
		t.Skip("bakes images with apt-get: not in -short")
	}
	api := dockerAPI(t)
	proxy := aptProxy(t)
	lib, err := recipes.NewLibrary()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range libraryCases {
		covered[c.recipe] = true
	}
	for _, r := range lib.Recipes() {
		if r.Builtin && !covered[r.Name] {
			t.Errorf("built-in recipe %s has no bake test in libraryCases", r.Name)
		}
	}
	limit := make(chan struct{}, parallelism())
	for _, c := range libraryCases {
		t.Run(c.recipe, func(t *testing.T) {
			t.Parallel()
			select {
			case limit <- struct{}{}:
			case <-rootCtx.Done():
				t.Skip("interrupted")
			}
			defer func() { <-limit }()
			ctx, cancel := context.WithTimeout(rootCtx, 12*time.Minute)
			defer cancel()
			h := &harness{api: api, proxy: proxy, log: &testLog{}}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("output of %s (last lines):\n%s", c.recipe, h.log.tail())
				}
			})
			h.bake(t, ctx, c)
		})
	}
}

func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("BAKE_TEST_RECIPES_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 4
}

type harness struct {
	api    *client.Client
	proxy  string
	log    *testLog
	id     string // the container started from the baked image
	first  *recipe.Result
	second *recipe.Result
}

func (h *harness) bake(t *testing.T, ctx context.Context, c libraryCase) {
	dir := t.TempDir()
	for name, content := range c.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf("image = %q\npull = false\nrepository = \"bake-test/recipe-%s\"\n", baseImage, c.recipe)
	if c.services {
		src += `changes = ["CMD [\"/usr/local/sbin/bake-services\"]"]` + "\n"
	}
	b, diags := dockerbuilder.New(bake.DecodeContext{Body: hclBody(t, src), Name: "recipe-" + c.recipe, RunUUID: runUUID, Dir: dir})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	params := c.params
	if params == "" {
		params = "{}"
	}
	prov := fmt.Sprintf("name = %q\nparams = %s\n", c.recipe, params)
	if h.proxy != "" {
		prov += fmt.Sprintf("env = { http_proxy = %q }\n", h.proxy)
	}
	p, diags := recipe.New(bake.DecodeContext{Body: hclBody(t, prov), Dir: dir, Name: "recipe", RunUUID: runUUID})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rp := p.(*recipe.Provisioner)
	log := bake.Log{R: h.log, Source: c.recipe}

	base, err := b.Resolve(ctx)
	if err != nil {
		testenv.SkipOrFail(t, "base image %s is not here (run hack/base-image.sh): %v", baseImage, err)
	}
	m, err := b.Boot(ctx, base, log)
	if m != nil {
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := m.Destroy(cctx); err != nil {
				t.Errorf("destroy build container: %v", err)
			}
		}()
	}
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	start := time.Now()
	h.first, err = recipe.Apply(ctx, m.Communicator(), rp.Script, rp.Env, log)
	if err != nil {
		t.Fatalf("apply %s: %v", c.recipe, err)
	}
	t.Logf("%s: first apply changed %d of %d resources in %s", c.recipe, len(h.first.Changed), h.first.Resources(), time.Since(start).Round(time.Millisecond))
	if len(h.first.Changed) == 0 {
		t.Errorf("the first apply changed nothing")
	}
	if c.services && h.first.ImageCmd != "/usr/local/sbin/bake-services" {
		t.Errorf("image-cmd = %q, want /usr/local/sbin/bake-services", h.first.ImageCmd)
	}
	art, err := m.Capture(ctx, bake.ArtifactMeta{Name: "recipe-" + c.recipe, Version: "t" + runUUID[:8], RunUUID: runUUID,
		Labels: map[string]string{testLabel: "recipes", runLabel: runUUID}}, log)
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := h.api.ImageRemove(cctx, art.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove image %s: %v", art.ID, err)
		}
	})

	ports := h.run(t, ctx, art.ID, c)
	start = time.Now()
	h.second, err = recipe.Apply(ctx, dockercomm.New(h.api, h.id, ""), rp.Script, rp.Env, log)
	if err != nil {
		t.Fatalf("apply %s again: %v", c.recipe, err)
	}
	t.Logf("%s: applying again took %s", c.recipe, time.Since(start).Round(time.Millisecond))
	if len(h.second.Changed) != 0 {
		t.Errorf("applying %s to the baked image changed %v; want no change", c.recipe, h.second.Changed)
	}
	c.check(t, ctx, h, ports)
}

// run starts a container from img with its own command (or sleep, when
// it has no service) and returns the host ports of c.ports.
func (h *harness) run(t *testing.T, ctx context.Context, img string, c libraryCase) map[string]string {
	cfg := &container.Config{Image: img, Labels: map[string]string{testLabel: "recipes", runLabel: runUUID}, ExposedPorts: nat.PortSet{}}
	if !c.services {
		cfg.Cmd = []string{"sleep", "infinity"}
	}
	// bake-services runs as PID 1, as it does in production; sleep needs
	// an init to stop.
	hc := &container.HostConfig{PortBindings: nat.PortMap{}, Init: boolPtr(!c.services)}
	for _, p := range c.ports {
		port := nat.Port(p + "/tcp")
		cfg.ExposedPorts[port] = struct{}{}
		hc.PortBindings[port] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: "0"}}
	}
	created, err := h.api.ContainerCreate(ctx, cfg, hc, nil, nil, "")
	if err != nil {
		t.Fatalf("create container from %s: %v", img, err)
	}
	h.id = created.ID
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if t.Failed() {
			if rc, err := h.api.ContainerLogs(cctx, h.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "40"}); err == nil {
				var b bytes.Buffer
				_, _ = io.Copy(&b, rc)
				rc.Close()
				t.Logf("container logs:\n%s", b.String())
			}
		}
		if err := h.api.ContainerRemove(cctx, h.id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove container: %v", err)
		}
	})
	if err := h.api.ContainerStart(ctx, h.id, container.StartOptions{}); err != nil {
		t.Fatalf("start container from %s: %v", img, err)
	}
	insp, err := h.api.ContainerInspect(ctx, h.id)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	for _, p := range c.ports {
		b := insp.NetworkSettings.Ports[nat.Port(p+"/tcp")]
		if len(b) == 0 {
			t.Fatalf("port %s was not published", p)
		}
		ports[p] = b[0].HostPort
	}
	return ports
}

func boolPtr(b bool) *bool { return &b }

// stopsOnTerm: docker stop ends the container through bake-services'
// SIGTERM handling, well before the engine's SIGKILL.
func (h *harness) stopsOnTerm(t *testing.T, ctx context.Context) {
	t.Helper()
	timeout := 20
	start := time.Now()
	if err := h.api.ContainerStop(ctx, h.id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("stop container: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("docker stop took %s: bake-services did not stop on SIGTERM", took.Round(time.Millisecond))
	}
	insp, err := h.api.ContainerInspect(ctx, h.id)
	if err != nil {
		t.Fatal(err)
	}
	if insp.State.ExitCode != 143 {
		t.Errorf("exit code after docker stop = %d, want 143 (SIGTERM handled)", insp.State.ExitCode)
	}
}

// httpGet polls url (for up to 90 s: tomcat takes a while) until its body
// holds want.
func (h *harness) httpGet(t *testing.T, ctx context.Context, url, want string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	cl := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := cl.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			last = fmt.Sprintf("%s: %s", resp.Status, body)
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("GET %s never answered with %q; last: %s", url, want, last)
}

// execUntil runs command in the container until its output holds want
// (for up to 90 s, while the service starts).
func (h *harness) execUntil(t *testing.T, ctx context.Context, command, want, shell string) {
	t.Helper()
	if shell != "" {
		command = shell + " -c " + bake.ShellQuote(command)
	}
	comm := dockercomm.New(h.api, h.id, "")
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var out bytes.Buffer
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		code, err := comm.Run(cctx, &bake.RemoteCmd{Command: command, Stdout: &out, Stderr: &out})
		cancel()
		last = fmt.Sprintf("exit %d, err %v: %s", code, err, out.String())
		if err == nil && code == 0 && strings.Contains(out.String(), want) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("%s never printed %q; last: %s", command, want, last)
}

func (h *harness) execDetached(t *testing.T, ctx context.Context, script string) {
	t.Helper()
	comm := dockercomm.New(h.api, h.id, "")
	code, err := comm.Run(ctx, &bake.RemoteCmd{Command: "nohup sh -c " + bake.ShellQuote(script) + " >/dev/null 2>&1 &"})
	if err != nil || code != 0 {
		t.Fatalf("start %q: exit %d, %v", script, code, err)
	}
}

func hclBody(t *testing.T, src string) hcl.Body {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %v", src, diags)
	}
	return f.Body
}

// dockerAPI connects to the engine or skips the test.
func dockerAPI(t *testing.T) *client.Client {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := api.Ping(ctx); err != nil {
		testenv.SkipOrFail(t, "docker engine not reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, baseImage); err != nil {
		testenv.SkipOrFail(t, "base image %s is not here (run hack/base-image.sh): %v", baseImage, err)
	}
	return api
}

// aptProxy is the apt-cacher-ng hack/setup-recipes.sh runs, as the build
// containers reach it, or "" when there is none (apt then downloads from
// the mirror).
func aptProxy(t *testing.T) string {
	if p, ok := os.LookupEnv("BAKE_TEST_APT_PROXY"); ok {
		return p
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:3142", time.Second)
	if err != nil {
		t.Logf("no apt-cacher-ng on 127.0.0.1:3142 (hack/setup-recipes.sh starts one): apt downloads from the mirror")
		return ""
	}
	conn.Close()
	api := dockerAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nw, err := api.NetworkInspect(ctx, "bridge", networkInspectOptions())
	if err != nil || len(nw.IPAM.Config) == 0 {
		t.Logf("cannot find the docker bridge's gateway (%v): apt downloads from the mirror", err)
		return ""
	}
	gw := nw.IPAM.Config[0].Gateway
	if gw == "" {
		// Engines that leave Gateway out give the bridge the subnet's
		// first address.
		pfx, err := netip.ParsePrefix(nw.IPAM.Config[0].Subnet)
		if err != nil {
			t.Logf("cannot find the docker bridge's gateway (subnet %q): apt downloads from the mirror", nw.IPAM.Config[0].Subnet)
			return ""
		}
		gw = pfx.Masked().Addr().Next().String()
	}
	return "http://" + gw + ":3142"
}

// testLog keeps the last lines of a bake's events.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) Report(e bake.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := e.Message
	if e.Error != "" {
		msg += " error: " + e.Error
	}
	l.lines = append(l.lines, e.Type+": "+msg)
	if len(l.lines) > 150 {
		l.lines = l.lines[len(l.lines)-150:]
	}
}

func (l *testLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
