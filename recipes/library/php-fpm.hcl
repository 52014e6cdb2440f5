recipe "php-fpm" {
  doc = <<-EOT
    PHP-FPM behind nginx: includes the nginx recipe (without its static
    site), serves root with .php files run by PHP-FPM over a unix socket.

    Example:
      provisioner "recipe" {
        name   = "php-fpm"
        params = { port = 80, php_version = "8.2" }
      }
  EOT

  param "port" {
    description = "the port nginx listens on"
    type        = number
    default     = 80
  }
  param "php_version" {
    default     = "8.2"
    description = "the distribution's PHP version (8.2 on Debian bookworm)"
  }
  param "root" {
    description = "the directory of the PHP site"
    default     = "/var/www/php"
  }
  param "index_php" {
    default     = "<?php\necho \"php-fpm \" . PHP_VERSION . \"\\n\";\n"
    description = "the site's index.php; empty leaves it alone"
  }

  include "nginx" {
    params = { port = param.port, default_site = false, index_html = "" }
  }
  package "php-fpm" {
    name = "php${param.php_version}-fpm"
  }
  line_in_file "fpm-listen" {
    path   = "/etc/php/${param.php_version}/fpm/pool.d/www.conf"
    match  = "^listen = "
    line   = "listen = /run/php/php-fpm.sock"
    notify = ["php-fpm"]
  }
  directory "root" {
    path = param.root
    mode = "0755"
  }
  file "index.php" {
    when    = param.index_php != ""
    path    = "${param.root}/index.php"
    content = param.index_php
    mode    = "0644"
  }
  file "/etc/nginx/sites-enabled/php" {
    template = <<-EOT
      # Written by bake recipe php-fpm.
      server {
          listen {{ .port }} default_server;
          listen [::]:{{ .port }} default_server;
          root {{ .root }};
          index index.php index.html;
          location / {
              try_files $uri $uri/ =404;
          }
          location ~ \.php$ {
              include snippets/fastcgi-php.conf;
              fastcgi_pass unix:/run/php/php-fpm.sock;
          }
      }
    EOT
    notify   = ["nginx"]
  }
  service "php-fpm" {
    unit = "php${param.php_version}-fpm" # the package's systemd unit, where systemd runs
    run  = "mkdir -p /run/php\nexec php-fpm${param.php_version} -F"
  }
}
