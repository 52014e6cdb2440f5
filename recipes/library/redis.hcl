recipe "redis" {
  doc = <<-EOT
    Redis from Debian's redis-server, in the foreground as user redis,
    logging to stdout. It binds 127.0.0.1 with protected mode on unless
    told otherwise.

    Example:
      provisioner "recipe" {
        name   = "redis"
        params = { bind = "0.0.0.0", maxmemory = "256mb" }
      }
  EOT

  param "port" {
    description = "the port redis listens on"
    type        = number
    default     = 6379
  }
  param "bind" {
    default     = "127.0.0.1 -::1"
    description = "the addresses redis listens on"
  }
  param "protected_mode" {
    type        = bool
    default     = true
    description = "refuse clients from other hosts while no password is set"
  }
  param "maxmemory" {
    default     = "0"
    description = "redis maxmemory, e.g. 256mb; 0 is no limit"
  }

  package "redis-server" {}
  line_in_file "bind" {
    path   = "/etc/redis/redis.conf"
    match  = "^bind "
    line   = "bind ${param.bind}"
    notify = ["redis"]
  }
  line_in_file "port" {
    path   = "/etc/redis/redis.conf"
    match  = "^port "
    line   = "port ${param.port}"
    notify = ["redis"]
  }
  line_in_file "protected-mode" {
    path   = "/etc/redis/redis.conf"
    match  = "^protected-mode "
    line   = "protected-mode ${param.protected_mode ? "yes" : "no"}"
    notify = ["redis"]
  }
  line_in_file "maxmemory" {
    path   = "/etc/redis/redis.conf"
    match  = "^#? *maxmemory "
    line   = "maxmemory ${param.maxmemory}"
    notify = ["redis"]
  }
  line_in_file "daemonize" {
    path  = "/etc/redis/redis.conf"
    match = "^daemonize "
    line  = "daemonize no"
  }
  line_in_file "logfile" {
    path  = "/etc/redis/redis.conf"
    match = "^logfile "
    line  = "logfile \"\""
  }
  service "redis" {
    unit = "redis-server" # the package's systemd unit, where systemd runs
    user = "redis"
    run  = "exec redis-server /etc/redis/redis.conf"
  }
}
