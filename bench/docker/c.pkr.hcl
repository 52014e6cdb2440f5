# Benchmark case (c): apt-get install nginx-light plus a config file.
source "docker" "c" {
  image  = "localbase/debian:bookworm"
  commit = true
  pull   = false
}

build {
  sources = ["source.docker.c"]
  provisioner "shell" {
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends nginx-light >/dev/null",
    ]
  }
  provisioner "file" {
    source      = "files/bench.conf"
    destination = "/etc/nginx/conf.d/bench.conf"
  }
  post-processor "docker-tag" {
    repository = "bench/c"
    tags       = ["latest"]
  }
}
