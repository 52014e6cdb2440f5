# Benchmark case (a): ten inline echo steps.
source "docker" "a" {
  image  = "localbase/debian:bookworm"
  commit = true
  pull   = false
}

build {
  sources = ["source.docker.a"]
  provisioner "shell" {
    inline = ["echo step 1"]
  }
  provisioner "shell" {
    inline = ["echo step 2"]
  }
  provisioner "shell" {
    inline = ["echo step 3"]
  }
  provisioner "shell" {
    inline = ["echo step 4"]
  }
  provisioner "shell" {
    inline = ["echo step 5"]
  }
  provisioner "shell" {
    inline = ["echo step 6"]
  }
  provisioner "shell" {
    inline = ["echo step 7"]
  }
  provisioner "shell" {
    inline = ["echo step 8"]
  }
  provisioner "shell" {
    inline = ["echo step 9"]
  }
  provisioner "shell" {
    inline = ["echo step 10"]
  }
  post-processor "docker-tag" {
    repository = "bench/a"
    tags       = ["latest"]
  }
}
