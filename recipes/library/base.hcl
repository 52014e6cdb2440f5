recipe "base" {
  doc = <<-EOT
    The base every server gets: timezone, locale, admin users with sudo and
    their SSH keys, and a hardened sshd (no passwords, no root login).

    Example:
      provisioner "recipe" {
        name   = "base"
        params = {
          timezone   = "Europe/Berlin"
          admins     = ["alice"]
          admin_keys = { alice = "ssh-ed25519 AAAA... alice@laptop" }
        }
      }
  EOT

  param "timezone" {
    default     = "UTC"
    description = "a zone under /usr/share/zoneinfo"
    validation {
      condition     = length(regexall("^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$", param.timezone)) > 0
      error_message = "timezone must look like Region/City, e.g. Europe/Berlin"
    }
  }
  param "locale" {
    default     = "C.UTF-8"
    description = "LANG, e.g. en_US.UTF-8 (generated when it is not C.UTF-8)"
  }
  param "admins" {
    type        = list(string)
    default     = []
    description = "users made with a bash shell, in group sudo, with passwordless sudo"
  }
  param "admin_keys" {
    type        = map(string)
    default     = {}
    description = "authorized_keys content by admin user name"
  }
  param "ssh_password_auth" {
    type        = bool
    default     = false
    description = "allow SSH password logins"
  }
  param "ssh_root_login" {
    default     = "no"
    description = "sshd's PermitRootLogin"
    validation {
      condition     = contains(["no", "prohibit-password", "yes"], param.ssh_root_login)
      error_message = "ssh_root_login must be no, prohibit-password or yes"
    }
  }

  package "tzdata" {}
  package "sudo" {
    when = length(param.admins) > 0
  }
  package "locales" {
    when = param.locale != "C.UTF-8"
  }

  symlink "/etc/localtime" {
    target = "/usr/share/zoneinfo/${param.timezone}"
  }
  file "/etc/timezone" {
    content = "${param.timezone}\n"
  }

  line_in_file "locale.gen" {
    when  = param.locale != "C.UTF-8"
    path  = "/etc/locale.gen"
    match = "^#? *${param.locale} "
    line  = "${param.locale} ${length(split(".", param.locale)) > 1 ? split(".", param.locale)[1] : "ISO-8859-1"}"
  }
  command "locale-gen" {
    when   = param.locale != "C.UTF-8"
    run    = "locale-gen"
    unless = "locale -a | grep -qix '${replace(param.locale, "UTF-8", "utf8")}'"
  }
  file "/etc/default/locale" {
    content = "LANG=${param.locale}\n"
  }

  user "admins" {
    for_each = param.admins
    name     = each.value
    shell    = "/bin/bash"
    groups   = ["sudo"]
  }
  file "/etc/sudoers.d/bake-admins" {
    when    = length(param.admins) > 0
    content = "# Written by bake recipe base: admins sudo without a password.\n%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n"
    mode    = "0440"
  }
  directory "ssh-dir" {
    for_each = param.admin_keys
    path     = "/home/${each.key}/.ssh"
    mode     = "0700"
    owner    = each.key
    group    = each.key
  }
  file "authorized-keys" {
    for_each = param.admin_keys
    path     = "/home/${each.key}/.ssh/authorized_keys"
    content  = "${trimspace(each.value)}\n"
    mode     = "0600"
    owner    = each.key
    group    = each.key
  }

  file "/etc/ssh/sshd_config.d/50-bake-hardening.conf" {
    template = <<-EOT
      # Written by bake recipe base.
      PermitRootLogin {{ .ssh_root_login }}
      PasswordAuthentication {{ if .ssh_password_auth }}yes{{ else }}no{{ end }}
      KbdInteractiveAuthentication no
      PermitEmptyPasswords no
      X11Forwarding no
      MaxAuthTries 3
      LoginGraceTime 30
    EOT
    mode     = "0644"
  }
}
