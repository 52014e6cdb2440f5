recipe "java" {
  doc = <<-EOT
    A headless Java runtime from Debian (default-jre-headless, OpenJDK),
    with JAVA_HOME set for login shells.

    Example:
      provisioner "recipe" {
        name   = "java"
        params = { package = "openjdk-17-jre-headless" }
      }
  EOT

  param "package" {
    default     = "default-jre-headless"
    description = "the Java runtime package"
  }

  package "java" {
    name = param.package
  }
  file "/etc/profile.d/bake-java.sh" {
    content = "# Written by bake recipe java.\nexport JAVA_HOME=\"$(dirname \"$(dirname \"$(readlink -f \"$(command -v java)\")\")\")\"\n"
  }
}
