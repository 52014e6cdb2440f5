// Command app is the service roll's tests deploy: it answers every
// request with its version (from /etc/roll-app/version), /health with 200
// unless /etc/roll-app/healthy says "no", and after POST /_break answers
// everything with 500, as an app that fails after a cutover. Every answer,
// /health's included, waits /etc/roll-app/delay (a duration) first, as a
// slow release would: it passes its health checks and fails a latency
// analysis.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	version := read("/etc/roll-app/version", "unknown")
	healthy := read("/etc/roll-app/healthy", "yes") != "no"
	delay, err := time.ParseDuration(read("/etc/roll-app/delay", "0s"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "/etc/roll-app/delay:", err)
		os.Exit(1)
	}
	var broken atomic.Bool
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.Header().Set("X-Version", version)
		switch {
		case r.URL.Path == "/_break" && r.Method == http.MethodPost:
			broken.Store(true)
			fmt.Fprintln(w, "broken")
		case broken.Load():
			http.Error(w, "broken "+version, http.StatusInternalServerError)
		case r.URL.Path == "/health" && !healthy:
			http.Error(w, "never healthy "+version, http.StatusInternalServerError)
		default:
			fmt.Fprintln(w, version)
		}
	})
	if err := http.ListenAndServe(":80", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func read(path, def string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(b))
}
