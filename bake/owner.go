package bake

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Owner keys: every container, instance, key pair, security group,
// volume, snapshot and unfinished image a run makes carries them next to
// LabelRun, so that `bake gc` can prove the run that made it is dead (same
// host and its process gone, or past its deadline) and remove it. A
// finished AMI loses them (it is the product, not a leftover).
const (
	LabelOwnerHost = "dev.bake.owner.host"
	LabelOwnerPID  = "dev.bake.owner.pid"
	// LabelOwnerPIDStart is the process's start time in clock ticks since
	// boot (/proc/PID/stat field 22): a reused pid has another one.
	LabelOwnerPIDStart = "dev.bake.owner.pid-start"
	LabelOwnerStart    = "dev.bake.owner.start"
	LabelOwnerDeadline = "dev.bake.owner.deadline"
)

// OwnerKeys are the owner keys, for filters and for dropping them.
var OwnerKeys = []string{LabelOwnerHost, LabelOwnerPID, LabelOwnerPIDStart, LabelOwnerStart, LabelOwnerDeadline}

// BlankOwner sets the owner keys in labels to "": a commit of a build
// container would hand them on to the image, and every container later
// made from that image would carry a dead run's owner (bake gc would take
// a user's container for a leftover). The engine cannot drop a label at
// commit, so they are blanked; ParseOwner refuses blank ones.
func BlankOwner(labels map[string]string) {
	for _, k := range OwnerKeys {
		labels[k] = ""
	}
}

// DefaultRunDeadline is how long a run without --timeout is taken to
// live at most.
const DefaultRunDeadline = 6 * time.Hour

// Owner is the run and process that made a resource.
type Owner struct {
	Run      string
	Host     string
	PID      int
	PIDStart string // "" where /proc is absent
	Start    time.Time
	Deadline time.Time
}

var (
	ownersMu sync.Mutex
	owners   = map[string]Owner{}
)

// StartRun records run as this process's, with a deadline timeout from
// now (DefaultRunDeadline when timeout is 0), and returns its owner.
// Builders label what they make with OwnerLabels(run).
func StartRun(run string, timeout time.Duration) Owner {
	o := ownerOf(run, timeout)
	ownersMu.Lock()
	owners[run] = o
	ownersMu.Unlock()
	return o
}

func ownerOf(run string, timeout time.Duration) Owner {
	if timeout <= 0 {
		timeout = DefaultRunDeadline
	}
	host, _ := os.Hostname()
	start := time.Now().UTC().Truncate(time.Second)
	return Owner{
		Run: run, Host: host, PID: os.Getpid(), PIDStart: ProcStart(os.Getpid()),
		Start: start, Deadline: start.Add(timeout),
	}
}

// OwnerLabels are run's owner labels (LabelRun among them) merged with
// extra. A run not started with StartRun (a builder used on its own) gets
// this process and the default deadline.
func OwnerLabels(run string, extra ...map[string]string) map[string]string {
	ownersMu.Lock()
	o, ok := owners[run]
	ownersMu.Unlock()
	if !ok {
		o = StartRun(run, 0)
	}
	l := o.Labels()
	for _, m := range extra {
		for k, v := range m {
			l[k] = v
		}
	}
	return l
}

// Labels are o as labels or tags.
func (o Owner) Labels() map[string]string {
	l := map[string]string{
		LabelRun:           o.Run,
		LabelOwnerHost:     o.Host,
		LabelOwnerPID:      strconv.Itoa(o.PID),
		LabelOwnerStart:    o.Start.UTC().Format(time.RFC3339),
		LabelOwnerDeadline: o.Deadline.UTC().Format(time.RFC3339),
	}
	if o.PIDStart != "" {
		l[LabelOwnerPIDStart] = o.PIDStart
	}
	return l
}

// ParseOwner reads an owner from labels or tags; ok is false when they
// are not a complete set of bake's owner keys (a resource bake does not
// own, or one made before owners were recorded).
func ParseOwner(l map[string]string) (Owner, bool) {
	o := Owner{Run: l[LabelRun], Host: l[LabelOwnerHost], PIDStart: l[LabelOwnerPIDStart]}
	pid, err := strconv.Atoi(l[LabelOwnerPID])
	if err != nil || o.Run == "" || o.Host == "" {
		return Owner{}, false
	}
	o.PID = pid
	if o.Start, err = time.Parse(time.RFC3339, l[LabelOwnerStart]); err != nil {
		return Owner{}, false
	}
	if o.Deadline, err = time.Parse(time.RFC3339, l[LabelOwnerDeadline]); err != nil {
		return Owner{}, false
	}
	return o, true
}

// Liveness answers whether a process of this host runs: alive reports
// whether pid is running with the start time pidStart ("" matches any).
type Liveness struct {
	Host  string
	Now   time.Time
	Alive func(pid int, pidStart string) bool
	// Margin is added to a deadline before a run on another host is
	// taken for dead (its cleanup may still be running).
	Margin time.Duration
}

// DefaultDeadlineMargin is Liveness.Margin's default: a stopped run's
// cleanup takes a few minutes at most.
const DefaultDeadlineMargin = 30 * time.Minute

// LocalLiveness is this host's Liveness, by /proc or signal 0.
func LocalLiveness() Liveness {
	host, _ := os.Hostname()
	return Liveness{Host: host, Now: time.Now(), Alive: ProcessAlive, Margin: DefaultDeadlineMargin}
}

// Dead reports whether o's run is provably dead, and why.
func (lv Liveness) Dead(o Owner) (bool, string) {
	if o.Host == lv.Host {
		if lv.Alive(o.PID, o.PIDStart) {
			return false, fmt.Sprintf("run %s is alive (pid %d on %s)", short(o.Run), o.PID, o.Host)
		}
		return true, fmt.Sprintf("run %s is dead: pid %d on this host (%s) is gone", short(o.Run), o.PID, o.Host)
	}
	if past := lv.Now.Sub(o.Deadline); past > lv.Margin {
		return true, fmt.Sprintf("run %s of %s is dead: %s past its deadline %s", short(o.Run), o.Host, past.Round(time.Minute), o.Deadline.Format(time.RFC3339))
	}
	return false, fmt.Sprintf("run %s runs on another host (%s) and is within its deadline %s", short(o.Run), o.Host, o.Deadline.Format(time.RFC3339))
}

func short(run string) string {
	if len(run) > 8 {
		return run[:8]
	}
	return run
}

// ProcStart is pid's start time in clock ticks since boot, "" when it
// cannot be read (no /proc, or no such process).
func ProcStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// ProcessAlive reports whether pid runs and, when pidStart is set and
// /proc can tell, started at pidStart (so a reused pid is not taken for
// the owner). A zombie counts as gone.
func ProcessAlive(pid int, pidStart string) bool {
	if pid <= 0 {
		return false
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
				return false
			}
		}
		return pidStart == "" || ProcStart(pid) == pidStart
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		return false // /proc works and the pid is not in it
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
