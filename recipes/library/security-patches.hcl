recipe "security-patches" {
  doc = <<-EOT
    Applies every pending package update, with Debian's security and
    updates suites added to apt's sources, and reports how many packages
    changed (fact packages_upgraded, in the bake's events and metadata).

    Example:
      provisioner "recipe" { name = "security-patches" }
  EOT

  param "add_security_sources" {
    type        = bool
    default     = true
    description = "on Debian, add the -security and -updates suites to apt's sources"
  }

  command "debian-security-sources" {
    when    = param.add_security_sources
    creates = "/etc/apt/sources.list.d/bake-security.list"
    run     = <<-EOT
      . /etc/os-release
      if [ "$${ID:-}" = debian ] && [ -n "$${VERSION_CODENAME:-}" ]; then
        printf 'deb http://deb.debian.org/debian-security %s-security main\ndeb http://deb.debian.org/debian %s-updates main\n' \
          "$VERSION_CODENAME" "$VERSION_CODENAME" >/etc/apt/sources.list.d/bake-security.list
      else
        echo "# not Debian: nothing added by bake recipe security-patches" >/etc/apt/sources.list.d/bake-security.list
      fi
    EOT
  }
  package_upgrade "all" {}
}
