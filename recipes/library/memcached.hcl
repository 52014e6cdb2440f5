recipe "memcached" {
  doc = <<-EOT
    memcached, configured in /etc/memcached.conf and run as a service
    (user memcache). It listens on 127.0.0.1 unless told otherwise.

    Example:
      provisioner "recipe" {
        name   = "memcached"
        params = { memory_mb = 256, listen = "0.0.0.0" }
      }
  EOT

  param "port" {
    description = "the port memcached listens on"
    type        = number
    default     = 11211
  }
  param "listen" {
    default     = "127.0.0.1"
    description = "the address memcached listens on"
  }
  param "memory_mb" {
    type        = number
    default     = 64
    description = "the cache size in megabytes"
    validation {
      condition     = param.memory_mb >= 8
      error_message = "memory_mb must be at least 8"
    }
  }
  param "max_connections" {
    description = "the most clients at once"
    type        = number
    default     = 1024
  }

  package "memcached" {}
  file "/etc/memcached.conf" {
    template = <<-EOT
      # Written by bake recipe memcached: one memcached option a line.
      -m {{ .memory_mb }}
      -p {{ .port }}
      -l {{ .listen }}
      -c {{ .max_connections }}
      -u memcache
    EOT
    notify   = ["memcached"]
  }
  service "memcached" {
    run = "exec memcached $(grep -v '^#' /etc/memcached.conf)"
  }
}
