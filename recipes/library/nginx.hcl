recipe "nginx" {
  doc = <<-EOT
    nginx as a web server: installs nginx-light, serves a static site from
    a directory, and runs nginx in the foreground as a service.

    Example:
      provisioner "recipe" {
        name   = "nginx"
        params = { port = 8080, index_html = "<h1>hello</h1>" }
      }
  EOT

  param "port" {
    type        = number
    default     = 80
    description = "the port the default site listens on"
    validation {
      condition     = param.port >= 1 && param.port <= 65535
      error_message = "port must be between 1 and 65535"
    }
  }
  param "server_name" {
    default     = "_"
    description = "the default site's server_name"
  }
  param "root" {
    default     = "/var/www/html"
    description = "the directory the default site serves"
  }
  param "index_html" {
    default     = "<!doctype html>\n<title>nginx</title>\n<p>nginx, baked by bake.</p>\n"
    description = "the content of the site's index.html; empty leaves index.html alone"
  }
  param "default_site" {
    type        = bool
    default     = true
    description = "serve the static default site (recipes that bring their own site set it to false)"
  }

  package "nginx-light" {}

  file "/etc/nginx/sites-available/default" {
    when     = param.default_site
    template = <<-EOT
      # Written by bake recipe nginx.
      server {
          listen {{ .port }} default_server;
          listen [::]:{{ .port }} default_server;
          server_name {{ .server_name }};
          root {{ .root }};
          index index.html index.htm;
          location / {
              try_files $uri $uri/ =404;
          }
      }
    EOT
    notify   = ["nginx"]
  }
  symlink "/etc/nginx/sites-enabled/default" {
    when   = param.default_site
    target = "/etc/nginx/sites-available/default"
    notify = ["nginx"]
  }
  file "/etc/nginx/sites-enabled/default" {
    when  = !param.default_site
    state = "absent"
  }
  directory "site-root" {
    path = param.root
    mode = "0755"
  }
  file "index" {
    when    = param.index_html != ""
    path    = "${param.root}/index.html"
    content = param.index_html
    mode    = "0644"
  }

  service "nginx" {
    run = "exec nginx -g 'daemon off;'"
  }
}
