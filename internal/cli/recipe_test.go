package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bakehq/bake/internal/console"
)

func TestRecipeCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"list", []string{"recipe", "list"}, console.ExitOK, []string{"base ", "haproxy ", "java ", "mariadb ", "memcached ", "nginx ", "nodejs ", "php-fpm ", "redis ", "security-patches ", "tomcat "}, nil},
		{"show", []string{"recipe", "show", "tomcat"}, console.ExitOK, []string{"recipe tomcat", "Example:", "Params:", "port", "number, default 8080", `include "java"`}, nil},
		{"render", []string{"recipe", "render", "nginx", "-p", "port=8080"}, console.ExitOK, []string{"#!/bin/sh", "listen 8080 default_server;", "_bake_done nginx"}, nil},
		{"render a list param", []string{"recipe", "render", "haproxy", "-p", "backends=10.0.0.1:80,10.0.0.2:80"}, console.ExitOK, []string{"server app0 10.0.0.1:80 check", "server app1 10.0.0.2:80 check"}, nil},
		{"unknown recipe", []string{"recipe", "render", "ngnix"}, console.ExitBadInput, nil, []string{`unknown recipe "ngnix"`, `Did you mean "nginx"`}},
		{"unknown param", []string{"recipe", "render", "nginx", "-p", "prot=1"}, console.ExitBadInput, nil, []string{`unknown param "prot"`, "-p prot=1"}},
		{"mistyped param", []string{"recipe", "render", "nginx", "-p", "port=http"}, console.ExitBadInput, nil, []string{`wrong type for param "port"`, "recipes/library/nginx.hcl:"}},
		{"bad flag", []string{"recipe", "render", "nginx", "-p", "port"}, console.ExitBadInput, nil, []string{"NAME=VALUE"}},
		{"no name", []string{"recipe", "show"}, console.ExitBadInput, nil, []string{"usage: bake recipe show NAME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(context.Background(), Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, append(tt.args, "--dir", t.TempDir()))
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			for _, w := range tt.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.err {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}
