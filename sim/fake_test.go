package sim_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bakehq/bake/sim/ec2"
)

// fakeRuntime is an in-memory ec2.Runtime: machines that boot at once, for
// tests of the API surface and for the control-plane benchmark.
type fakeRuntime struct {
	mu       sync.Mutex
	n        int
	machines map[string]bool // id -> running
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{machines: map[string]bool{}} }

func (f *fakeRuntime) Boot(_ context.Context, spec ec2.BootSpec) (ec2.Machine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("fake-%d", f.n)
	f.machines[id] = true
	return ec2.Machine{ID: id, PrivateIP: fmt.Sprintf("172.17.%d.%d", f.n/250, f.n%250+2)}, nil
}

func (f *fakeRuntime) Start(_ context.Context, id string) (ec2.Machine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.machines[id] = true
	return ec2.Machine{ID: id, PrivateIP: "172.17.0.2"}, nil
}

func (f *fakeRuntime) Stop(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.machines[id] = false
	return nil
}

func (f *fakeRuntime) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.machines, id)
	return nil
}

func (f *fakeRuntime) Console(context.Context, string) (string, error) { return "fake console\n", nil }
func (f *fakeRuntime) Commit(context.Context, string, string, map[string]string) error {
	return nil
}
func (f *fakeRuntime) Exec(context.Context, string, []string) (string, int, error) { return "", 0, nil }
func (f *fakeRuntime) Image(_ context.Context, ref string) (ec2.ImageInfo, error) {
	return ec2.ImageInfo{ID: "sha256:" + ref, Created: time.Date(2024, 7, 17, 18, 11, 0, 0, time.UTC), Init: true, LoginUser: "admin"}, nil
}
func (f *fakeRuntime) Tag(context.Context, string, string) error { return nil }
func (f *fakeRuntime) Untag(context.Context, string) error       { return nil }

func (f *fakeRuntime) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.machines)
}
