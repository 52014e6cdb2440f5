# Benchmark for the step cache: ten steps, the first nine including an
# apt install of nginx; var.last changes step 10 only.
variable "last" {
  type = string
}

variable "series" {
  type    = string
  default = "warm"
}

source "docker" "steps" {
  image      = "localbase/debian:bookworm"
  repository = "bench/cache-${var.series}"
  pull       = false
}

build {
  sources = ["source.docker.steps"]
  provisioner "shell" {
    inline = ["echo 1 > /step1"]
  }
  provisioner "shell" {
    inline = [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends nginx-light >/dev/null",
    ]
  }
  provisioner "shell" {
    inline = ["echo 3 > /step3"]
  }
  provisioner "shell" {
    inline = ["echo 4 > /step4"]
  }
  provisioner "shell" {
    inline = ["echo 5 > /step5"]
  }
  provisioner "shell" {
    inline = ["echo 6 > /step6"]
  }
  provisioner "shell" {
    inline = ["echo 7 > /step7"]
  }
  provisioner "shell" {
    inline = ["echo 8 > /step8"]
  }
  provisioner "shell" {
    cache  = true
    inline = ["echo 9 > /step9"]
  }
  provisioner "shell" {
    inline = ["echo ${var.last} > /step10"]
  }
}
