recipe "mariadb" {
  doc = <<-EOT
    MariaDB (MySQL) server from Debian, run in the foreground as user
    mysql. root logs in over the unix socket (unix_socket auth), so no
    password is baked into the image.

    Example:
      provisioner "recipe" {
        name   = "mariadb"
        params = { bind_address = "0.0.0.0", innodb_buffer_pool_size = "512M" }
      }
  EOT

  param "bind_address" {
    description = "the address the server listens on"
    default     = "127.0.0.1"
  }
  param "port" {
    description = "the port the server listens on"
    type        = number
    default     = 3306
  }
  param "innodb_buffer_pool_size" {
    description = "InnoDB's buffer pool, e.g. 512M"
    default     = "128M"
  }

  package "mariadb-server" {}
  file "/etc/mysql/mariadb.conf.d/60-bake.cnf" {
    template = <<-EOT
      # Written by bake recipe mariadb.
      [mysqld]
      bind-address = {{ .bind_address }}
      port = {{ .port }}
      innodb_buffer_pool_size = {{ .innodb_buffer_pool_size }}
    EOT
    notify   = ["mariadb"]
  }
  service "mariadb" {
    run = <<-EOT
      mkdir -p /run/mysqld
      chown mysql:mysql /run/mysqld
      exec mariadbd --user=mysql
    EOT
  }
}
