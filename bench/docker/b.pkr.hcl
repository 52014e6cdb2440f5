# Benchmark case (b): upload a 100 MiB file.
variable "payload" {
  type = string
}

source "docker" "b" {
  image  = "localbase/debian:bookworm"
  commit = true
  pull   = false
}

build {
  sources = ["source.docker.b"]
  provisioner "file" {
    source      = var.payload
    destination = "/opt/payload.bin"
  }
  post-processor "docker-tag" {
    repository = "bench/b"
    tags       = ["latest"]
  }
}
