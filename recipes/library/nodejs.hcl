recipe "nodejs" {
  doc = <<-EOT
    The Node.js runtime from Debian plus an app copied from a local
    directory, run as a service by its own system user, with PORT set.

    Example:
      provisioner "recipe" {
        name   = "nodejs"
        params = { app_source = "./app", main = "server.js", port = 3000 }
      }
  EOT

  param "app_source" {
    description = "the app's local directory, relative to the bake file"
  }
  param "app_dir" {
    default     = "/srv/app"
    description = "where the app goes on the machine"
  }
  param "main" {
    default     = "server.js"
    description = "the script node runs, relative to app_dir"
  }
  param "user" {
    default     = "node"
    description = "the system user the app runs as"
  }
  param "port" {
    type        = number
    default     = 3000
    description = "PORT in the app's environment"
  }

  package "nodejs" {}
  group "app" {
    name   = param.user
    system = true
  }
  user "app" {
    name   = param.user
    group  = param.user
    system = true
    home   = param.app_dir
    shell  = "/usr/sbin/nologin"
  }
  directory "app" {
    path   = param.app_dir
    source = param.app_source
    mode   = "0755"
    owner  = param.user
    group  = param.user
  }
  service "node-app" {
    user = param.user
    dir  = param.app_dir
    env  = { PORT = tostring(param.port), NODE_ENV = "production" }
    run  = "exec node ${param.main}"
  }
}
