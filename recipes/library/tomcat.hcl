recipe "tomcat" {
  doc = <<-EOT
    Apache Tomcat 10 from Debian on the java recipe, run in the foreground
    as user tomcat, serving the ROOT webapp on the HTTP port.

    Example:
      provisioner "recipe" {
        name   = "tomcat"
        params = { port = 8080, java_package = "openjdk-17-jre-headless" }
      }
  EOT

  param "port" {
    description = "the HTTP connector's port"
    type        = number
    default     = 8080
  }
  param "java_package" {
    description = "the Java runtime package, for the java recipe"
    default     = "default-jre-headless"
  }
  param "index_html" {
    default     = "<!doctype html>\n<title>tomcat</title>\n<p>tomcat, baked by bake.</p>\n"
    description = "the ROOT webapp's index.html; empty leaves it alone"
  }
  param "java_opts" {
    description = "JAVA_OPTS for the JVM"
    default     = "-Djava.awt.headless=true -XX:+UseContainerSupport"
  }

  include "java" {
    params = { package = param.java_package }
  }
  package "tomcat10" {}
  line_in_file "http-port" {
    path   = "/etc/tomcat10/server.xml"
    match  = "^ *<Connector port=\"[0-9]+\" protocol=\"HTTP/1.1\"$"
    line   = "    <Connector port=\"${param.port}\" protocol=\"HTTP/1.1\""
    notify = ["tomcat"]
  }
  file "index" {
    when    = param.index_html != ""
    path    = "/var/lib/tomcat10/webapps/ROOT/index.html"
    content = param.index_html
    mode    = "0644"
  }
  service "tomcat" {
    unit = "tomcat10" # the package's systemd unit, where systemd runs
    user = "tomcat"
    env = {
      CATALINA_HOME   = "/usr/share/tomcat10"
      CATALINA_BASE   = "/var/lib/tomcat10"
      CATALINA_TMPDIR = "/tmp"
      JAVA_OPTS       = param.java_opts
    }
    run = "exec /usr/share/tomcat10/bin/catalina.sh run"
  }
}
