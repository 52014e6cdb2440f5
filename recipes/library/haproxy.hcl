recipe "haproxy" {
  doc = <<-EOT
    HAProxy as a load balancer: one frontend on port, forwarding to the
    backends (host:port) with health checks, logging to stdout.

    Example:
      provisioner "recipe" {
        name   = "haproxy"
        params = { port = 80, backends = ["10.0.1.10:8080", "10.0.1.11:8080"] }
      }
  EOT

  param "port" {
    description = "the port the frontend listens on"
    type        = number
    default     = 80
  }
  param "backends" {
    type        = list(string)
    description = "the servers to forward to, host:port"
    validation {
      condition     = length(param.backends) > 0
      error_message = "backends needs at least one host:port"
    }
  }
  param "mode" {
    description = "http or tcp"
    default     = "http"
    validation {
      condition     = contains(["http", "tcp"], param.mode)
      error_message = "mode must be http or tcp"
    }
  }
  param "balance" {
    description = "the balance algorithm: roundrobin, leastconn, source..."
    default     = "roundrobin"
  }

  package "haproxy" {}
  file "/etc/haproxy/haproxy.cfg" {
    template = <<-EOT
      # Written by bake recipe haproxy.
      global
          log stdout format raw local0
          user haproxy
          group haproxy
          maxconn 4096

      defaults
          log global
          mode {{ .mode }}
          option {{ if eq .mode "http" }}httplog{{ else }}tcplog{{ end }}
          timeout connect 5s
          timeout client 30s
          timeout server 30s

      frontend main
          bind *:{{ .port }}
          default_backend app

      backend app
          balance {{ .balance }}
      {{- range $i, $b := .backends }}
          server app{{ $i }} {{ $b }} check inter 1s
      {{- end }}
    EOT
    notify   = ["haproxy"]
  }
  service "haproxy" {
    run = "exec haproxy -W -db -f /etc/haproxy/haproxy.cfg"
  }
}
