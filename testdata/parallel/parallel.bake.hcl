# Two sources that meet in a shared directory: each waits (bounded) until
# the other has started, so the bake only succeeds when they run at once.

variable "meet" {
  type = string
}

source "docker" "left" {
  image      = "localbase/debian:bookworm"
  repository = "bake-e2e/parallel-left"
  volumes    = { (var.meet) = "/meet" }
}

source "docker" "right" {
  image      = "localbase/debian:bookworm"
  repository = "bake-e2e/parallel-right"
  volumes    = { (var.meet) = "/meet" }
}

build {
  name    = "parallel"
  sources = ["source.docker.left", "source.docker.right"]

  provisioner "shell" {
    inline = [
      "touch /meet/${source.name}",
      "for i in $(seq 1 100); do [ -e /meet/left ] && [ -e /meet/right ] && exit 0; sleep 0.1; done",
      "echo 'the other source never started: sources did not run concurrently' >&2",
      "exit 1",
    ]
  }
}
